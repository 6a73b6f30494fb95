"""Read receipts and message statuses (PROTOCOL.md §7 ``read`` / ``status``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from whatsapp_client import errors
from whatsapp_client.client.frames import Read

__all__ = ["MAX_IDS_PER_FRAME", "read_frames", "validate_ids"]

MAX_IDS_PER_FRAME = 100
STATUSES = ("sent", "delivered", "read")


def validate_ids(message_ids: Iterable[str]) -> list[str]:
    """A de-duplicated list of message ids in the given order; ``ValidationError`` otherwise."""
    if isinstance(message_ids, (str, bytes)):
        raise errors.ValidationError("message_ids must be a list of ids, not a single string")
    try:
        ids = list(message_ids)
    except TypeError as exc:
        raise errors.ValidationError("message_ids must be a list of message id strings") from exc
    if not ids:
        raise errors.ValidationError("message_ids must not be empty")
    seen: set[str] = set()
    out: list[str] = []
    for mid in ids:
        if not isinstance(mid, str) or not mid or len(mid) > 256:
            raise errors.ValidationError(f"invalid message id {mid!r}")
        if mid not in seen:
            seen.add(mid)
            out.append(mid)
    return out


def read_frames(peer_id: str, message_ids: Sequence[str]) -> list[Read]:
    """``read`` frames of at most 100 ids each."""
    return [
        Read(peer_id=peer_id, message_ids=list(message_ids[i : i + MAX_IDS_PER_FRAME]))
        for i in range(0, len(message_ids), MAX_IDS_PER_FRAME)
    ]
