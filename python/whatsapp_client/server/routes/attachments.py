"""Attachments (§8): upload a blob (streamed to disk), download it by id (ranges), delete it.

Any authenticated account may download a blob by id (the id is a 192-bit random
capability and the blob is ciphertext); only its uploader may delete it (others get 404).
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from whatsapp_client.server.blobs import BlobStore, UploadRefused, new_blob_id, valid_blob_id
from whatsapp_client.server.errors import ApiError, not_found
from whatsapp_client.server.routes.common import json, no_content, require_user
from whatsapp_client.server.schemas import AttachmentCreated
from whatsapp_client.server.state import ServerState, state_of
from whatsapp_client.server.storage.records import AttachmentRecord


def _now_ms() -> int:
    return int(time.time() * 1000)


def _blobs(state: ServerState) -> BlobStore:
    assert state.blobs is not None
    return state.blobs


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"attachments are limited to {limit} bytes")


def _over_quota(quota: int) -> ApiError:
    return ApiError(
        507, "quota_exceeded", f"your attachments would exceed your quota of {quota} bytes"
    )


def _refused(state: ServerState, reason: str) -> ApiError:
    state.metrics.attachment_uploads.labels(reason).inc()
    settings = state.settings
    if reason == "too_large":
        return _too_large(settings.max_attachment_bytes)
    if reason == "quota":
        return _over_quota(settings.attachment_quota_bytes)
    return ApiError(507, "insufficient_storage", "the server is out of disk space; retry later")


async def upload(request: web.Request) -> web.Response:
    owner = await require_user(request)
    state = state_of(request)
    settings = state.settings
    blobs = _blobs(state)
    limit = settings.max_attachment_bytes
    budget = settings.attachment_quota_bytes - await state.storage.attachment_bytes(owner)
    declared = request.content_length
    # Refused before a byte is read when the declared length already says so.
    if declared is not None and declared > limit:
        raise _refused(state, "too_large")
    if declared is not None and declared > budget:
        raise _refused(state, "quota")
    try:
        tmp, size = await blobs.receive(
            request.content, limit=limit, budget=budget, timeout=settings.request_timeout
        )
    except UploadRefused as exc:
        raise _refused(state, exc.reason) from None
    except asyncio.TimeoutError:
        state.metrics.attachment_uploads.labels("timeout").inc()
        raise ApiError(408, "request_timeout", "the upload stalled") from None
    blob_id = new_blob_id()
    now = _now_ms()
    record = AttachmentRecord(
        blob_id, owner, size, now, now + int(settings.attachment_retention_seconds * 1000)
    )
    try:
        await blobs.commit(tmp, blob_id)
        stored = await state.storage.add_attachment(record, settings.attachment_quota_bytes)
    except BaseException:
        blobs.discard(tmp)
        blobs.remove(blob_id)
        raise
    if not stored:  # a concurrent upload of the same account took the room meanwhile
        blobs.remove(blob_id)
        raise _refused(state, "quota")
    state.metrics.attachment_uploads.labels("stored").inc()
    state.metrics.attachment_upload_bytes.inc(size)
    return json(AttachmentCreated(blob_id, size, record.expires_at), status=201)


async def _live_record(request: web.Request) -> AttachmentRecord:
    blob_id = request.match_info["attachment_id"]
    if not valid_blob_id(blob_id):
        raise not_found("not_found", "no such attachment")
    record = await state_of(request).storage.get_attachment(blob_id)
    if record is None or record.expires_at <= _now_ms():
        raise not_found("not_found", "no such attachment, or it has expired")
    return record


async def download(request: web.Request) -> web.StreamResponse:
    await require_user(request)
    state = state_of(request)
    record = await _live_record(request)
    state.metrics.attachment_downloads.inc()
    # FileResponse streams from disk and answers Range (206, Content-Range) and If-Range.
    # A blob deleted meanwhile makes it raise 404, which becomes `not_found`.
    return web.FileResponse(
        _blobs(state).path(record.id),
        headers={
            "Content-Type": "application/octet-stream",
            "Cache-Control": "private, no-store",
        },
    )


async def delete(request: web.Request) -> web.Response:
    owner = await require_user(request)
    state = state_of(request)
    blob_id = request.match_info["attachment_id"]
    if not valid_blob_id(blob_id) or not await state.storage.delete_attachment(blob_id, owner):
        raise not_found("not_found", "you have no attachment with that id")
    _blobs(state).remove(blob_id)
    return no_content()
