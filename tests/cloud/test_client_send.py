"""CloudClient against the GraphSimulator: sending, errors, retries, breaker, metrics, logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import msgspec
import pytest

from tests.cloud._client_support import TO, WA_ID, make_client
from whatsapp_client.cloud._breaker import CircuitBreaker
from whatsapp_client.cloud._errors import (
    AuthError,
    CircuitOpenError,
    CloudAPIError,
    IntegrityError,
    RateLimitError,
    RecipientError,
    TemplateError,
    ValidationError,
)
from whatsapp_client.cloud._interactive import ListRow, ListSection
from whatsapp_client.cloud._limiter import LocalLimiter
from whatsapp_client.cloud._metrics import CloudMetrics
from whatsapp_client.cloud._models import ReadResult, SendResult
from whatsapp_client.cloud._templates import Body, Button, Currency, DateTime, Header, Image, Text
from whatsapp_client.cloud.testing import GraphSimulator


@pytest.fixture
async def sim() -> AsyncIterator[GraphSimulator]:
    async with GraphSimulator() as simulator:
        yield simulator


async def test_send_text_returns_a_typed_result(sim: GraphSimulator) -> None:
    async with make_client(sim)[0] as cloud:
        sent = await cloud.send_text(TO, "hello", preview_url=True)
    assert isinstance(sent, SendResult)
    assert sent.message_id.startswith("wamid.")
    assert sent.to == WA_ID
    assert sent.type == "text"
    assert sim.sent == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": WA_ID,
            "type": "text",
            "text": {"body": "hello", "preview_url": True},
        }
    ]


async def test_reply_to_sets_the_context(sim: GraphSimulator) -> None:
    async with make_client(sim)[0] as cloud:
        await cloud.send_text(TO, "re", reply_to="wamid.ORIGINAL")
    assert sim.sent[0]["context"] == {"message_id": "wamid.ORIGINAL"}


async def test_bad_recipient_is_refused_before_any_request(sim: GraphSimulator) -> None:
    async with make_client(sim)[0] as cloud:
        for bad in ("not-a-number", "+1", "+999123456789", "+1555123456789012"):
            with pytest.raises(ValidationError):
                await cloud.send_text(bad, "hi")
    assert sim.sent == []


async def test_wrong_token_is_auth_error_and_not_retried(sim: GraphSimulator) -> None:
    cloud, sleeps = make_client(sim, access_token="wrong-token")
    async with cloud:
        with pytest.raises(AuthError) as err:
            await cloud.send_text(TO, "hi")
    assert err.value.status == 401
    assert err.value.code == 190
    assert err.value.retryable is False
    assert sleeps.waits == []


async def test_5xx_is_retried_then_succeeds(sim: GraphSimulator) -> None:
    sim.fail_next("/messages", code=131000, times=2)
    cloud, sleeps = make_client(sim)
    async with cloud:
        sent = await cloud.send_text(TO, "hi")
    assert sent.message_id.startswith("wamid.")
    assert len(sleeps.waits) == 2
    # full jitter: each wait lies in [0, base * 2**attempt]
    assert 0 <= sleeps.waits[0] <= 0.01
    assert 0 <= sleeps.waits[1] <= 0.02
    assert len(sim.sent) == 1


async def test_rate_limit_code_honours_retry_after(sim: GraphSimulator) -> None:
    sim.fail_next("/messages", code=130429, retry_after=2)
    cloud, sleeps = make_client(sim)
    async with cloud:
        await cloud.send_text(TO, "hi")
    assert sleeps.waits == [2.0]


async def test_rate_limit_after_the_last_retry_raises(sim: GraphSimulator) -> None:
    sim.fail_next("/messages", code=131056, times=5)
    cloud, sleeps = make_client(sim, max_retries=2)
    async with cloud:
        with pytest.raises(RateLimitError) as err:
            await cloud.send_text(TO, "hi")
    assert err.value.code == 131056
    assert err.value.retryable is True
    assert len(sleeps.waits) == 2
    assert sim.sent == []


async def test_retry_after_longer_than_allowed_is_raised_at_once(sim: GraphSimulator) -> None:
    sim.fail_next("/messages", code=130429, retry_after=600)
    cloud, sleeps = make_client(sim, max_retry_after=60)
    async with cloud:
        with pytest.raises(RateLimitError) as err:
            await cloud.send_text(TO, "hi")
    assert err.value.retry_after == 600
    assert sleeps.waits == []


@pytest.mark.parametrize(
    ("code", "cls"),
    [(131026, RecipientError), (131047, RecipientError), (100, CloudAPIError), (10, AuthError)],
)
async def test_client_errors_are_never_retried(
    sim: GraphSimulator, code: int, cls: type[CloudAPIError]
) -> None:
    sim.fail_next("/messages", code=code, details="the details")
    cloud, sleeps = make_client(sim)
    async with cloud:
        with pytest.raises(cls) as err:
            await cloud.send_text(TO, "hi")
    assert err.value.code == code
    assert err.value.details == "the details"
    assert err.value.fbtrace_id
    assert sleeps.waits == []


async def test_integrity_error_opens_the_breaker(sim: GraphSimulator) -> None:
    breaker = CircuitBreaker(failure_threshold=5, reset_timeout=60)
    sim.fail_next("/messages", code=368)
    cloud, sleeps = make_client(sim, breaker=breaker)
    async with cloud:
        with pytest.raises(IntegrityError):
            await cloud.send_text(TO, "hi")
        with pytest.raises(CircuitOpenError) as err:
            await cloud.send_text(TO, "again")
    assert err.value.phone_number_id == sim.phone_number_id
    assert breaker.state(sim.phone_number_id) == "open"
    assert sleeps.waits == []
    assert sim.sent == []


async def test_default_breaker_and_limiter_report_to_metrics(sim: GraphSimulator) -> None:
    metrics = CloudMetrics()
    sim.add_template("hello_world", "en_US")
    cloud = make_client(sim, metrics=metrics, limiter=None)[0]
    phone = {"phone_number_id": sim.phone_number_id}
    async with cloud:
        await cloud.send_template(TO, "hello_world", "en_US")
        sim.fail_next("/messages", code=131031)
        with pytest.raises(IntegrityError):
            await cloud.send_text("+15551230001", "hi")
        # refused before the limiter: no pacing wait, no conversation slot used
        with pytest.raises(CircuitOpenError):
            await cloud.send_template("+15551230002", "hello_world", "en_US")
        assert isinstance(cloud.limiter, LocalLimiter)
        assert cloud.limiter.conversations_left(sim.phone_number_id) == 999
    reg = metrics.registry
    assert reg.get_sample_value("whatsapp_breaker_state", phone) == 2
    assert reg.get_sample_value("whatsapp_rate_limit_remaining", phone) == 999


async def test_template_with_typed_helpers(sim: GraphSimulator) -> None:
    sim.add_template("order_update", "en_US", body_params=3, header="image", button_params=1)
    async with make_client(sim)[0] as cloud:
        sent = await cloud.send_template(
            TO,
            "order_update",
            "en_US",
            [
                Header([Image(link="https://example.com/a.png")]),
                Body([Text("Ada"), Currency("$12.50", "USD", 12500), DateTime("May 1")]),
                Button(sub_type="quick_reply", index=0, payload="TRACK"),
            ],
        )
    assert sent.type == "template"
    template = sim.sent[0]["template"]
    assert template["name"] == "order_update"
    assert template["language"] == {"code": "en_US"}
    assert template["components"][1]["parameters"][1] == {
        "type": "currency",
        "currency": {"fallback_value": "$12.50", "code": "USD", "amount_1000": 12500},
    }
    assert template["components"][2] == {
        "type": "button",
        "sub_type": "quick_reply",
        "index": 0,
        "parameters": [{"type": "payload", "payload": "TRACK"}],
    }


async def test_template_as_raw_graph_json(sim: GraphSimulator) -> None:
    sim.add_template("hello_world", "en_US", body_params=1)
    raw = [{"type": "body", "parameters": [{"type": "text", "text": "Ada"}]}]
    async with make_client(sim)[0] as cloud:
        await cloud.send_template(TO, "hello_world", "en_US", raw)
    assert sim.sent[0]["template"]["components"] == raw


@pytest.mark.parametrize(
    ("components", "needle"),
    [
        ([{"type": "body", "parameters": [{"type": "text", "text": "a\nb"}]}], "newlines"),
        ([{"type": "body", "parameters": [{"type": "image", "image": {}}]}], "not one of"),
        ([{"type": "header", "parameters": [{"type": "image", "image": {}}]}], "id or link"),
        ([{"type": "button", "sub_type": "quick_reply", "index": 12}], "index"),
        ([{"type": "button", "sub_type": "nope", "index": 0}], "sub_type"),
        ([Body([Currency("12", "usd", 12000)])], "ISO 4217"),
        ([{"type": "footer"}], "not header, body or button"),
        ([Body([]), Body([])], "only one body"),
    ],
)
async def test_template_validation_errors_send_nothing(
    sim: GraphSimulator, components: list[object], needle: str
) -> None:
    async with make_client(sim)[0] as cloud:
        with pytest.raises(ValidationError, match=needle):
            await cloud.send_template(TO, "hello_world", "en_US", components)  # type: ignore[arg-type]
    assert sim.sent == []


async def test_template_refused_by_graph_is_template_error(sim: GraphSimulator) -> None:
    sim.add_template("hello_world", "en_US", body_params=2)
    async with make_client(sim)[0] as cloud:
        with pytest.raises(TemplateError) as unknown:
            await cloud.send_template(TO, "no_such_template", "en_US")
        with pytest.raises(TemplateError) as count:
            await cloud.send_template(TO, "hello_world", "en_US", [Body([Text("one")])])
    assert unknown.value.code == 132001
    assert count.value.code == 132000


async def test_buttons_list_reaction_and_mark_as_read(sim: GraphSimulator) -> None:
    async with make_client(sim)[0] as cloud:
        b = await cloud.send_buttons(TO, "Pick one", [("yes", "Yes"), ("no", "No")], footer="f")
        rows = [ListRow("r1", "Row 1", "first"), ListRow("r2", "Row 2")]
        lst = await cloud.send_list(TO, "Menu", "Open", [ListSection(rows, title="S")])
        r = await cloud.send_reaction(TO, b.message_id, "👍")
        read = await cloud.mark_as_read("wamid.INBOUND")
        with pytest.raises(ValidationError, match="1 to 3"):
            await cloud.send_buttons(TO, "x", [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")])
    assert (b.type, lst.type, r.type) == ("interactive", "interactive", "reaction")
    assert read == ReadResult(message_id="wamid.INBOUND", success=True)
    assert sim.read_receipts == ["wamid.INBOUND"]
    assert sim.sent[0]["interactive"]["action"]["buttons"][1] == {
        "type": "reply",
        "reply": {"id": "no", "title": "No"},
    }
    assert len(sim.sent) == 3


async def test_check_returns_phone_number_info(sim: GraphSimulator) -> None:
    async with make_client(sim)[0] as cloud:
        info = await cloud.check()
    assert info.id == sim.phone_number_id
    assert info.display_phone_number == sim.display_phone_number
    assert info.quality_rating == "GREEN"


async def test_metrics_count_sends_latency_and_retries(sim: GraphSimulator) -> None:
    metrics = CloudMetrics()
    sim.fail_next("/messages", code=2)
    async with make_client(sim, metrics=metrics)[0] as cloud:
        await cloud.send_text(TO, "hi")
    reg = metrics.registry
    assert reg.get_sample_value("whatsapp_messages_sent_total", {"type": "text"}) == 1
    assert reg.get_sample_value("whatsapp_retries_total", {"endpoint": "messages"}) == 1
    count = reg.get_sample_value("whatsapp_api_latency_seconds_count", {"endpoint": "messages"})
    assert count == 2


async def test_results_encode_as_json(sim: GraphSimulator) -> None:
    async with make_client(sim)[0] as cloud:
        sent = await cloud.send_text(TO, "hi")
    decoded = msgspec.json.decode(msgspec.json.encode(sent), type=SendResult)
    assert decoded == sent


async def test_token_never_logged_or_shown(
    sim: GraphSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.fail_next("/messages", code=131000)
    cloud, _ = make_client(sim)
    async with cloud:
        await cloud.send_text(TO, "hi")
        await cloud.check()
        media_id = await cloud.upload_media(b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")
        await cloud.download_media(media_id)
        with pytest.raises(TemplateError) as err:
            await cloud.send_template(TO, "missing", "en")
    bad, _ = make_client(sim, access_token="wrong-" + sim.access_token)
    async with bad:
        with pytest.raises(AuthError) as auth:
            await bad.send_text(TO, "hi")
    text = caplog.text + repr(cloud) + repr(cloud.transport) + repr(err.value) + str(auth.value)
    assert "whatsapp.cloud.transport" in {r.name for r in caplog.records}
    assert sim.access_token not in text
