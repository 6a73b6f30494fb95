"""The wac1 engine against the real reference server: two sessions talking to each other."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from tests.gateway._runtime_support import PASSWORD, Recorder, unique_name, wac1_factory
from tests.gateway._wac1_pair import Pair, open_pair, started
from tests.support import eventually, eventually_async
from whatsapp_client import errors
from whatsapp_client.gateway._engine import SendRefused
from whatsapp_client.gateway._errors import InvalidRecipient, InvalidRequest, RecipientNotFound
from whatsapp_client.gateway._wac1_config import Wac1Credentials
from whatsapp_client.server.testing import ServerHandle


@pytest.fixture
async def pair(chat_server: ServerHandle, tmp_path: Path) -> AsyncIterator[Pair]:
    async with open_pair(chat_server, tmp_path) as p:
        yield p


async def test_text_both_ways_with_receipts(pair: Pair) -> None:
    ra, rb = Recorder(), Recorder()
    a, _ = await started(pair, ra, "alice")
    b, bob = await started(pair, rb, "bob")
    bob_id = await a.resolve_recipient(bob)
    assert bob_id == b.user_id
    assert await a.resolve_recipient(bob_id) == bob_id
    sent = await a.send_text(bob_id, None, "hello bob", message_id="msg_stable-1")
    assert sent.engine_message_id == "msg_stable-1"
    assert sent.timestamp > 0
    await eventually(lambda: len(rb.messages) == 1, what="bob receives")
    got = rb.messages[0]
    assert (got.engine_message_id, got.text, got.type) == ("msg_stable-1", "hello bob", "text")
    assert got.sender == a.user_id
    assert got.sender_name is not None and got.sender_name.startswith("alice")
    await eventually(lambda: ("msg_stable-1", "delivered") in ra.receipts, what="delivered")


async def test_resend_of_a_known_id_is_not_sent_twice(pair: Pair) -> None:
    ra, rb = Recorder(), Recorder()
    a, _ = await started(pair, ra, "alice")
    b, _ = await started(pair, rb, "bob")
    assert b.user_id is not None
    first = await a.send_text(b.user_id, None, "once", message_id="msg_once")
    # A crash between the network send and finish_send makes the sender try again.
    again = await a.send_text(b.user_id, None, "once", message_id="msg_once")
    assert again.timestamp == first.timestamp
    await eventually(lambda: len(rb.messages) >= 1, what="bob receives")
    await a.send_text(b.user_id, None, "after", message_id="msg_after")
    await eventually(lambda: len(rb.messages) >= 2, what="the next one")
    assert [m.text for m in rb.messages] == ["once", "after"]


async def test_media_is_sent_as_an_attachment_and_received(pair: Pair, tmp_path: Path) -> None:
    ra, rb = Recorder(), Recorder()
    a, _ = await started(pair, ra, "alice")
    b, _ = await started(pair, rb, "bob")
    assert b.user_id is not None
    data = b"%PDF-1.4\n" + os.urandom(200_000)
    src = tmp_path / "report.pdf"
    src.write_bytes(data)
    await a.send_media(
        b.user_id,
        None,
        src,
        kind="document",
        mime="application/pdf",
        filename="report.pdf",
        caption="the report",
        message_id="msg_media-1",
    )
    await eventually(lambda: len(rb.messages) == 1, what="bob receives the file")
    got = rb.messages[0]
    assert (got.type, got.caption, got.text) == ("document", "the report", None)
    assert got.media is not None
    assert (got.media.mime, got.media.size, got.media.filename) == (
        "application/pdf",
        len(data),
        "report.pdf",
    )
    assert rb.media["msg_media-1"] == data
    # The engine's temporary folder is gone once the listener took the file.
    assert not any((tmp_path / b.user_id).parent.glob("**/incoming/*/*"))


async def test_recipients_are_checked(pair: Pair) -> None:
    ra = Recorder()
    a, _ = await started(pair, ra, "alice")
    with pytest.raises(RecipientNotFound):
        await a.resolve_recipient("nobody_here")
    with pytest.raises(RecipientNotFound):
        await a.resolve_recipient("00000000-0000-4000-8000-000000000000")
    with pytest.raises(InvalidRecipient):
        await a.resolve_recipient("Not A Name!")
    with pytest.raises(RecipientNotFound):
        await a.check_group("no-such-group")
    with pytest.raises(SendRefused):
        await a.send_text("00000000-0000-4000-8000-000000000000", None, "x", message_id="m1")


async def test_group_text_is_received(pair: Pair) -> None:
    ra, rb = Recorder(), Recorder()
    a, _ = await started(pair, ra, "alice")
    b, _ = await started(pair, rb, "bob")
    assert a._client is not None and b.user_id is not None
    group = await a._client.create_group("team", member_ids=[b.user_id])
    await b.check_group(group.id)
    await a.send_text(None, group.id, "hi team")
    await eventually(lambda: len(rb.messages) == 1, what="bob receives the group message")
    got = rb.messages[0]
    assert (got.group_id, got.text, got.sender) == (group.id, "hi team", a.user_id)


async def test_five_failures_in_a_row_mark_the_session_failed(pair: Pair) -> None:
    ra = Recorder()
    a, _ = await started(pair, ra, "alice")
    await pair.server.stop()
    await eventually(lambda: ra.last_status == "failed", timeout=20, what="failed")
    reason = ra.statuses[-1][1]
    assert reason is not None and "5" in reason
    assert ("disconnected", "connection lost; reconnecting") in ra.statuses
    assert not a.connected


async def test_unreachable_server_at_start_fails_after_the_attempts(pair: Pair) -> None:
    ra = Recorder()
    name = unique_name("carol")
    engine = pair.engine(name, ra, max_failures=3)
    await pair.server.stop()
    await engine.start()
    await eventually(lambda: ra.last_status == "failed", timeout=20, what="failed")
    assert [s for s, _ in ra.statuses].count("connecting") >= 1
    reason = ra.statuses[-1][1]
    assert reason is not None and reason.startswith("3 connection attempts failed")


async def test_wrong_password_fails_at_once(pair: Pair) -> None:
    ra, rb = Recorder(), Recorder()
    _, name = await started(pair, ra, "alice")
    factory = wac1_factory()
    config, _ = factory.validate(
        {"server_url": pair.server.url, "username": name, "password": PASSWORD}
    )
    creds = msgspec.json.encode(Wac1Credentials(password="wrong password", store_password="x"))
    engine = factory.build("ses_x", config, creds, pair.tmp / "other", rb, register=False)
    pair.engines.append(engine)
    await engine.start()
    await eventually(lambda: rb.last_status == "failed", what="failed")
    reason = rb.statuses[-1][1]
    assert reason is not None and "credentials" in reason


async def test_a_session_comes_back_after_stop_and_start(pair: Pair) -> None:
    ra, rb = Recorder(), Recorder()
    a, _ = await started(pair, ra, "alice")
    b, _ = await started(pair, rb, "bob")
    assert b.user_id is not None
    await b.stop()
    await a.send_text(b.user_id, None, "while you were away", message_id="msg_away")
    await b.start()
    await eventually(lambda: len(rb.messages) == 1, what="bob gets it after the restart")
    assert rb.messages[0].text == "while you were away"


@pytest.mark.parametrize(
    ("spec", "what"),
    [
        ({"username": "abc", "password": PASSWORD}, "server_url"),
        ({"server_url": "ftp://x", "username": "abc", "password": PASSWORD}, "http"),
        ({"server_url": "http://u:p@x", "username": "abc", "password": PASSWORD}, "credentials"),
        ({"server_url": "http://x", "username": "A B", "password": PASSWORD}, "username"),
        ({"server_url": "http://x", "username": "abc", "password": "short"}, "8"),
        ({"server_url": "http://x", "username": "abc"}, "password"),
    ],
)
def test_bad_creation_fields_are_refused(spec: dict[str, object], what: str) -> None:
    with pytest.raises(InvalidRequest, match=what):
        wac1_factory().validate(spec)


def test_credentials_never_show_in_a_repr() -> None:
    config, creds = wac1_factory().validate(
        {"server_url": "http://x", "username": "abc", "password": PASSWORD, "register": True}
    )
    assert config == {"server_url": "http://x", "username": "abc", "register": "true"}
    decoded = msgspec.json.decode(creds, type=Wac1Credentials)
    assert decoded.password == PASSWORD
    assert len(decoded.store_password) >= 40 and decoded.store_password != PASSWORD
    assert PASSWORD not in repr(decoded) and decoded.store_password not in repr(decoded)


async def test_a_revoked_token_logs_in_again(pair: Pair) -> None:
    ra = Recorder()
    a, _ = await started(pair, ra, "alice")
    client = a._client
    assert client is not None
    async with aiohttp.ClientSession() as http:
        answer = await http.post(
            pair.server.url + "/api/auth/logout",
            headers={"Authorization": f"Bearer {client._http.token}"},
        )
        assert answer.status == 204
    await client._conn.drop()
    await eventually(lambda: a._client is not client and a.connected, what="a fresh login")
    assert ra.last_status == "connected"
    assert any(r == "the server refused the token; logging in again" for _, r in ra.statuses)


async def test_a_malformed_recipient_is_refused_even_before_login(pair: Pair) -> None:
    engine = pair.engine(unique_name("dave"), Recorder())
    with pytest.raises(InvalidRecipient):
        await engine.resolve_recipient("Not A Name!")


async def test_small_media_goes_inline_under_the_gateway_id(pair: Pair, tmp_path: Path) -> None:
    ra, rb = Recorder(), Recorder()
    a, _ = await started(pair, ra, "alice")
    b, _ = await started(pair, rb, "bob")
    assert b.user_id is not None
    src = tmp_path / "tiny.png"
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500))
    sent = await a.send_media(
        b.user_id,
        None,
        src,
        kind="image",
        mime="image/png",
        filename=None,
        caption=None,
        message_id="msg_inline",
    )
    assert sent.engine_message_id == "msg_inline"
    await eventually(lambda: len(rb.messages) == 1, what="bob has the image")
    assert rb.messages[0].engine_message_id == "msg_inline"
    assert rb.media["msg_inline"] == src.read_bytes()


@pytest.mark.parametrize(
    ("failure", "code", "attempts"),
    [
        (
            errors.AttachmentCorruptError("bad blob", code="attachment_corrupt"),
            "media_download_failed",
            1,
        ),
        (errors.ConnectionError("down"), "media_download_failed", 3),
        (OSError(errno.ENOSPC, "No space left on device"), "storage_full", 1),
    ],
)
async def test_media_that_cannot_be_fetched_is_reported_and_the_message_kept(
    pair: Pair, tmp_path: Path, failure: Exception, code: str, attempts: int
) -> None:
    ra, rb = Recorder(), Recorder()
    a, _ = await started(pair, ra, "alice")
    b, _ = await started(pair, rb, "bob")
    assert b.user_id is not None and b._client is not None
    tries: list[int] = []

    async def download(*args: Any, **kwargs: Any) -> Any:
        tries.append(1)
        raise failure

    b._client.download = download  # type: ignore[method-assign]
    src = tmp_path / "big.pdf"
    src.write_bytes(b"%PDF-1.4\n" + os.urandom(100_000))
    await a.send_media(
        b.user_id, None, src, kind="document", mime="application/pdf",
        filename="big.pdf", caption="see", message_id="msg_big",
    )  # fmt: skip
    await eventually(lambda: len(rb.messages) == 1, timeout=15, what="the message arrives")
    assert (rb.messages[0].caption, rb.messages[0].media) == ("see", None)
    assert [(c, ctx) for c, _, ctx in rb.errors] == [(code, {"message_id": "msg_big"})]
    assert len(tries) == attempts


async def test_unsealed_incoming_media_left_by_a_crash_is_removed(pair: Pair) -> None:
    name = unique_name("erin")
    engine = pair.engine(name, Recorder())
    leftover = pair.tmp / name / "incoming" / "abc-1" / "photo.jpg"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"plaintext")
    await engine.start()
    assert not leftover.exists()


async def test_a_sent_that_came_before_the_wait_is_noticed(pair: Pair) -> None:
    ra, rb = Recorder(), Recorder()
    a, _ = await started(pair, ra, "alice")
    b, _ = await started(pair, rb, "bob")
    client = a._client
    assert client is not None and b.user_id is not None
    # The outbox sends the message (at connect, say) before any gateway send waits for it...
    await client.send_payload(b.user_id, {"type": "text", "text": "early"}, message_id="msg_race")

    async def confirmed() -> bool:
        return (await client.state_of("msg_race"))[0] == "sent"

    await eventually_async(confirmed, what="sent by the outbox")
    # ...and the worker's look at the store happened just before that 'sent' was recorded.
    real = client.state_of
    looks: list[str] = []

    async def stale(message_id: str) -> tuple[str, int]:
        looks.append(message_id)
        return ("queued", 0) if len(looks) == 1 else await real(message_id)

    client.state_of = stale  # type: ignore[method-assign]
    result = await asyncio.wait_for(
        a.send_text(b.user_id, None, "early", message_id="msg_race"), 10
    )
    assert result.engine_message_id == "msg_race" and result.timestamp > 0
    await eventually(lambda: len(rb.messages) == 1, what="bob has it")
    assert [m.text for m in rb.messages] == ["early"]


async def test_the_engine_asks_the_server_once_per_recipient(pair: Pair) -> None:
    a, _ = await started(pair, Recorder(), "alice")
    b, bob = await started(pair, Recorder(), "bob")
    client = a._client
    assert client is not None
    calls: list[str] = []
    find_user, get_user = client.find_user, client.get_user

    async def counting_find(username: str):  # type: ignore[no-untyped-def]
        calls.append(username)
        return await find_user(username)

    async def counting_get(user_id: str):  # type: ignore[no-untyped-def]
        calls.append(user_id)
        return await get_user(user_id)

    client.find_user = counting_find  # type: ignore[method-assign]
    client.get_user = counting_get  # type: ignore[method-assign]
    for _ in range(3):
        assert await a.resolve_recipient(bob) == b.user_id
        assert await a.resolve_recipient(str(b.user_id)) == b.user_id
    assert calls == [bob, b.user_id]
