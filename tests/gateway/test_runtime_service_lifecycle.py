"""The Gateway service's sessions over their life: stopped and restarted, back after a
gateway restart, updated and deleted, checked at creation, one account per session,
reconnecting; on real wac1 sessions and the reference server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway._runtime_support import PASSWORD, make_vault
from tests.gateway._service_world import World, accepted
from tests.support import eventually_async
from whatsapp_client.gateway._errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    SessionNotConnected,
)
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._requests import (
    CreateSession,
    SendSpec,
    SessionPatch,
    WebhookSpec,
)
from whatsapp_client.gateway._service import Gateway
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._sqlite import SqliteStorage
from whatsapp_client.gateway._wac1_config import Wac1Factory


async def test_stopped_session_refuses_and_restart_sends_what_was_queued(world: World) -> None:
    a = await world.session("alice")
    b = await world.session("bob")
    stopped = await world.gateway.stop_session(a.id)
    assert (stopped.status, stopped.running) == ("stopped", False)
    with pytest.raises(SessionNotConnected):
        await world.gateway.send(a.id, SendSpec(to=b.user_id, text="x"))
    # Stop the receiver instead: the sender still queues for it.
    await world.gateway.restart_session(a.id)
    await eventually_async(lambda: world.has_status(a.id, "connected"), what="back")
    await world.gateway.stop_session(b.id)
    accepted(await world.gateway.send(a.id, SendSpec(to=b.user_id, text="while away")))
    await world.gateway.restart_session(b.id)
    await eventually_async(lambda: world.history_has(b.id, 1), what="delivered after restart")


async def test_sessions_come_back_after_a_gateway_restart(world: World) -> None:
    a = await world.session("alice")
    b = await world.session("bob")
    await world.gateway.stop_session(b.id)
    await world.gateway.close()  # closes the storage; the new gateway opens it again
    world.gateway = world.make()
    await world.gateway.start()
    await eventually_async(lambda: world.has_status(a.id, "connected"), what="a back")
    assert await world.has_status(b.id, "stopped")
    assert world.gateway.sessions.runtime(b.id) is None


async def test_update_and_delete(world: World) -> None:
    a = await world.session(
        "alice", webhooks=[WebhookSpec(url="http://127.0.0.1:9/hook", events=["error"])]
    )
    hooks = await world.gateway.list_webhooks(a.id)
    assert len(hooks) == 1 and hooks[0].secrets[0].startswith("whsec_")
    record, endpoints = await world.gateway.update_session(
        a.id, SessionPatch(name="renamed", rate_limit_per_minute=5)
    )
    assert (record.name, record.rate_limit_per_minute) == ("renamed", 5)
    assert endpoints == hooks
    runtime = world.gateway.sessions.runtime(a.id)
    assert runtime is not None and runtime.worker is not None
    assert runtime.worker.bucket.rate_per_minute == 5
    with pytest.raises(InvalidRequest):
        await world.gateway.update_session(a.id, SessionPatch(rate_limit_per_minute=0))
    with pytest.raises(InvalidRequest):
        await world.gateway.update_session(
            a.id, SessionPatch(webhooks=[WebhookSpec(url="ftp://x")])
        )
    assert (await world.gateway.get_session(a.id)).name == "renamed"
    folder = world.gateway.sessions.directory(a.id)
    assert folder.exists()
    await world.gateway.delete_session(a.id)
    assert not folder.exists()
    assert await world.storage.get_session(a.id) is None
    with pytest.raises(NotFound):
        await world.storage.get_credentials(a.id)
    with pytest.raises(NotFound):
        await world.gateway.get_session(a.id)
    with pytest.raises(NotFound):
        await world.gateway.delete_session(a.id)


async def test_creation_is_checked_before_anything_is_stored(world: World) -> None:
    bad = [
        CreateSession(name="x", engine="cloud"),
        CreateSession(
            name=" ", engine="wac1", server_url=world.server.url, username="abc", password=PASSWORD
        ),
        CreateSession(
            name="x", engine="wac1", server_url="nope", username="abc", password=PASSWORD
        ),
        CreateSession(
            name="x",
            engine="wac1",
            server_url=world.server.url,
            username="abc",
            password=PASSWORD,
            rate_limit_per_minute=0,
        ),
        CreateSession(
            name="x",
            engine="wac1",
            server_url=world.server.url,
            username="abc",
            password=PASSWORD,
            webhooks=[WebhookSpec(url="http://u:p@example.com/")],
        ),
    ]
    for spec in bad:
        with pytest.raises(InvalidRequest):
            await world.gateway.create_session(spec)
    assert await world.storage.list_sessions() == []


async def test_one_account_runs_in_one_session_only(world: World) -> None:
    a = await world.session("alice")
    again = CreateSession(
        name="another name",
        engine="wac1",
        server_url=a.config["server_url"],
        username=a.config["username"],
        password=PASSWORD,
    )
    with pytest.raises(Conflict):
        await world.gateway.create_session(again)
    assert [s.id for s in await world.storage.list_sessions()] == [a.id]


def test_the_default_engines_follow_the_settings(tmp_path: Path) -> None:
    settings = GatewaySettings(data_dir=str(tmp_path), max_reconnect_failures=7)
    vault = make_vault()
    gateway = Gateway(settings, SqliteStorage(tmp_path, vault), vault, GatewayMetrics())
    factory = gateway.sessions.factories["wac1"]
    assert isinstance(factory, Wac1Factory)
    assert factory.options.max_failures == 7


async def test_a_reconnecting_session_still_queues(world: World) -> None:
    await world.gateway.close()
    world.max_failures = 1000
    world.gateway = world.make()
    await world.gateway.start()
    a = await world.session("alice")
    b = await world.session("bob")
    assert b.user_id is not None
    await world.server.stop()
    await eventually_async(lambda: world.has_status(a.id, "disconnected"), what="reconnecting")
    sent = accepted(await world.gateway.send(a.id, SendSpec(to=b.user_id, text="queued")))
    with pytest.raises(SessionNotConnected):  # a name cannot be resolved meanwhile
        await world.gateway.send(a.id, SendSpec(to=b.config["username"], text="x"))
    await world.server.start()
    await eventually_async(lambda: world.history_has(b.id, 1), timeout=20, what="sent once back")
    assert (await world.history(b.id))[0].text == "queued"

    async def left_the_queue() -> bool:
        return (await world.message(a.id, sent["id"])).status != "queued"

    await eventually_async(left_the_queue, what="sent")


async def test_a_patch_keeping_a_webhook_url_keeps_the_endpoint(world: World) -> None:
    a = await world.session("alice", webhooks=[WebhookSpec(url="http://127.0.0.1:9/one")])
    [before] = await world.gateway.list_webhooks(a.id)
    _, after = await world.gateway.update_session(
        a.id,
        SessionPatch(
            webhooks=[
                WebhookSpec(url="http://127.0.0.1:9/one", events=["error"]),
                WebhookSpec(url="http://127.0.0.1:9/two"),
            ]
        ),
    )
    assert (after[0].id, after[0].secrets, after[0].events) == (
        before.id,
        before.secrets,
        ["error"],
    )
    assert after[1].id != before.id and after[1].secrets[0].startswith("whsec_")
    assert await world.gateway.list_webhooks(a.id) == after
