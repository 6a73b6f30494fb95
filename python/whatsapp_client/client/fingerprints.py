"""Fingerprints, safety numbers and verification (PROTOCOL.md §2 and §6.4).

A peer's fingerprint comes from the identity this device holds for it (learned through the
session, never trusted blindly from the server). Verifying compares what the user checked
out of band with that identity in constant time, marks the peer verified in the encrypted
local store, and copies the record to the server (``POST /api/verify-key``) so the account's
other devices can see it; a copy that cannot be sent now is sent after the next connect.
When the peer's identity changes, the store clears the flag by itself.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable
from urllib.parse import quote

from whatsapp_client import _core, errors
from whatsapp_client.client.http import HttpApi
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import User
from whatsapp_client.client.sessions import SessionManager, validate_peer_id
from whatsapp_client.client.store import StoreExecutor, StoreProtocol

__all__ = [
    "QR_PREFIX",
    "Fingerprints",
    "compare_fingerprints",
    "make_qr_image",
    "parse_qr_payload",
    "qr_payload",
    "validate_fingerprint",
]

log = get_logger("fingerprints")

QR_PREFIX = "WAC1-FP:"
"""A fingerprint QR code holds ``WAC1-FP:<user_id>:<fingerprint>``."""
UNSYNCED_KEY = "fingerprints:unsynced"
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def validate_fingerprint(value: Any) -> str:
    """A fingerprint as 64 lowercase hex characters (spaces allowed in the input)."""
    if not isinstance(value, str):
        raise errors.ValidationError(f"a fingerprint is a string of 64 hex digits, got {value!r}")
    compact = "".join(value.split())
    if not _HEX64.match(compact):
        raise errors.ValidationError(
            "a fingerprint is 64 hexadecimal characters (get_peer_fingerprint shows one)",
            code="invalid_fingerprint",
        )
    return compact.lower()


def compare_fingerprints(fingerprint1: str, fingerprint2: str) -> bool:
    """Whether two fingerprints are equal, compared in constant time (case and spaces are
    ignored). Malformed input compares unequal."""
    if not isinstance(fingerprint1, str) or not isinstance(fingerprint2, str):
        return False
    a = "".join(fingerprint1.split())
    b = "".join(fingerprint2.split())
    if not _HEX64.match(a) or not _HEX64.match(b):
        return False
    return bool(_core.compare_fingerprints(a, b))


def qr_payload(user_id: str, fingerprint: str) -> str:
    """The text of a fingerprint QR code: ``WAC1-FP:<user_id>:<fingerprint>``."""
    return f"{QR_PREFIX}{user_id}:{validate_fingerprint(fingerprint)}"


def parse_qr_payload(text: str) -> tuple[str, str]:
    """``(user_id, fingerprint)`` from a scanned fingerprint QR code."""
    if not isinstance(text, str) or not text.startswith(QR_PREFIX):
        raise errors.ValidationError(f"not a fingerprint QR code (it must start with {QR_PREFIX})")
    user_id, sep, fp = text[len(QR_PREFIX) :].rpartition(":")
    if not sep or not user_id:
        raise errors.ValidationError("a fingerprint QR code is WAC1-FP:<user_id>:<fingerprint>")
    return validate_peer_id(user_id, "user id"), validate_fingerprint(fp)


def make_qr_image(payload: str) -> Any:
    """A QR code image of ``payload`` (needs the ``qrcode`` extra, which brings Pillow)."""
    try:
        import qrcode
    except ImportError as exc:
        raise errors.MissingExtraError(
            "generate_fingerprint_qr needs the qrcode package, which is not installed: "
            "pip install 'whatsapp-client[qrcode]'"
        ) from exc
    try:
        return qrcode.make(payload)
    except ImportError as exc:  # qrcode without an image backend
        raise errors.MissingExtraError(
            "qrcode needs Pillow to draw the image: pip install 'whatsapp-client[qrcode]'"
        ) from exc


class Fingerprints:
    """Peer fingerprints and the verified flags of the logged-in account."""

    def __init__(
        self,
        *,
        http: HttpApi,
        login: Callable[[], tuple[User, StoreProtocol, StoreExecutor]],
        sessions: Callable[[], SessionManager | None],
    ) -> None:
        self._http = http
        self._login = login
        self._sessions = sessions
        self._verified: dict[str, bool] = {}

    def reset(self) -> None:
        self._verified.clear()

    def forget(self, peer_id: str) -> None:
        """Drops the cached flag of a peer (its identity changed)."""
        self._verified.pop(peer_id, None)

    async def identity(self, peer_id: str, *, start_session: bool = True) -> Any:
        """The stored identity of a peer; with ``start_session`` a session is started first
        when this device has never talked to the peer (that is how its keys are learned)."""
        validate_peer_id(peer_id)
        _, store, executor = self._login()
        ident = await executor.run(store.peer_identity, peer_id)
        if ident is None and start_session:
            sessions = self._sessions()
            assert sessions is not None
            await sessions.ensure(peer_id)
            ident = await executor.run(store.peer_identity, peer_id)
        if ident is None:
            raise errors.SessionNotFoundError(
                f"no identity is known for {peer_id!r}: exchange a message with it first",
                code="no_session",
            )
        return ident

    async def peer_fingerprint(self, peer_id: str) -> str:
        ident = await self.identity(peer_id)
        return str(ident.fingerprint)

    async def is_verified(self, peer_id: str) -> bool:
        validate_peer_id(peer_id)
        cached = self._verified.get(peer_id)
        if cached is not None:
            return cached
        _, store, executor = self._login()
        ident = await executor.run(store.peer_identity, peer_id)
        verified = bool(ident is not None and ident.verified)
        self._verified[peer_id] = verified
        return verified

    async def verify(self, peer_id: str, fingerprint: str, verified: bool) -> None:
        validate_peer_id(peer_id)
        fp = validate_fingerprint(fingerprint)
        if not isinstance(verified, bool):
            raise errors.ValidationError("verified must be True or False")
        ident = await self.identity(peer_id)
        stored = str(ident.fingerprint)
        mismatch = errors.FingerprintMismatchError(
            f"the fingerprint given for {peer_id!r} does not match the identity this "
            "device holds for it; it was NOT marked verified. Compare again in person "
            "or over a trusted channel: the keys may have been replaced",
        )
        if verified and not compare_fingerprints(stored, fp):
            raise mismatch
        _, store, executor = self._login()
        if verified:
            # The store compares the identity it holds *now* with the fingerprint and sets
            # the flag in one step: an identity that changed after ``stored`` was read is
            # never marked verified.
            if not await executor.run(store.mark_verified, peer_id, fp):
                self.forget(peer_id)
                raise mismatch
        else:
            await executor.run(store.set_verified, peer_id, False)
        self._verified[peer_id] = verified
        log.info("%s marked %s", peer_id, "verified" if verified else "unverified")
        await self._sync(peer_id, stored, verified)

    async def _sync(self, peer_id: str, fingerprint: str, verified: bool) -> None:
        body = {"peer_id": peer_id, "fingerprint": fingerprint, "verified": verified}
        try:
            await self._http.request("POST", "/api/verify-key", json=body, idempotent=True)
        except (errors.ConnectionError, errors.ServerError, errors.RateLimitError) as exc:
            log.info("cannot copy the verification of %s to the server now (%s)", peer_id, exc)
            await self._mark_unsynced(peer_id, True)
            return
        await self._mark_unsynced(peer_id, False)

    async def _unsynced(self) -> set[str]:
        _, store, executor = self._login()
        raw = await executor.run(store.kv_get, UNSYNCED_KEY)
        if not raw:
            return set()
        try:
            ids = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return set()
        return {i for i in ids if isinstance(i, str)} if isinstance(ids, list) else set()

    async def _mark_unsynced(self, peer_id: str, pending: bool) -> None:
        ids = await self._unsynced()
        if (peer_id in ids) == pending:
            return
        if pending:
            ids.add(peer_id)
        else:
            ids.discard(peer_id)
        _, store, executor = self._login()
        await executor.run(store.kv_set, UNSYNCED_KEY, json.dumps(sorted(ids)).encode("utf-8"))

    async def sync_pending(self) -> int:
        """Sends the verification records that could not be sent before; how many were."""
        done = 0
        for peer_id in sorted(await self._unsynced()):
            try:
                ident = await self.identity(peer_id, start_session=False)
            except errors.SessionNotFoundError:
                await self._mark_unsynced(peer_id, False)
                continue
            body = {
                "peer_id": peer_id,
                "fingerprint": str(ident.fingerprint),
                "verified": bool(ident.verified),
            }
            try:
                await self._http.request("POST", "/api/verify-key", json=body, idempotent=True)
            except (errors.ConnectionError, errors.ServerError, errors.RateLimitError):
                return done
            await self._mark_unsynced(peer_id, False)
            done += 1
        return done

    async def server_record(self, peer_id: str) -> dict[str, Any] | None:
        """The account's verification record for ``peer_id`` on the server, or ``None``."""
        validate_peer_id(peer_id)
        self._login()
        try:
            data = await self._http.request("GET", f"/api/verify-key/{quote(peer_id, safe='')}")
        except errors.NotFoundError:
            return None
        return data if isinstance(data, dict) else None

    async def safety_number(self, peer_id: str) -> str:
        _, store, executor = self._login()
        mine = await executor.run(lambda: store.fingerprint)
        theirs = await self.peer_fingerprint(peer_id)
        return str(_core.safety_number(mine, theirs))


def format_safety_number(number: str) -> str:
    """A 60-digit safety number in 12 groups of 5, as people read it aloud."""
    return " ".join(number[i : i + 5] for i in range(0, len(number), 5))
