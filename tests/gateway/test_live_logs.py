"""The log ring buffer (bound, levels, sessions, paging, nothing secret) and
``/api/v1/logs`` on the real app: filters, paging, what a restricted key sees; a failed
send is logged with its reason, masked recipient and retry context."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.gateway._api_support import GatewayHandle, create_session, wait_status
from tests.gateway._live_support import restricted_key
from tests.gateway.test_runtime_sender import Rig
from tests.support import eventually_async
from whatsapp_client.gateway._engine import SendRefused
from whatsapp_client.gateway._log_buffer import LogBuffer, mask_recipient
from whatsapp_client.gateway._logs import log_context
from whatsapp_client.server.testing import ServerHandle

log = logging.getLogger("whatsapp_client.gateway.test_live")


@pytest.fixture
def rings() -> Iterator[Callable[[int], LogBuffer]]:
    """Makes installed log buffers of a given capacity; uninstalls them after the test."""
    made: list[LogBuffer] = []

    def make(capacity: int) -> LogBuffer:
        ring = LogBuffer(capacity)
        ring.install()
        made.append(ring)
        return ring

    try:
        yield make
    finally:
        for ring in made:
            ring.uninstall()


def test_the_ring_keeps_the_newest_records_up_to_its_bound(
    rings: Callable[[int], LogBuffer],
) -> None:
    buffer = rings(5)
    for i in range(12):
        log.warning("record %d", i)
    kept = buffer.entries()
    assert [e.message for e in kept] == [f"record {i}" for i in range(11, 6, -1)]
    assert [e.id for e in kept] == list(range(12, 7, -1))
    assert all(e.level == "WARNING" and e.logger == log.name for e in kept)


def test_levels_sessions_and_paging(rings: Callable[[int], LogBuffer]) -> None:
    ring = rings(100)
    log.debug("not kept: DEBUG may carry details of secrets")
    log.info("gateway-wide")
    with log_context(session_id="ses_a"):
        log.info("a info")
        log.error("a error")
    log.warning("b warning", extra={"session_id": "ses_b", "message_id": "msg_1"})
    assert [e.message for e in ring.entries()] == [
        "b warning",
        "a error",
        "a info",
        "gateway-wide",
    ]
    warnings, end = ring.query(level="WARNING")
    assert [e.message for e in warnings] == ["b warning", "a error"] and end is None
    of_a, _ = ring.query(session_id="ses_a")
    assert [(e.message, e.session_id) for e in of_a] == [
        ("a error", "ses_a"),
        ("a info", "ses_a"),
    ]
    b = ring.query(session_id="ses_b")[0][0]
    assert (b.session_id, b.message_id) == ("ses_b", "msg_1")
    first, following = ring.query(limit=3)
    assert [e.message for e in first] == ["b warning", "a error", "a info"]
    assert following == first[-1].id
    second, after = ring.query(limit=3, before=following)
    assert [e.message for e in second] == ["gateway-wide"] and after is None
    only_a, _ = ring.query(visible=lambda sid: sid == "ses_a")
    assert {e.session_id for e in only_a} == {"ses_a"}


def test_no_secret_extra_and_no_traceback_enters_a_record(
    rings: Callable[[int], LogBuffer],
) -> None:
    buffer = rings(5)
    try:
        raise ValueError("bad value")
    except ValueError:
        log.exception(
            "login failed",
            extra={"password": "hunter2", "access_token": "t0k", "api_key": "k", "email": "a@b"},
        )
    (entry,) = buffer.entries()
    assert entry.context == {"email": "a@b"}
    assert entry.error == "ValueError: bad value"
    assert "hunter2" not in repr(entry) and "Traceback" not in repr(entry)


def test_recipients_are_masked() -> None:
    assert mask_recipient("+33612345678") == "+336…78"
    assert mask_recipient("0b9c7a4e-1f2d-4c3b-9a8e-7d6c5b4a3f21") == "0b9c7a4e…"
    assert mask_recipient("bob") == "…ob"
    assert mask_recipient(None) is None


async def test_a_failed_send_is_logged_with_reason_recipient_and_retry(
    tmp_path: Path, rings: Callable[[int], LogBuffer]
) -> None:
    ring = rings(50)
    rig = await Rig.create(tmp_path)
    try:
        rig.engine.failures = [ConnectionError("server busy"), SendRefused("recipient unknown")]
        rig.worker.start()
        mid = await rig.enqueue("hello")

        async def failed() -> bool:
            return (await rig.message(mid)).status == "failed"

        await eventually_async(failed, what="the send failed")
        records = [e for e in ring.entries() if e.message_id == mid]
        final, transient = records[0], records[1]
        assert (transient.level, transient.session_id) == ("WARNING", "ses_1")
        assert transient.error == "server busy"
        assert transient.context["attempt"] == 1
        assert str(transient.context["retry"]).startswith("in ")
        assert isinstance(transient.context["next_retry_at"], int)
        assert (final.level, final.error) == ("ERROR", "recipient unknown")
        assert final.context["attempt"] == 2
        assert final.context["retry"] == "none: the message is failed"
        assert final.context["recipient"] == "…er"  # "peer", masked
    finally:
        await rig.close()


async def test_the_logs_route_filters_pages_and_hides_other_sessions(
    gateway: GatewayHandle, chat_server: ServerHandle
) -> None:
    mine = (await create_session(gateway, chat_server.url))["id"]
    other = (await create_session(gateway, chat_server.url))["id"]
    for sid in (mine, other):
        await wait_status(gateway, sid, "connected")
    with log_context(session_id=mine):
        log.warning("warning of mine")
        log.info("info of mine")
    with log_context(session_id=other):
        log.error("error of the other")
    log.warning("warning of the gateway")

    everything = await gateway.call("GET", "/api/v1/logs", params={"limit": "1000"})
    assert everything.status == 200
    messages = [r["message"] for r in everything.body["items"]]
    assert messages[:4] == [
        "warning of the gateway",
        "error of the other",
        "info of mine",
        "warning of mine",
    ]
    ids = [r["id"] for r in everything.body["items"]]
    assert ids == sorted(ids, reverse=True)

    warnings = await gateway.call("GET", "/api/v1/logs", params={"level": "warning"})
    assert all(r["level"] in ("WARNING", "ERROR") for r in warnings.body["items"])
    assert "info of mine" not in [r["message"] for r in warnings.body["items"]]

    of_mine = await gateway.call("GET", "/api/v1/logs", params={"session_id": mine})
    assert {r["session_id"] for r in of_mine.body["items"]} == {mine}

    page = await gateway.call("GET", "/api/v1/logs", params={"limit": "2"})
    assert [r["message"] for r in page.body["items"]] == messages[:2]
    following = await gateway.call(
        "GET", "/api/v1/logs", params={"limit": "2", "before": str(page.body["next"])}
    )
    assert [r["message"] for r in following.body["items"]] == messages[2:4]

    key = await restricted_key(gateway, "read", [mine])
    narrow = await gateway.call("GET", "/api/v1/logs", key=key, params={"limit": "1000"})
    assert narrow.status == 200 and narrow.body["items"]
    assert {r["session_id"] for r in narrow.body["items"]} == {mine}
    refused = await gateway.call("GET", "/api/v1/logs", key=key, params={"session_id": other})
    assert (refused.status, refused.code) == (404, "not_found")

    for bad in ({"level": "LOUD"}, {"limit": "0"}, {"limit": "x"}, {"before": "-1"}):
        answer = await gateway.call("GET", "/api/v1/logs", params=bad)
        assert (answer.status, answer.code) == (400, "invalid_request"), bad
