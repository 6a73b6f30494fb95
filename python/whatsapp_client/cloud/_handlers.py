"""Decorator-registered webhook handlers (skeleton)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Callable, Optional, TypeVar, Union

from ._events import Event

__all__ = ["WebhookHandlers"]

F = TypeVar("F", bound=Callable[..., Any])
TextFilter = Union[str, "re.Pattern[str]", Callable[[str], bool]]


class WebhookHandlers:
    """Handlers for inbound messages, statuses and errors."""

    def on_message(
        self,
        fn: Optional[F] = None,
        *,
        type: Union[str, Iterable[str], None] = None,
        from_: Union[str, Iterable[str], None] = None,
        text: Optional[TextFilter] = None,
    ) -> Any:
        raise NotImplementedError

    def on_status(
        self,
        fn: Optional[F] = None,
        *,
        status: Union[str, Iterable[str], None] = None,
        recipient: Union[str, Iterable[str], None] = None,
    ) -> Any:
        raise NotImplementedError

    def on_error(self, fn: Optional[F] = None) -> Any:
        raise NotImplementedError

    async def dispatch(self, events: Sequence[Event]) -> None:
        raise NotImplementedError
