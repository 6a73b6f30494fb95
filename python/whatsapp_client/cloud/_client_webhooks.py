"""The webhook side of :class:`CloudClient`: the receiver built lazily from the client's
secrets (fail closed), and the ``@cloud.on_message`` / ``on_status`` / ``on_error``
decorators that register on its :class:`WebhookHandlers`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union, overload

from whatsapp_client.cloud._errors import ConfigurationError

if TYPE_CHECKING:
    from whatsapp_client.cloud._dedup import DedupStore
    from whatsapp_client.cloud._handlers import TextFilter, WebhookHandlers
    from whatsapp_client.cloud._webhook_app import WebhookReceiver

__all__ = ["WebhooksMixin"]

F = TypeVar("F", bound=Callable[..., Any])
_Names = Union[str, Iterable[str], None]


class WebhooksMixin:
    _app_secret: Optional[str]
    _verify_token: Optional[str]
    _dedup: Optional[DedupStore]
    _insecure: bool
    _receiver: Optional[WebhookReceiver]
    _handlers: Optional[WebhookHandlers]

    @property
    def handlers(self) -> WebhookHandlers:
        """The :class:`WebhookHandlers` (created on first use; no secret needed for it)."""
        if self._handlers is None:
            from whatsapp_client.cloud._handlers import WebhookHandlers

            self._handlers = WebhookHandlers()
        return self._handlers

    @property
    def webhooks(self) -> WebhookReceiver:
        """The receiver, built on first use from ``app_secret``/``verify_token``.

        Fails closed: :class:`ConfigurationError` without an app secret (unless
        ``insecure_skip_signature=True``) or without a verify token.
        """
        if self._receiver is None:
            from whatsapp_client.cloud._webhook_app import WebhookReceiver

            if not self._verify_token:
                raise ConfigurationError("verify_token is required to receive webhooks")
            self._receiver = WebhookReceiver(
                app_secret=self._app_secret,
                verify_token=self._verify_token,
                handlers=self.handlers,
                dedup=self._dedup,
                insecure_skip_signature=self._insecure,
            )
        return self._receiver

    @overload
    def on_message(self, fn: F) -> F: ...
    @overload
    def on_message(
        self,
        fn: None = None,
        *,
        type: _Names = None,
        from_: _Names = None,
        text: Optional[TextFilter] = None,
    ) -> Callable[[F], F]: ...
    def on_message(
        self,
        fn: Optional[F] = None,
        *,
        type: _Names = None,
        from_: _Names = None,
        text: Optional[TextFilter] = None,
    ) -> Union[F, Callable[[F], F]]:
        """``@cloud.on_message`` (bare or with filters): see ``WebhookHandlers.on_message``."""
        if fn is not None:
            return self.handlers.on_message(fn)
        return self.handlers.on_message(type=type, from_=from_, text=text)

    @overload
    def on_status(self, fn: F) -> F: ...
    @overload
    def on_status(
        self, fn: None = None, *, status: _Names = None, recipient: _Names = None
    ) -> Callable[[F], F]: ...
    def on_status(
        self, fn: Optional[F] = None, *, status: _Names = None, recipient: _Names = None
    ) -> Union[F, Callable[[F], F]]:
        if fn is not None:
            return self.handlers.on_status(fn)
        return self.handlers.on_status(status=status, recipient=recipient)

    @overload
    def on_error(self, fn: F) -> F: ...
    @overload
    def on_error(self, fn: None = None) -> Callable[[F], F]: ...
    def on_error(self, fn: Optional[F] = None) -> Union[F, Callable[[F], F]]:
        if fn is not None:
            return self.handlers.on_error(fn)
        return self.handlers.on_error()
