"""Error paths of the client's parts: REST error mapping and retries, the handler registry,
logging helpers, server-refused messages, session timeouts."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.client.conftest import Registered, eventually
from whatsapp_client import errors
from whatsapp_client.client.events import EventRegistry
from whatsapp_client.client.frames import ErrorFrame
from whatsapp_client.client.http import HttpApi, error_from_response
from whatsapp_client.client.logging import redact, set_level
from whatsapp_client.client.sessions import validate_peer_id


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (401, "invalid_credentials", errors.AuthenticationError),
        (409, "username_taken", errors.UsernameTakenError),
        (400, "weak_password", errors.ValidationError),
        (404, "no_keys", errors.SessionNotFoundError),
        (401, "", errors.AuthenticationError),
        (403, "", errors.ForbiddenError),
        (404, "", errors.NotFoundError),
        (409, "", errors.ConflictError),
        (429, "", errors.RateLimitError),
        (422, "", errors.ValidationError),
        (502, "", errors.ServerError),
    ],
)
def test_error_mapping(status: int, code: str, cls: type[errors.WhatsAppError]) -> None:
    body = {"error": {"code": code, "message": "m"}} if code else None
    exc = error_from_response(status, body, 2.0)
    assert type(exc) is cls
    assert str(status) in str(exc)
    if cls is errors.RateLimitError:
        assert isinstance(exc, errors.RateLimitError)
        assert exc.retry_after == 2.0


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[str, dict[str, int]]]:
    hits = {"get": 0, "post": 0, "limited": 0}

    async def get(request: web.Request) -> web.Response:
        hits["get"] += 1
        if hits["get"] < 3:
            return web.json_response({"error": {"code": "oops", "message": "x"}}, status=503)
        return web.json_response({"ok": True})

    async def post(request: web.Request) -> web.Response:
        hits["post"] += 1
        return web.json_response({"error": {"code": "oops"}}, status=500)

    async def limited(request: web.Request) -> web.Response:
        hits["limited"] += 1
        if hits["limited"] == 1:
            return web.Response(status=429, headers={"Retry-After": "0.01"})
        return web.Response(status=204)

    async def notjson(request: web.Request) -> web.Response:
        return web.Response(text="<html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/flaky", get)
    app.router.add_post("/flaky", post)
    app.router.add_put("/limited", limited)
    app.router.add_get("/html", notjson)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", hits
    finally:
        await runner.cleanup()


async def test_idempotent_calls_are_retried(flaky: tuple[str, dict[str, int]]) -> None:
    url, hits = flaky
    api = HttpApi(url, timeout=5, retries=3, backoff=0.001)
    try:
        assert await api.request("GET", "/flaky", auth=False) == {"ok": True}
        assert hits["get"] == 3
        with pytest.raises(errors.ServerError):
            await api.request("POST", "/flaky", auth=False)
        assert hits["post"] == 1  # not idempotent: no retry
        assert await api.request("PUT", "/limited", auth=False) is None
        assert hits["limited"] == 2
        with pytest.raises(errors.ServerError, match="not JSON"):
            await api.request("GET", "/html", auth=False)
        with pytest.raises(errors.AuthenticationError):
            await api.request("GET", "/flaky")
    finally:
        await api.close()
    api2 = HttpApi("http://127.0.0.1:9", timeout=2, retries=1, backoff=0.001)
    try:
        with pytest.raises(errors.ConnectionError):
            await api2.request("GET", "/x", auth=False)
    finally:
        await api2.close()


async def test_event_registry() -> None:
    reg = EventRegistry()
    seen: list[object] = []

    @reg.on("message")
    def h(x: object) -> None:
        seen.append(x)

    async def boom(x: object) -> None:
        raise ValueError("bug")

    reg.add("message", boom)
    await reg.emit("message", 1)
    assert seen == [1]
    reg.remove("message", h)
    reg.remove("message", boom)
    assert not reg.has("message")
    with pytest.raises(errors.ValidationError, match="unknown event"):
        reg.add("nope", h)
    with pytest.raises(errors.ValidationError, match="callable"):
        reg.add("message", 5)  # type: ignore[arg-type]
    reg.add_event("custom")
    reg.add("custom", h)
    await reg.emit("custom", 2)
    assert seen == [1, 2]


def test_logging_helpers() -> None:
    assert redact(None) == "<empty>"
    assert redact("short") == "<5 chars>"
    assert redact("a" * 40) == "aaaa...<40 chars>"
    before = logging.getLogger("whatsapp_client").level
    set_level("debug")
    assert logging.getLogger("whatsapp_client").level == logging.DEBUG
    set_level(None)
    assert logging.getLogger("whatsapp_client").level == logging.DEBUG
    logging.getLogger("whatsapp_client").setLevel(before)


def test_peer_id_validation() -> None:
    for bad in ["", "  ", "x" * 300, "a\nb", 5, None]:
        with pytest.raises(errors.ValidationError):
            validate_peer_id(bad)
    assert validate_peer_id("ok") == "ok"


async def test_server_refusal_of_a_queued_message(registered: Registered) -> None:
    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user_id
    statuses: list[tuple[str, str]] = []
    alice.on_message_status(lambda mid, st: statuses.append((mid, st)))
    await alice.disconnect()
    m = await alice.send_message(bob.user_id, "will be refused")
    assert m.status == "pending"
    assert alice._outbox is not None
    await alice._on_frame(ErrorFrame(code="user_not_found", message="gone", id=m.id))
    await eventually(lambda: (m.id, "failed") in statuses)
    assert m.status == "failed"
    assert await alice.pending_messages() == 0
    # A transient refusal keeps the message queued.
    m2 = await alice.send_message(bob.user_id, "later")
    await alice._on_frame(ErrorFrame(code="rate_limited", message="slow", id=m2.id))
    assert await alice.pending_messages() == 1
    # An error frame without an id goes to on_error.
    errs: list[Exception] = []
    alice.on_error(errs.append)
    await alice._on_frame(ErrorFrame(code="bad_frame", message="?"))
    await eventually(lambda: len(errs) == 1)
    assert isinstance(errs[0], errors.ServerError)
    got: list[str] = []
    bob.on_message(lambda msg: got.append(msg.content))
    await alice.connect()
    await eventually(lambda: got == ["later"])


async def test_session_timeout_starts_a_fresh_session(registered: Registered) -> None:
    alice = await registered("alice", session_timeout_days=1)
    bob = await registered("bob")
    assert bob.user_id
    assert alice.user_id
    got: list[str] = []
    bob.on_message(lambda msg: got.append(msg.content))
    await alice.send_message(bob.user_id, "one")
    store = alice._store()
    assert alice._sessions is not None
    before = (await alice.get_prekey_status()).available
    old = str(int(time.time()) - 3 * 86400).encode()
    store.kv_set("session_used:" + bob.user_id, old)
    alice._sessions.known.clear()
    bob_before = (await bob.get_prekey_status()).available
    await alice.send_message(bob.user_id, "two")
    await eventually(lambda: got == ["one", "two"])
    # a fresh X3DH consumed one more of bob's one-time prekeys
    assert (await bob.get_prekey_status()).available == bob_before - 1
    assert (await alice.get_prekey_status()).available == before


async def test_wait_until_connected_times_out(registered: Registered) -> None:
    alice = await registered("alice")
    await alice.disconnect()
    assert await alice.wait_until_connected(0.05) is False
    await alice.connect()
    assert await alice.wait_until_connected(1) is True


async def test_close_while_a_send_waits_returns_it_pending(registered: Registered) -> None:
    import asyncio

    from whatsapp_client.client.frames import Sent, Status

    alice = await registered("alice")
    bob = await registered("bob")
    assert bob.user_id

    async def swallow(frame: Sent | Status) -> None:
        return None

    # Neither the server's "sent" nor bob's "delivered" (bob may acknowledge before alice
    # closes) reaches alice's outbox.
    alice._frame_handlers[Sent] = swallow
    alice._frame_handlers[Status] = swallow
    task = asyncio.ensure_future(alice.send_message(bob.user_id, "in flight"))
    # Safely in the outbox (stored, handed to the socket), its caller still waiting.
    await eventually(lambda: alice._outbox is not None and bool(alice._outbox.inflight))
    await alice.close()
    message = await task
    assert message.status == "pending"


def test_client_built_before_the_loop_runs(tmp_path: Path) -> None:
    import asyncio

    from tests.client.conftest import CLIENT_OPTIONS, PASSWORD, SERVER_SETTINGS, unique_name
    from whatsapp_client.client import WhatsAppClient
    from whatsapp_client.server.testing import server_in_thread

    with server_in_thread(str(tmp_path / "srv"), **SERVER_SETTINGS) as srv:
        client = WhatsAppClient(
            server_url=srv.url, storage_path=str(tmp_path / "c"), **CLIENT_OPTIONS
        )

        async def go() -> bool:
            async with client:
                await client.register(unique_name("early"), PASSWORD)
                await client.disconnect()
                await client.connect()
                return await client.wait_until_connected(5)

        assert asyncio.run(go()) is True
