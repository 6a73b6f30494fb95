"""What the simulator remembers: media, templates, injected failures, sent messages, ids."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


@dataclass
class StoredMedia:
    """One media object, uploaded or added as inbound media."""

    media_id: str
    data: bytes
    mime_type: str
    sha256: str
    # url nonce -> time it was handed out (a url is valid for the configured lifetime)
    urls: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Template:
    """A registered (approved) message template."""

    name: str
    language: str
    body_params: int
    header: Optional[str]  # None, "text", "image", "video", "document" or "location"
    header_params: int
    button_params: int


@dataclass
class FailRule:
    """An error answered for the next ``times`` requests whose path ends with ``suffix``."""

    suffix: str
    status: int
    code: int
    subcode: Optional[int]
    message: Optional[str]
    details: Optional[str]
    times: int
    retry_after: Optional[float]


def new_wamid() -> str:
    """A message id shaped like Graph's (``wamid.`` + base64)."""
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18\x12" + os.urandom(18)).decode()


def new_media_id() -> str:
    """A media id shaped like Graph's (a 16-digit number)."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


class SimState:
    """The simulator's memory; the aiohttp handlers read and change it."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.sent: list[dict[str, Any]] = []
        self.read_receipts: list[str] = []
        self.media: dict[str, StoredMedia] = {}
        self.deleted_media: set[str] = set()
        self.templates: dict[tuple[str, str], Template] = {}
        self.fail_rules: list[FailRule] = []
        self.rate_limit_per_second: Optional[float] = None
        self.media_url_lifetime: float = 300.0
        self._recent_sends: deque[float] = deque()

    # -- media --------------------------------------------------------------------------
    def add_media(self, data: bytes, mime_type: str) -> str:
        media_id = new_media_id()
        self.media[media_id] = StoredMedia(
            media_id, bytes(data), mime_type, hashlib.sha256(data).hexdigest()
        )
        return media_id

    def corrupt_media(self, media_id: str) -> None:
        media = self.media[media_id]
        if not media.data:
            raise ValueError(f"media {media_id} is empty: nothing to corrupt")
        middle = len(media.data) // 2
        flipped = media.data[middle] ^ 0xFF
        media.data = media.data[:middle] + bytes([flipped]) + media.data[middle + 1 :]

    def issue_url(self, media: StoredMedia) -> str:
        """A fresh url nonce for ``media`` (what GET /{media_id} hands out)."""
        nonce = secrets.token_urlsafe(16)
        media.urls[nonce] = self.clock()
        return nonce

    def url_valid(self, media: StoredMedia, nonce: str) -> bool:
        issued = media.urls.get(nonce)
        if issued is None:
            return False
        if self.clock() - issued > self.media_url_lifetime:
            del media.urls[nonce]
            return False
        return True

    def expire_media_urls(self) -> None:
        for media in self.media.values():
            media.urls.clear()

    # -- failures and pacing -------------------------------------------------------------
    def take_failure(self, path: str) -> Optional[FailRule]:
        """The first rule matching ``path``, counted down (and dropped once used up)."""
        for rule in self.fail_rules:
            if path.endswith(rule.suffix):
                rule.times -= 1
                if rule.times <= 0:
                    self.fail_rules.remove(rule)
                return rule
        return None

    def over_rate(self) -> bool:
        """True when one more message now would pass ``rate_limit_per_second``."""
        limit = self.rate_limit_per_second
        if limit is None:
            return False
        now = self.clock()
        while self._recent_sends and now - self._recent_sends[0] >= 1.0:
            self._recent_sends.popleft()
        if len(self._recent_sends) >= limit:
            return True
        self._recent_sends.append(now)
        return False
