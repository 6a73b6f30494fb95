"""Sending media: inline up to 64 KiB, else as an encrypted attachment (PROTOCOL.md §8).

An attachment is sealed into a blob file in the client's cache directory, recorded as a
*pending upload* in the encrypted store (blob path, key, digest), uploaded, and then sent
through the outbox like any message, under the message id chosen up front. A file named by
its path is sealed while its blob is uploaded (:mod:`attachment_seal`); its record is
written once the blob is complete and fsynced, before the send can report ``pending`` or
queue the message. Other media are sealed first and recorded before the upload starts.
A pending upload survives a restart: after the next connect it is uploaded (if it was not
yet) and sent. The record and the blob file go once the outbox holds the message, which
from then on carries it like any other (the blob is no longer needed: the message names
the server's copy). The attachment key lives only in the encrypted store and in the
encrypted message; it is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any, Callable, Optional

from whatsapp_client import errors
from whatsapp_client.client import media as media_mod
from whatsapp_client.client.attachment_files import (
    b64_text,
    cache_directory,
    pending_record,
    unlink_quietly,
)
from whatsapp_client.client.attachment_seal import SealJob, SealStopped, sweep_orphans
from whatsapp_client.client.attachment_source import MediaInput, Prepared, prepare
from whatsapp_client.client.config import ClientConfig
from whatsapp_client.client.logging import get_logger
from whatsapp_client.client.models import Message, User
from whatsapp_client.client.sessions import validate_peer_id
from whatsapp_client.client.store import StoreExecutor, StoreProtocol
from whatsapp_client.client.transfers import Progress, Transfers, report

__all__ = ["MediaSender"]

log = get_logger("attachments")

_PENDING_KEY = "attachments/pending"
_ORPHAN_AGE = 3600.0  # seconds
# Failures after which a pending upload is kept and tried again after the next connect (an
# expired token included: the next login has a fresh one).
_TRANSIENT = (
    errors.ConnectionError,
    errors.ServerError,
    errors.RateLimitError,
    errors.AuthenticationError,
)

SendPayload = Callable[..., Awaitable[Message]]
Login = Callable[[], "tuple[User, StoreProtocol, StoreExecutor]"]


def _final(exc: Optional[BaseException]) -> bool:
    """An upload failure that no retry fixes."""
    return isinstance(exc, errors.WhatsAppError) and not isinstance(exc, _TRANSIENT)


class MediaSender:
    """Typed media senders and the pending uploads of one client."""

    def __init__(
        self,
        *,
        config: Callable[[], ClientConfig],
        login: Login,
        send_payload: SendPayload,
        transfers: Transfers,
        ensure_peer: Callable[[str], Awaitable[None]],
        on_failed: Callable[[str], None],
    ) -> None:
        self._config = config
        self._login = login
        self._send_payload = send_payload
        self._transfers = transfers
        self._ensure_peer = ensure_peer
        self._on_failed = on_failed
        self._active: set[str] = set()  # message ids being uploaded by this process
        self._lock = asyncio.Lock()  # one read-modify-write of the pending records at a time

    # --- pending records (encrypted store) --------------------------------------------------

    async def _records(self) -> dict[str, dict[str, Any]]:
        _, store, executor = self._login()
        raw = await executor.run(store.kv_get, _PENDING_KEY)
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            log.error("the pending uploads record is unreadable; starting afresh")
            return {}
        return data if isinstance(data, dict) else {}

    async def _put(self, mid: str, record: Optional[dict[str, Any]]) -> None:
        async with self._lock:
            _, store, executor = self._login()
            records = await self._records()
            if record is None:
                if records.pop(mid, None) is None:
                    return
            else:
                records[mid] = record
            value = json.dumps(records, separators=(",", ":")).encode("utf-8")
            await executor.run(store.kv_set, _PENDING_KEY, value)

    async def _drop(self, mid: str, record: Mapping[str, Any]) -> None:
        await self._put(mid, None)
        await asyncio.to_thread(unlink_quietly, Path(record["blob"]))

    async def pending_uploads(self) -> int:
        """How many attachment messages wait for their upload."""
        return len(await self._records())

    # --- sending ------------------------------------------------------------------------------

    async def send(
        self,
        to: str,
        value: MediaInput,
        *,
        kind: str,
        check_mime: Callable[[str], str],
        filename: Optional[str],
        caption: Optional[str],
        progress: Optional[Progress],
        message_id: Optional[str] = None,
    ) -> Message:
        """Checks, types and sends one medium as a ``kind`` payload (image/video/audio/file).
        ``message_id`` (default: a fresh UUID) lets a caller that retries after a crash reuse
        the id, so the server answers the resend instead of storing a second message."""
        user, _, _ = self._login()
        validate_peer_id(to, "to")
        if to == user.id:
            raise errors.ValidationError("cannot send a message to yourself")
        cfg = self._config()
        cap = media_mod.clean_text(caption, "caption", cfg.max_text_bytes)
        name = media_mod.clean_filename(filename)
        if kind == "file" and name is None and isinstance(value, (bytes, bytearray, memoryview)):
            raise errors.ValidationError("sending a file from bytes needs filename=...")
        # An unknown recipient (NotFoundError) is refused before anything is sealed or
        # uploaded; a server out of reach only delays the session, as for text.
        try:
            await self._ensure_peer(to)
        except _TRANSIENT as exc:
            log.info("cannot start a session with %s now (%s)", to, exc)
        prepared = await asyncio.to_thread(
            prepare,
            value,
            inline_limit=cfg.media_max_bytes,
            attachment_limit=cfg.attachment_max_bytes,
            cache_dir=cache_directory(cfg, user.id),
            what="image" if kind == "image" else kind,
            check_mime=check_mime,
            filename=name,
        )
        try:
            fields = self._fields(kind, prepared, name, cap)
        except BaseException:
            if prepared.job is not None:
                await asyncio.to_thread(prepared.job.discard)
            elif prepared.blob is not None:
                await asyncio.to_thread(unlink_quietly, prepared.blob)
            raise
        if prepared.inline is not None:
            payload = {**fields, "data": b64_text(prepared.inline)}
            media_mod.check_frame_size(len(payload["data"]) + len(json.dumps(fields)) + 256)
            report(progress, prepared.size, prepared.size)
            return await self._send_payload(to, payload, cap or "", message_id=message_id)
        return await self._send_attachment(user, to, prepared, fields, progress, message_id)

    @staticmethod
    def _fields(
        kind: str, prepared: Prepared, name: Optional[str], cap: Optional[str]
    ) -> dict[str, Any]:
        fname = name or media_mod.clean_filename(prepared.filename)
        if kind == "file" and not fname:
            raise errors.ValidationError("sending a file from bytes needs filename=...")
        fields: dict[str, Any] = {"type": kind, "mime": prepared.mime}
        if fname:
            fields["filename"] = fname
        if cap:
            fields["caption"] = cap
        meta = dict(prepared.meta)
        if "thumbnail" in meta:
            meta["thumbnail"] = b64_text(meta["thumbnail"])
        fields.update(meta)
        return fields

    async def _send_attachment(
        self,
        user: User,
        to: str,
        prepared: Prepared,
        fields: dict[str, Any],
        progress: Optional[Progress],
        message_id: Optional[str] = None,
    ) -> Message:
        assert prepared.blob is not None
        mid = message_id or str(uuid.uuid4())
        self._active.add(mid)
        try:
            if prepared.job is not None:
                return await self._seal_and_upload(user, to, mid, prepared.job, fields, progress)
            record = pending_record(to, fields, prepared.blob, prepared.keys)
            try:
                await self._put(mid, record)  # persisted before the upload starts
            except errors.WhatsAppError:
                await asyncio.to_thread(unlink_quietly, prepared.blob)
                raise
            upload = self._transfers.upload(prepared.blob, progress)
            return await self._upload_and_finish(user, mid, record, upload)
        finally:
            self._active.discard(mid)

    async def _seal_and_upload(
        self,
        user: User,
        to: str,
        mid: str,
        job: SealJob,
        fields: dict[str, Any],
        progress: Optional[Progress],
    ) -> Message:
        """Seals the blob in a worker thread while the upload streams it as it grows. The
        pending record (blob, key, digest) is persisted as soon as sealing ends, before
        anything depends on it: before the message is reported pending or sent, even when
        the upload finished first. Until then nothing was promised: a failure or
        cancellation stops the sealer, and the blob goes (the upload's copy on the server
        expires unnamed)."""
        try:
            await asyncio.to_thread(job.create)
        except BaseException:
            await asyncio.to_thread(job.discard)
            raise
        upload = asyncio.ensure_future(self._transfers.upload(job.blob, progress, sealing=job))

        def refused(task: asyncio.Future[str]) -> None:
            # A final refusal (too large, quota) needs no blob: stop sealing at once.
            if not task.cancelled() and _final(task.exception()):
                job.stop()

        upload.add_done_callback(refused)
        persisted = False
        try:
            try:
                keys = await asyncio.to_thread(job.run)
            except SealStopped:
                failure = upload.exception() if upload.done() and not upload.cancelled() else None
                if failure is not None:
                    raise failure from None
                raise
            record = pending_record(to, fields, job.blob, keys)
            await self._put(mid, record)
            persisted = True
        except BaseException:
            job.stop()
            upload.cancel()
            with contextlib.suppress(BaseException):
                await upload
            if not persisted:
                await asyncio.to_thread(job.discard)
            raise
        return await self._upload_and_finish(user, mid, record, upload)

    async def _upload_and_finish(
        self, user: User, mid: str, record: dict[str, Any], upload: Awaitable[str]
    ) -> Message:
        """Waits for the upload of a recorded blob, then sends its message."""
        try:
            record["id"] = await upload
        except _TRANSIENT as exc:
            log.info("upload of %s failed (%s); it is retried after the next connect", mid, exc)
            fields = record["fields"]
            return Message(
                id=mid,
                from_user=user.id,
                to=record["to"],
                content=str(fields.get("caption", "")),
                type=str(fields["type"]),
                status="pending",
                direction="out",
                payload=dict(fields),
            )
        # Refused for good (too large, quota): it goes. A cancellation (the client
        # closing) keeps the record: the next login resumes it.
        except errors.WhatsAppError:
            await self._drop(mid, record)
            raise
        await self._put(mid, record)
        return await self._finish(mid, record)

    async def _finish(self, mid: str, record: dict[str, Any]) -> Message:
        """Sends the message of an uploaded attachment through the outbox."""
        attachment = {
            "id": record["id"],
            "key": record["key"],
            "digest": record["digest"],
            "size": record["size"],
        }
        payload = {**record["fields"], "attachment": attachment}
        caption = str(record["fields"].get("caption", ""))
        try:
            message = await self._send_payload(record["to"], payload, caption, message_id=mid)
        except _TRANSIENT:
            raise
        except errors.WhatsAppError:  # e.g. the recipient is gone: it can never be sent
            await self._drop(mid, record)
            await self._transfers.delete(str(record["id"]))
            raise
        await self._drop(mid, record)
        return message

    # --- after a (re)connect or a restart -----------------------------------------------------

    async def resume(self) -> None:
        """Uploads and sends every pending attachment message not in progress here."""
        try:
            records = await self._records()
        except errors.WhatsAppError as exc:
            log.info("cannot read the pending uploads (%s)", exc)
            return
        await self._sweep_orphans(records)
        for mid, record in records.items():
            if mid in self._active:
                continue
            self._active.add(mid)
            try:
                if not await self._resume_one(mid, record):
                    return
            except errors.WhatsAppError as exc:
                log.warning("pending attachment message %s failed: %s", mid, exc)
                self._on_failed(mid)
            finally:
                self._active.discard(mid)

    async def _sweep_orphans(self, records: Mapping[str, Any]) -> None:
        """Deletes sealed blobs that no pending upload names (left by a crash while sealing).
        Only old ones: a blob being sealed right now has no record yet."""
        user, _, _ = self._login()
        folder = cache_directory(self._config(), user.id)
        named = {str(record.get("blob")) for record in records.values()}
        await asyncio.to_thread(sweep_orphans, folder, named, _ORPHAN_AGE)

    async def _resume_one(self, mid: str, record: dict[str, Any]) -> bool:
        """One pending message; False when the server cannot be reached (stop for now)."""
        _, store, executor = self._login()

        def queued() -> bool:
            in_outbox = any(str(item.message_id) == mid for item in store.outbox())
            return in_outbox or store.get_message(mid) is not None

        if await executor.run(queued):  # sent before a crash removed the record
            await self._drop(mid, record)
            return True
        if record.get("id") is None:
            blob = Path(record["blob"])
            if not await asyncio.to_thread(blob.is_file):
                log.warning("the sealed blob of message %s is gone; it cannot be sent", mid)
                await self._drop(mid, record)
                self._on_failed(mid)
                return True
            try:
                record["id"] = await self._transfers.upload(blob)
            except _TRANSIENT as exc:
                log.info(
                    "upload of %s failed again (%s); retrying after the next connect", mid, exc
                )
                return False
            except errors.WhatsAppError:
                await self._drop(mid, record)
                raise
            await self._put(mid, record)
        try:
            await self._finish(mid, record)
        except _TRANSIENT:
            return False
        log.info("pending attachment message %s is in the outbox", mid)
        return True
