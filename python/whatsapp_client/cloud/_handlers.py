"""Webhook handlers registered with decorators, and their dispatch.

``@handlers.on_message`` (bare) or ``@handlers.on_message(type=..., from_=..., text=...)``
registers a handler; ``dispatch(events)`` calls every matching handler for each event, in
the order the events arrived and the handlers were registered. Async handlers are awaited
on the loop; sync handlers run in a worker thread (consecutive sync calls share one thread
hop, so a batch costs one hop, not one per event). A handler that raises is logged under
``whatsapp.cloud.webhooks`` with the event's kind and id (never its content) and the other
handlers still run.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any, Callable, Optional, TypeVar, Union, overload

from ._errors import ConfigurationError
from ._events import ErrorEvent, Event, MessageEvent, StatusEvent

__all__ = ["TextFilter", "WebhookHandlers"]

log = logging.getLogger("whatsapp.cloud.webhooks")

F = TypeVar("F", bound=Callable[..., Any])
TextFilter = Union[str, "re.Pattern[str]", Callable[[str], bool]]
Names = Union[str, Iterable[str], None]


def _names(value: Names, what: str, strip_plus: bool = False) -> Optional[frozenset[str]]:
    if value is None:
        return None
    try:
        items = [value] if isinstance(value, str) else list(value)
    except TypeError:
        items = []
    if not items or not all(isinstance(v, str) for v in items):
        raise ConfigurationError(f"the {what} filter needs one or more strings, got {value!r}")
    # wa_ids arrive as digits only; "+15551234567" in a filter means the same sender.
    return frozenset(v.lstrip("+") if strip_plus else v for v in items)


def _text_matcher(text: Optional[TextFilter]) -> Optional[Callable[[str], bool]]:
    if text is None:
        return None
    if isinstance(text, str):
        return text.__eq__
    if isinstance(text, re.Pattern):
        pattern = text
        return lambda s: pattern.search(s) is not None
    if callable(text):
        return text
    raise ConfigurationError(f"the text filter must be a str, a re.Pattern or a callable: {text!r}")


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


class _Registered:
    __slots__ = ("fn", "is_async", "kinds", "senders", "statuses", "text")

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        kinds: Optional[frozenset[str]] = None,
        senders: Optional[frozenset[str]] = None,
        statuses: Optional[frozenset[str]] = None,
        text: Optional[Callable[[str], bool]] = None,
    ) -> None:
        if not callable(fn):
            raise ConfigurationError(f"a webhook handler must be callable, got {fn!r}")
        self.fn = fn
        self.is_async = _is_async(fn)
        self.kinds = kinds
        self.senders = senders
        self.statuses = statuses
        self.text = text

    def matches_message(self, ev: MessageEvent) -> bool:
        if self.kinds is not None and ev.type not in self.kinds:
            return False
        if self.senders is not None and ev.from_ not in self.senders:
            return False
        if self.text is None:
            return True
        if ev.text is None:
            return False
        try:
            return bool(self.text(ev.text))
        except Exception:
            # A failing predicate is that handler's failure alone: the others still run.
            log.exception("text filter of webhook handler %s failed", _label(self, ev))
            return False

    def matches_status(self, ev: StatusEvent) -> bool:
        if self.statuses is not None and ev.status not in self.statuses:
            return False
        return self.senders is None or ev.recipient_id in self.senders


def _label(reg: _Registered, ev: Event) -> str:
    name = getattr(reg.fn, "__qualname__", None) or type(reg.fn).__name__
    ident = getattr(ev, "message_id", None) or getattr(ev, "code", "")
    return f"{name} ({ev.kind} {ident})"


def _run_sync(calls: list[tuple[_Registered, Event]]) -> None:
    for reg, ev in calls:
        try:
            reg.fn(ev)
        except Exception:
            log.exception("webhook handler %s failed", _label(reg, ev))


class WebhookHandlers:
    """The handlers for inbound messages, delivery statuses and errors."""

    def __init__(self) -> None:
        self._message: list[_Registered] = []
        self._status: list[_Registered] = []
        self._error: list[_Registered] = []

    def __len__(self) -> int:
        return len(self._message) + len(self._status) + len(self._error)

    @overload
    def on_message(self, fn: F) -> F: ...
    @overload
    def on_message(
        self,
        fn: None = None,
        *,
        type: Names = None,
        from_: Names = None,
        text: Optional[TextFilter] = None,
    ) -> Callable[[F], F]: ...
    def on_message(
        self,
        fn: Optional[F] = None,
        *,
        type: Names = None,
        from_: Names = None,
        text: Optional[TextFilter] = None,
    ) -> Union[F, Callable[[F], F]]:
        """Register a handler of :class:`MessageEvent`, bare or with filters.

        ``type``: message type(s) ("text", "image", ...); ``from_``: sender wa_id(s) (a
        leading ``+`` is ignored); ``text``: equal to a str, ``re.Pattern.search`` match, or
        a predicate; a text filter never matches a message without text. Filters combine
        with AND.
        """
        kinds = _names(type, "type")
        senders = _names(from_, "from_", strip_plus=True)
        matcher = _text_matcher(text)

        def register(f: F) -> F:
            self._message.append(_Registered(f, kinds=kinds, senders=senders, text=matcher))
            return f

        return register(fn) if fn is not None else register

    @overload
    def on_status(self, fn: F) -> F: ...
    @overload
    def on_status(
        self, fn: None = None, *, status: Names = None, recipient: Names = None
    ) -> Callable[[F], F]: ...
    def on_status(
        self, fn: Optional[F] = None, *, status: Names = None, recipient: Names = None
    ) -> Union[F, Callable[[F], F]]:
        """Register a handler of :class:`StatusEvent`, optionally only for some statuses
        ("sent", "delivered", "read", "failed", ...) or recipients."""
        statuses = _names(status, "status")
        recipients = _names(recipient, "recipient", strip_plus=True)

        def register(f: F) -> F:
            self._status.append(_Registered(f, statuses=statuses, senders=recipients))
            return f

        return register(fn) if fn is not None else register

    @overload
    def on_error(self, fn: F) -> F: ...
    @overload
    def on_error(self, fn: None = None) -> Callable[[F], F]: ...
    def on_error(self, fn: Optional[F] = None) -> Union[F, Callable[[F], F]]:
        """Register a handler of :class:`ErrorEvent`."""

        def register(f: F) -> F:
            self._error.append(_Registered(f))
            return f

        return register(fn) if fn is not None else register

    def _plan(self, events: Sequence[Event]) -> list[tuple[_Registered, Event]]:
        calls: list[tuple[_Registered, Event]] = []
        for ev in events:
            if isinstance(ev, MessageEvent):
                calls.extend((r, ev) for r in self._message if r.matches_message(ev))
            elif isinstance(ev, StatusEvent):
                calls.extend((r, ev) for r in self._status if r.matches_status(ev))
            elif isinstance(ev, ErrorEvent):
                calls.extend((r, ev) for r in self._error)
        return calls

    async def dispatch(self, events: Sequence[Event]) -> None:
        """Call every matching handler for each event, in order; never raises for a
        handler's failure (it is logged). A text predicate that raises counts as a failure
        of its handler only."""
        calls = self._plan(events)
        i = 0
        while i < len(calls):
            reg, ev = calls[i]
            if reg.is_async:
                try:
                    await reg.fn(ev)
                except Exception:
                    log.exception("webhook handler %s failed", _label(reg, ev))
                i += 1
                continue
            j = i
            while j < len(calls) and not calls[j][0].is_async:
                j += 1
            await asyncio.to_thread(_run_sync, calls[i:j])
            i = j
