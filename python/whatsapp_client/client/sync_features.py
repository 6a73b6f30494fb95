"""The feature methods of the blocking client (:mod:`whatsapp_client.sync`): typing,
presence, media, fingerprints and groups, each running the asynchronous method on the
client's own event loop and waiting for its result."""

from __future__ import annotations

import os
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from whatsapp_client.client.events import Handler
from whatsapp_client.client.groups import Group
from whatsapp_client.client.media import decode_image, open_image
from whatsapp_client.client.models import Message
from whatsapp_client.client.typing_indicators import TYPING_TIMEOUT

if TYPE_CHECKING:
    from whatsapp_client.client.client import WhatsAppClient as AsyncWhatsAppClient

__all__ = ["SyncFeaturesMixin"]

T = TypeVar("T")
H = TypeVar("H", bound=Handler)


class SyncFeaturesMixin:
    """Blocking versions of the feature methods (mixed into ``sync.WhatsAppClient``)."""

    # What the host class provides, declared for the type checker only.
    if TYPE_CHECKING:
        _client: AsyncWhatsAppClient

        def _call(self, coro: Coroutine[Any, Any, T]) -> T: ...

    # --- typing and presence -------------------------------------------------------------

    def send_typing(
        self, to: str, typing: bool = True, *, auto_stop: float | None = TYPING_TIMEOUT
    ) -> bool:
        return self._call(self._client.send_typing(to, typing, auto_stop=auto_stop))

    def on_typing(self, handler: H) -> H:
        return self._client.on_typing(handler)

    def get_typing_users(self) -> set[str]:
        return self._client.get_typing_users()

    def subscribe_presence(self, user_ids: Iterable[str]) -> None:
        self._call(self._client.subscribe_presence(list(user_ids)))

    def get_online_users(self) -> set[str]:
        return self._client.get_online_users()

    def is_user_online(self, user_id: str) -> bool:
        return self._client.is_user_online(user_id)

    def get_last_seen(self, user_id: str) -> int | None:
        return self._client.get_last_seen(user_id)

    def on_presence(self, handler: H) -> H:
        return self._client.on_presence(handler)

    # --- media ---------------------------------------------------------------------------

    # send_image, send_video, send_audio, send_file and download: sync_media.py

    def save_image(self, message: Message, path: str | os.PathLike[str]) -> Path:
        return self._call(self._client.save_image(message, path))

    def save_file(self, message: Message, path: str | os.PathLike[str]) -> Path:
        return self._call(self._client.save_file(message, path))

    @staticmethod
    def decode_image(value: Message | str | bytes) -> bytes:
        return decode_image(value)

    @staticmethod
    def open_image(value: Message | str | bytes) -> Any:
        return open_image(value)

    # --- fingerprints --------------------------------------------------------------------

    def get_peer_fingerprint(self, peer_id: str) -> str:
        return self._call(self._client.get_peer_fingerprint(peer_id))

    def verify_fingerprint(self, peer_id: str, fingerprint: str, verified: bool = True) -> None:
        self._call(self._client.verify_fingerprint(peer_id, fingerprint, verified))

    def is_fingerprint_verified(self, peer_id: str) -> bool:
        return self._call(self._client.is_fingerprint_verified(peer_id))

    def get_verification_record(self, peer_id: str) -> dict[str, Any] | None:
        return self._call(self._client.get_verification_record(peer_id))

    @staticmethod
    def compare_fingerprints(fingerprint1: str, fingerprint2: str) -> bool:
        from whatsapp_client.client.fingerprints import compare_fingerprints

        return compare_fingerprints(fingerprint1, fingerprint2)

    def safety_number(self, peer_id: str) -> str:
        return self._call(self._client.safety_number(peer_id))

    def fingerprint_qr_payload(self) -> str:
        return self._client.fingerprint_qr_payload()

    def generate_fingerprint_qr(self) -> Any:
        return self._client.generate_fingerprint_qr()

    def verify_fingerprint_qr(self, payload: str) -> str:
        return self._call(self._client.verify_fingerprint_qr(payload))

    # --- groups --------------------------------------------------------------------------

    def create_group(
        self, name: str, description: str = "", member_ids: Iterable[str] = ()
    ) -> Group:
        return self._call(self._client.create_group(name, description, list(member_ids)))

    def get_groups(self) -> list[Group]:
        return self._call(self._client.get_groups())

    def get_group(self, group_id: str) -> Group:
        return self._call(self._client.get_group(group_id))

    def update_group(
        self, group_id: str, name: str | None = None, description: str | None = None
    ) -> Group:
        return self._call(self._client.update_group(group_id, name, description))

    def add_group_member(self, group_id: str, user_id: str, role: str = "member") -> Group:
        return self._call(self._client.add_group_member(group_id, user_id, role))

    def remove_group_member(self, group_id: str, user_id: str) -> None:
        self._call(self._client.remove_group_member(group_id, user_id))

    def leave_group(self, group_id: str) -> None:
        self._call(self._client.leave_group(group_id))

    def send_group_message(self, group_id: str, content: str) -> Message:
        return self._call(self._client.send_group_message(group_id, content))

    def get_group_messages(
        self, group_id: str, limit: int = 50, before: int | None = None
    ) -> list[Message]:
        return self._call(self._client.get_group_messages(group_id, limit, before))

    def sync_groups(self) -> int:
        return self._call(self._client.sync_groups())

    def on_group_message(self, handler: H) -> H:
        return self._client.on_group_message(handler)
