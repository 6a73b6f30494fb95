"""Client pieces without the simulator: classification by code, backoff, timeouts and
connection errors (a tiny aiohttp app), builders' validation, recipients."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.cloud._client_support import SleepRecorder
from whatsapp_client.cloud._codes import CODE_TABLE, classify, parse_retry_after
from whatsapp_client.cloud._errors import (
    AuthError,
    CloudAPIError,
    IntegrityError,
    MediaNotFoundError,
    RateLimitError,
    TemplateError,
    TransportError,
    ValidationError,
)
from whatsapp_client.cloud._interactive import ListRow, ListSection, list_payload
from whatsapp_client.cloud._media_limits import check_media, kind_for_mime
from whatsapp_client.cloud._models import SuccessResponse
from whatsapp_client.cloud._payloads import normalize_recipient, text_payload
from whatsapp_client.cloud._transport import GraphTransport
from whatsapp_client.errors import WhatsAppError


def graph_error(code: int, subcode: int | None = None) -> bytes:
    err: dict[str, object] = {"message": "boom", "type": "OAuthException", "code": code}
    if subcode is not None:
        err["error_subcode"] = subcode
    err["error_data"] = {"details": "why"}
    err["fbtrace_id"] = "TRACE"
    return json.dumps({"error": err}).encode()


@pytest.mark.parametrize("code", sorted(CODE_TABLE))
def test_every_code_in_the_table_classifies_by_code(code: int) -> None:
    rule = CODE_TABLE[code]
    # a deliberately misleading HTTP status: the code decides, not the status
    err = classify(400, graph_error(code), {})
    assert type(err) is rule.cls
    assert err.code == code
    assert err.details == "why"
    assert err.fbtrace_id == "TRACE"
    assert isinstance(err, WhatsAppError)


@pytest.mark.parametrize(
    ("status", "body", "cls", "retryable"),
    [
        (500, b"<html>oops</html>", CloudAPIError, True),
        (502, b"", CloudAPIError, True),
        (401, b"nope", AuthError, False),
        (429, b"", RateLimitError, True),
        (400, b"not json", CloudAPIError, False),
        (403, graph_error(250), AuthError, False),
        (500, graph_error(1), CloudAPIError, True),
        (400, graph_error(1), CloudAPIError, False),
        (500, graph_error(3), AuthError, False),
        (400, graph_error(131048), IntegrityError, False),
        (404, graph_error(132001), TemplateError, False),
    ],
)
def test_status_only_decides_without_a_known_code(
    status: int, body: bytes, cls: type[CloudAPIError], retryable: bool
) -> None:
    err = classify(status, body, {})
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.status == status


def test_media_not_found_for_code_100_subcode_33_only_on_media_calls() -> None:
    assert type(classify(400, graph_error(100, 33), {}, media=True)) is MediaNotFoundError
    assert type(classify(400, graph_error(100, 33), {})) is CloudAPIError
    assert type(classify(400, graph_error(100), {}, media=True)) is CloudAPIError


def test_retry_after_header_seconds_and_date() -> None:
    err = classify(400, graph_error(130429), {"retry-after": "3"})
    assert err.retry_after == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") == 0.0


def test_full_jitter_backoff_is_capped() -> None:
    t = GraphTransport("tok", backoff_base=0.5, backoff_max=4.0, rng=lambda: 1.0)
    assert [t.backoff_delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    zero = GraphTransport("tok", rng=lambda: 0.0)
    assert zero.backoff_delay(3) == 0.0


@pytest.fixture
async def slow_app() -> AsyncIterator[tuple[str, list[int]]]:
    """A server whose first answers hang past the client's timeout, then answer 200."""
    hits: list[int] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(1)
        if len(hits) <= 2:
            await asyncio.sleep(1)
        return web.json_response({"success": True})

    app = web.Application()
    app.router.add_post("/v23.0/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", hits
    await runner.cleanup()


async def test_timeouts_are_retried(slow_app: tuple[str, list[int]]) -> None:
    url, hits = slow_app
    sleeps = SleepRecorder()
    t = GraphTransport("tok", base_url=url, timeout=0.2, max_retries=3, sleep=sleeps)
    try:
        answer = await t.call("POST", "1/messages", SuccessResponse, endpoint="messages")
    finally:
        await t.close()
    assert answer.success
    assert len(hits) == 3
    assert len(sleeps.waits) == 2


async def test_timeouts_after_the_last_retry_are_transport_error(
    slow_app: tuple[str, list[int]],
) -> None:
    url, hits = slow_app
    t = GraphTransport("tok", base_url=url, max_retries=1, sleep=SleepRecorder())
    try:
        with pytest.raises(TransportError, match="timed out"):
            await t.call("POST", "1/messages", SuccessResponse, endpoint="messages", timeout=0.2)
    finally:
        await t.close()
    assert len(hits) == 2


async def test_connection_refused_is_retried_then_transport_error() -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = SleepRecorder()
    t = GraphTransport("tok", base_url=f"http://127.0.0.1:{port}", max_retries=2, sleep=sleeps)
    try:
        with pytest.raises(TransportError, match="3 attempt"):
            await t.call("GET", "1", SuccessResponse, endpoint="phone_number")
    finally:
        await t.close()
    assert len(sleeps.waits) == 2


@pytest.mark.parametrize(
    ("raw", "wa_id"),
    [
        ("+15551234567", "15551234567"),
        ("15551234567", "15551234567"),
        (" +4915112345678", "4915112345678"),
    ],
)
def test_recipients_are_sent_as_digits(raw: str, wa_id: str) -> None:
    assert normalize_recipient(raw) == wa_id
    assert text_payload(raw, "x")["to"] == wa_id


FULL_WIDTH = "\uff11\uff15\uff15\uff15\uff11\uff12\uff13\uff14\uff15\uff16\uff17"


@pytest.mark.parametrize(
    "bad", ["", "+", "1555-123-4567", "+0123456789", "+1 555 123 4567", FULL_WIDTH]
)
def test_bad_recipients(bad: str) -> None:
    with pytest.raises(ValidationError):
        normalize_recipient(bad)


def test_list_validation() -> None:
    rows = [ListRow(f"r{i}", f"Row {i}") for i in range(11)]
    with pytest.raises(ValidationError, match="1 to 10 rows"):
        list_payload("15551234567", "b", "Open", [ListSection(rows)])
    with pytest.raises(ValidationError, match="section title"):
        list_payload("15551234567", "b", "Open", [ListSection(rows[:1]), ListSection(rows[1:2])])
    with pytest.raises(ValidationError, match="row title"):
        list_payload("15551234567", "b", "Open", [ListSection([ListRow("a", "x" * 25)])])
    ok = list_payload("15551234567", "b", "Open", [{"rows": [{"id": "a", "title": "A"}]}])
    assert ok["interactive"]["action"]["sections"] == [{"rows": [{"id": "a", "title": "A"}]}]


def test_media_kind_and_limits() -> None:
    assert kind_for_mime("audio/ogg; codecs=opus") == "audio"
    assert kind_for_mime("image/webp") == "sticker"
    check_media("audio", 1000, "audio/ogg; codecs=opus")
    check_media("audio", 1000, "audio/amr")
    with pytest.raises(ValidationError, match="OPUS"):
        check_media("audio", 1000, "audio/ogg; codecs=vorbis")
    with pytest.raises(ValidationError, match="not supported"):
        kind_for_mime("audio/wav")


def test_error_text_and_repr_carry_the_graph_fields() -> None:
    err = classify(400, graph_error(131026), {})
    assert "131026" in str(err)
    assert "TRACE" in str(err)
    assert "why" in str(err)
    assert "RecipientError(status=400, code=131026" in repr(err)
    local = RateLimitError("cap reached", status=0, code=None, retryable=False, retry_after=5)
    assert (local.status, local.code, local.retry_after) == (0, None, 5)


def test_the_guide_lists_every_classified_code() -> None:
    guide = Path(__file__).resolve().parents[2] / "docs" / "guides" / "cloud-client.md"
    section = guide.read_text(encoding="utf-8").split("## Errors", 1)[1].split("## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    listed = {int(n) for row in rows for n in re.findall(r"\b\d+\b", row.split("|")[1])}
    assert set(CODE_TABLE) <= listed
    for code, rule in CODE_TABLE.items():
        row = next(r for r in rows if code in map(int, re.findall(r"\b\d+\b", r.split("|")[1])))
        assert f"`{rule.cls.__name__}`" in row, code
