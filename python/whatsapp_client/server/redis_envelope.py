"""What travels on a user channel of the Redis fan-out: the publishing process (so it can
drop its own publication when Redis hands it back), the dedup key of a direct message (so
the reconnect window still drops duplicates on the receiving process) and the frame."""

from __future__ import annotations

import json

from whatsapp_client.server.connection import DedupKey


def encode_envelope(payload: bytes, key: DedupKey, origin: str = "") -> bytes:
    """A frame on a user channel: the publishing process, a newline, the JSON dedup key
    (or nothing), a newline, the frame."""
    head = b"" if key is None else json.dumps(list(key)).encode()
    return origin.encode() + b"\n" + head + b"\n" + payload


def decode_envelope(data: bytes) -> tuple[str, bytes, DedupKey]:
    """(origin process, frame, dedup key) of an envelope."""
    origin, _, rest = data.partition(b"\n")
    head, _, payload = rest.partition(b"\n")
    if not head:
        return origin.decode(), payload, None
    sender, message_id = json.loads(head)
    return origin.decode(), payload, (str(sender), str(message_id))
