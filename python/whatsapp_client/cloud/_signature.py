"""Webhook authenticity: the ``X-Hub-Signature-256`` check and the GET verification handshake.

Meta signs every webhook POST with ``X-Hub-Signature-256: sha256=<hex>``, the lowercase hex
HMAC-SHA256 of the raw request body keyed with the app secret, and verifies a subscription
with a GET carrying ``hub.mode=subscribe``, ``hub.verify_token`` and ``hub.challenge``
(https://developers.facebook.com/docs/graph-api/webhooks/getting-started/ , sections
"Verification Requests" and "Event Notifications"; the Cloud API's own setup page
https://developers.facebook.com/docs/whatsapp/cloud-api/guides/set-up-webhooks/ ).

Both checks fail closed: a missing header, an empty secret or token, or any other form of
the header (uppercase hex, another prefix, another length) is refused.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Optional

__all__ = [
    "SIGNATURE_HEADER",
    "SignatureVerifier",
    "verification_challenge",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
_LENGTH = len(_PREFIX) + 64


def verify_signature(raw_body: bytes, signature_header: Optional[str], app_secret: str) -> bool:
    """True only if ``signature_header`` is ``sha256=`` + the lowercase hex HMAC-SHA256 of
    ``raw_body`` keyed with ``app_secret``; compared in constant time.

    ``raw_body`` must be the bytes exactly as received (never re-serialized JSON). A missing
    header, an empty secret, or a header of any other form returns False.
    """
    if not app_secret:
        return False
    return SignatureVerifier(app_secret).verify(raw_body, signature_header)


class SignatureVerifier:
    """:func:`verify_signature` with the key set up once (a receiver checks many bodies).

    Never shows the secret in its ``repr``.
    """

    __slots__ = ("_keyed",)

    def __init__(self, app_secret: str) -> None:
        if not app_secret:
            raise ValueError("an empty app secret verifies nothing")
        # HMAC's key schedule is done once here; each check copies the keyed state.
        self._keyed = hmac.new(app_secret.encode("utf-8"), digestmod="sha256")

    def __repr__(self) -> str:
        return "SignatureVerifier(app_secret=***)"

    def verify(self, raw_body: bytes, signature_header: Optional[str]) -> bool:
        if (
            signature_header is None
            or len(signature_header) != _LENGTH
            or not signature_header.startswith(_PREFIX)
            # compare_digest raises on non-ASCII str; such a header is simply wrong.
            or not signature_header.isascii()
        ):
            return False
        mac = self._keyed.copy()
        mac.update(raw_body)
        # The digest is lowercase hex, so equality alone refuses uppercase or non-hex digits.
        return hmac.compare_digest(mac.hexdigest(), signature_header[len(_PREFIX) :])


def verification_challenge(params: Mapping[str, str], verify_token: str) -> Optional[str]:
    """The GET handshake: the ``hub.challenge`` to echo back when ``hub.mode`` is
    ``subscribe`` and ``hub.verify_token`` equals ``verify_token`` (constant time), else None.

    An empty ``verify_token`` refuses every request.
    """
    if not verify_token:
        return None
    mode = params.get("hub.mode")
    token = params.get("hub.verify_token")
    challenge = params.get("hub.challenge")
    if mode != "subscribe" or token is None or challenge is None:
        return None
    if not hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8")):
        return None
    return challenge
