"""WebhookReceiver and webhook_app served on a real ephemeral port, driven over HTTP."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Optional

import aiohttp
import pytest
from aiohttp import web

from tests.cloud._webhooks_samples import (
    APP_SECRET,
    VERIFY_TOKEN,
    batch_payload,
    encode,
    sign,
    text_payload,
)
from whatsapp_client.cloud._dedup import SqliteDedupStore
from whatsapp_client.cloud._errors import ConfigurationError
from whatsapp_client.cloud._events import Event, MessageEvent, StatusEvent
from whatsapp_client.cloud._handlers import WebhookHandlers
from whatsapp_client.cloud._webhook_app import WebhookReceiver, webhook_app

PATH = "/webhooks/whatsapp"


class Served:
    def __init__(self, receiver: WebhookReceiver, url: str, session: aiohttp.ClientSession):
        self.receiver = receiver
        self.url = url
        self.session = session
        self.got: list[Event] = []

    async def post(self, body: bytes, signature: Optional[str] = "auto") -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if signature == "auto":
            signature = sign(body)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        async with self.session.post(self.url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()


async def _serve(receiver: WebhookReceiver) -> AsyncIterator[Served]:
    runner = web.AppRunner(webhook_app(receiver), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield Served(receiver, f"http://127.0.0.1:{port}{PATH}", session)
    await runner.cleanup()


def _receiver(**kwargs: Any) -> tuple[WebhookReceiver, list[Event]]:
    got: list[Event] = []
    handlers = WebhookHandlers()
    handlers.on_message(got.append)
    handlers.on_status(got.append)
    handlers.on_error(got.append)
    kwargs.setdefault("app_secret", APP_SECRET)
    return WebhookReceiver(verify_token=VERIFY_TOKEN, handlers=handlers, **kwargs), got


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    receiver, got = _receiver()
    async for s in _serve(receiver):
        s.got = got
        yield s


async def test_get_handshake_returns_the_challenge_as_plain_text(served: Served) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    async with served.session.get(served.url, params=params) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        assert await resp.text() == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {},
    ],
)
async def test_get_handshake_refuses_with_403(served: Served, params: dict[str, str]) -> None:
    async with served.session.get(served.url, params=params) as resp:
        assert resp.status == 403
        assert "1" not in await resp.text()


async def test_signed_batch_is_answered_200_and_every_event_dispatched(served: Served) -> None:
    body = encode(batch_payload())
    status, _ = await served.post(body)
    assert status == 200
    await served.receiver.drain()
    messages = [e for e in served.got if isinstance(e, MessageEvent)]
    statuses = [e for e in served.got if isinstance(e, StatusEvent)]
    assert len(messages) == 15 and len(statuses) == 8 and len(served.got) == 24


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "SHA256=xyz", "upper"],
)
async def test_bad_or_missing_signature_is_401_and_nothing_is_dispatched(
    served: Served, signature: Optional[str]
) -> None:
    body = encode(text_payload())
    if signature == "upper":
        signature = "sha256=" + sign(body)[7:].upper()
    status, _ = await served.post(body, signature)
    assert status == 401
    await served.receiver.drain()
    assert served.got == []
    # Nothing was recorded as seen either: the genuine delivery still goes through.
    assert (await served.post(body))[0] == 200
    await served.receiver.drain()
    assert len(served.got) == 1


async def test_not_json_is_400(served: Served) -> None:
    assert (await served.post(b"{not json"))[0] == 400
    assert (await served.post(b'{"object": "page", "entry": []}'))[0] == 400
    await served.receiver.drain()
    assert served.got == []


async def test_oversized_body_is_413_without_parsing(served: Served) -> None:
    body = b'{"object":"whatsapp_business_account","entry":[],"pad":"' + b"x" * (1 << 20) + b'"}'
    headers = {"X-Hub-Signature-256": sign(body)}
    # With a Content-Length: refused before reading.
    async with served.session.post(served.url, data=io.BytesIO(body), headers=headers) as resp:
        assert resp.status == 413

    # Chunked (no Content-Length): refused once the limit is crossed while streaming.
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 64 * 1024):
            yield body[i : i + 64 * 1024]

    async with served.session.post(served.url, data=chunks(), headers=headers) as resp:
        assert resp.status == 413
    await served.receiver.drain()
    assert served.got == []


async def test_duplicates_are_dropped(served: Served) -> None:
    body = encode(text_payload("wamid.dup"))
    assert (await served.post(body))[0] == 200
    assert (await served.post(body))[0] == 200  # answered 200 so Meta stops retrying
    await served.receiver.drain()
    assert [e.message_id for e in served.got if isinstance(e, MessageEvent)] == ["wamid.dup"]


async def test_answer_comes_before_a_slow_handler_finishes() -> None:
    release = asyncio.Event()
    finished: list[str] = []
    handlers = WebhookHandlers()

    @handlers.on_message
    async def slow(ev: MessageEvent) -> None:
        await release.wait()
        finished.append(ev.message_id)

    receiver = WebhookReceiver(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, handlers=handlers)
    async for s in _serve(receiver):
        status, _ = await s.post(encode(text_payload("wamid.slow")))
        assert status == 200 and finished == []  # answered while the handler still waits
        release.set()
        await receiver.drain()
        assert finished == ["wamid.slow"]


async def test_dedup_across_a_restart_with_sqlite(tmp_path: Path) -> None:
    body = encode(text_payload("wamid.persist"))
    path = tmp_path / "dedup.sqlite"
    for expected in (["wamid.persist"], []):
        store = SqliteDedupStore(path)
        receiver, got = _receiver(dedup=store)
        async for s in _serve(receiver):
            assert (await s.post(body))[0] == 200
            await receiver.drain()
        await store.close()
        assert [e.message_id for e in got if isinstance(e, MessageEvent)] == expected


async def test_handle_post_returns_the_new_events() -> None:
    receiver, _ = _receiver()
    body = encode(text_payload("wamid.x"))
    status, events = await receiver.handle_post(body, sign(body))
    assert status == 200 and [e.message_id for e in events] == ["wamid.x"]  # type: ignore[union-attr]
    assert await receiver.handle_post(body, sign(body)) == (200, [])
    assert await receiver.handle_post(body, None) == (401, [])
    await receiver.drain()


def test_missing_app_secret_is_a_configuration_error() -> None:
    for secret in (None, ""):
        with pytest.raises(ConfigurationError, match="app secret"):
            WebhookReceiver(
                app_secret=secret, verify_token=VERIFY_TOKEN, handlers=WebhookHandlers()
            )


async def test_insecure_mode_warns_loudly_and_accepts_unsigned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="whatsapp.cloud.webhooks"):
        receiver, got = _receiver(app_secret=None, insecure_skip_signature=True)
    assert any("INSECURE" in r.getMessage() for r in caplog.records)
    status, _ = await receiver.handle_post(encode(text_payload()), None)
    assert status == 200
    await receiver.drain()
    assert len(got) == 1


async def test_secrets_never_reach_logs_or_repr(caplog: pytest.LogCaptureFixture) -> None:
    receiver, _ = _receiver()
    assert APP_SECRET not in repr(receiver) and VERIFY_TOKEN not in repr(receiver)
    with caplog.at_level(logging.DEBUG):
        async for s in _serve(receiver):
            body = encode(text_payload())
            await s.post(body)
            await s.post(body, "sha256=" + "1" * 64)
            await s.post(b"junk")
            good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "7"}
            for params in (good, {"hub.verify_token": "guess", "hub.challenge": "7"}):
                async with s.session.get(s.url, params=params) as resp:
                    await resp.read()
            await receiver.drain()
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert caplog.records  # the paths did log something
    assert APP_SECRET not in text and VERIFY_TOKEN not in text


def test_webhook_app_accepts_an_object_with_a_webhooks_receiver() -> None:
    receiver, _ = _receiver()

    class Client:
        webhooks = receiver

    app = webhook_app(Client(), path="/hook")
    assert {r.resource.canonical for r in app.router.routes() if r.resource} == {"/hook"}
    with pytest.raises(ConfigurationError):
        webhook_app(object())


class SeenOnly:
    """A third-party store with only ``seen`` (no ``seen_many``)."""

    def __init__(self, fail: bool = False) -> None:
        self.keys: set[tuple[str, str]] = set()
        self.fail = fail

    async def seen(self, key: tuple[str, str]) -> bool:
        if self.fail:
            raise OSError("store unavailable")
        was = key in self.keys
        self.keys.add(key)
        return was


async def test_a_store_with_only_seen_is_used_per_key() -> None:
    store = SeenOnly()
    receiver, got = _receiver(dedup=store)
    body = encode(batch_payload())
    assert (await receiver.handle_post(body, sign(body)))[0] == 200
    status, again = await receiver.handle_post(body, sign(body))
    # Only the error event comes again: it carries no id to recognise it by.
    assert status == 200 and [e.kind for e in again] == ["error"]
    await receiver.drain()
    assert len(got) == 25 and len(store.keys) == 23


async def test_a_failing_duplicate_record_answers_503_and_dispatches_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver, got = _receiver(dedup=SeenOnly(fail=True))
    body = encode(text_payload())
    with caplog.at_level(logging.ERROR, logger="whatsapp.cloud.webhooks"):
        assert await receiver.handle_post(body, sign(body)) == (503, [])
    await receiver.drain()
    assert got == [] and any("503" in r.getMessage() for r in caplog.records)


async def test_drain_survives_a_cancelled_dispatch() -> None:
    handlers = WebhookHandlers()

    @handlers.on_message
    async def stuck(ev: MessageEvent) -> None:
        await asyncio.sleep(3600)

    receiver = WebhookReceiver(app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, handlers=handlers)
    body = encode(text_payload())
    assert (await receiver.handle_post(body, sign(body)))[0] == 200
    (task,) = receiver._tasks
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.wait_for(receiver.drain(), timeout=10)
    assert task.cancelled() and not receiver._tasks
