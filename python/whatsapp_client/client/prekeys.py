"""Own prekeys: first upload, refill below the threshold, signed prekey rotation."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from whatsapp_client.client.config import ClientConfig
from whatsapp_client.client.http import HttpApi
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import PrekeyStatus
from whatsapp_client.client.store import StoreExecutor, StoreProtocol

__all__ = ["PrekeyManager"]

log = get_logger("prekeys")
DAY = 86400


class PrekeyManager:
    def __init__(
        self,
        *,
        http: HttpApi,
        executor: StoreExecutor,
        store: Callable[[], StoreProtocol],
        config: ClientConfig,
    ) -> None:
        self._http = http
        self._exec = executor
        self._store = store
        self._config = config
        self._lock = asyncio.Lock()

    async def status(self) -> PrekeyStatus:
        data = await self._http.request("GET", "/api/keys/status")
        if not isinstance(data, dict):
            data = {}
        spk = data.get("signed_prekey_id")
        return PrekeyStatus(
            available=int(data.get("available") or 0),
            signed_prekey_id=int(spk) if isinstance(spk, int) else None,
        )

    async def setup(self) -> bool:
        """Creates the identity and prekeys on first use and uploads them; on later logins
        re-uploads when the server lost them, then runs :meth:`maintain`. True when created."""
        store = self._store()
        count = self._config.prekey_count

        def first_time() -> bool:
            if store.has_identity():
                return False
            store.create_identity()
            store.rotate_signed_prekey(int(time.time()))
            store.generate_one_time_prekeys(count)
            return True

        async with self._lock:
            created = await self._exec.run(first_time)
            if created:
                log.info("created a new identity with %d one-time prekeys", count)
                await self._upload_all()
                return True
            status = await self.status()
            spk = await self._exec.run(lambda: store.signed_prekey)
            if spk is None or status.signed_prekey_id != spk.key_id:
                log.info("the server does not hold this device's keys; uploading them again")
                await self._upload_all()
                return False
        await self.maintain(status)
        return False

    async def _upload_all(self) -> None:
        store = self._store()

        def payload() -> dict[str, Any]:
            if store.signed_prekey is None:
                store.rotate_signed_prekey(int(time.time()))
            body = store.keys_payload()
            if len(body.get("one_time_prekeys") or ()) < self._config.prekey_refill_threshold:
                store.generate_one_time_prekeys(self._config.prekey_count)
                body = store.keys_payload()
            return body

        body = await self._exec.run(payload)
        await self._http.request("PUT", "/api/keys", json=body)

    async def maintain(self, status: PrekeyStatus | None = None, *, now: int | None = None) -> None:
        """Rotates an old signed prekey and refills one-time prekeys when the server runs low.
        ``now`` (Unix seconds) defaults to the current time."""
        store = self._store()
        cfg = self._config
        async with self._lock:
            if now is None:
                now = int(time.time())
            spk = await self._exec.run(lambda: store.signed_prekey)
            if spk is None or now - int(spk.created_at) >= cfg.signed_prekey_rotation_days * DAY:

                def rotate() -> dict[str, Any]:
                    new = store.rotate_signed_prekey(now)
                    return dict(new.to_dict())

                body = await self._exec.run(rotate)
                await self._http.request("PUT", "/api/keys/signed-prekey", json=body)
                log.info("rotated the signed prekey (id %s)", body.get("key_id"))
            expired = await self._exec.run(
                store.expire_signed_prekeys, now - int(cfg.signed_prekey_keep_days * DAY)
            )
            if expired:
                log.info("dropped %d expired signed prekeys", expired)
            if status is None:
                status = await self.status()
            if status.available < cfg.prekey_refill_threshold:
                keys = await self._exec.run(store.generate_one_time_prekeys, cfg.prekey_count)
                body2 = {"one_time_prekeys": [k.to_dict() for k in keys]}
                await self._http.request(
                    "POST", "/api/keys/one-time-prekeys", json=body2, idempotent=False
                )
                log.info(
                    "the server held %d one-time prekeys; uploaded %d more",
                    status.available,
                    len(keys),
                )
