"""The simulator's messages endpoint over real HTTP: text, auth, injected failures, pacing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from tests.cloud._sim_support import Harness, graph_error, harness, text
from whatsapp_client.cloud.testing import GraphSimulator


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with harness() as running:
        yield running


async def test_text_answers_graphs_success_shape(h: Harness) -> None:
    status, answer = await h.send(text("+15551234567", "hi"))
    assert status == 200
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": "+15551234567", "wa_id": "15551234567"}]
    [sent] = answer["messages"]
    assert set(sent) == {"id"}
    assert sent["id"].startswith("wamid.")
    assert h.sim.sent == [text("+15551234567", "hi")]


async def test_each_message_gets_its_own_printable_id(h: Harness) -> None:
    ids = set()
    for _ in range(5):
        _, answer = await h.send(text())
        ids.add(answer["messages"][0]["id"])
    assert len(ids) == 5
    assert all(0x21 <= ord(c) <= 0x7E for i in ids for c in i)


@pytest.mark.parametrize("token", ["wrong-token", ""])
async def test_wrong_token_is_401_code_190(h: Harness, token: str) -> None:
    status, answer = await h.send(text(), token=token)
    assert status == 401
    assert graph_error(answer) == (190, None)
    assert answer["error"]["type"] == "OAuthException"
    assert h.sim.sent == []


async def test_access_token_query_parameter_is_accepted(h: Harness) -> None:
    url = h.url(f"{h.sim.phone_number_id}/messages")
    params = {"access_token": h.sim.access_token}
    async with h.session.post(url, json=text(), params=params) as response:
        assert response.status == 200


async def test_unknown_phone_number_id_is_code_100_subcode_33(h: Harness) -> None:
    status, answer = await h.call("POST", "999/messages", json=text())
    assert status == 400
    assert graph_error(answer) == (100, 33)
    assert answer["error"]["type"] == "GraphMethodException"
    assert h.sim.sent == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"to": "15551234567", "type": "text", "text": {"body": "x"}}, 100),
        ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 100),
        ({**text(), "to": "not-a-number"}, 131009),
        ({**text(), "text": {"body": ""}}, 100),
        ({**text(), "text": {"body": "x" * 4097}}, 100),
        ({**text(), "text": {"body": "x", "preview_url": "yes"}}, 100),
        ({**text(), "type": "hologram"}, 100),
        ({"messaging_product": "whatsapp", "to": "15551234567", "type": "text"}, 131008),
        ({**text(), "context": {"message_id": 5}}, 100),
    ],
)
async def test_malformed_text_requests_are_refused(
    h: Harness, body: dict[str, object], code: int
) -> None:
    status, answer = await h.send(body)
    assert status == 400
    assert graph_error(answer)[0] == code
    assert h.sim.sent == []


async def test_body_that_is_not_json_is_code_100(h: Harness) -> None:
    status, answer = await h.call("POST", f"{h.sim.phone_number_id}/messages", data=b"{not json")
    assert status == 400
    assert graph_error(answer)[0] == 100


async def test_reply_context_and_preview_flag_are_accepted(h: Harness) -> None:
    body = {
        **text(),
        "context": {"message_id": "wamid.X"},
        "text": {"body": "x", "preview_url": True},
    }
    status, _ = await h.send(body)
    assert status == 200
    assert h.sim.sent[0]["context"] == {"message_id": "wamid.X"}


async def test_fail_next_answers_the_error_then_recovers(h: Harness) -> None:
    h.sim.fail_next("/messages", status=503, code=131016, times=2, retry_after=2)
    url = h.url(f"{h.sim.phone_number_id}/messages")
    for _ in range(2):
        async with h.session.post(url, json=text(), headers=h.auth()) as response:
            assert response.status == 503
            assert response.headers["Retry-After"] == "2"
            body = await response.json()
        assert graph_error(body) == (131016, None)
        assert body["error"]["message"].startswith("(#131016)")
    status, _ = await h.send(text())
    assert status == 200
    assert len(h.sim.sent) == 1


async def test_fail_next_exact_shape_with_subcode_and_details(h: Harness) -> None:
    h.sim.fail_next("/messages", code=131056, subcode=2494100, details="pair rate", message="m")
    status, body = await h.send(text())
    assert status == 400  # the status Graph uses for 131056
    error = body["error"]
    assert set(error) == {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}
    assert error["message"] == "m"
    assert error["error_subcode"] == 2494100
    assert error["error_data"] == {"messaging_product": "whatsapp", "details": "pair rate"}


@pytest.mark.parametrize(
    ("code", "status"),
    [(190, 401), (131000, 500), (132001, 404), (368, 403), (130429, 400), (4, 400), (2, 503)],
)
async def test_fail_next_uses_graphs_status_for_the_code(
    h: Harness, code: int, status: int
) -> None:
    h.sim.fail_next("/messages", code=code)
    got, body = await h.send(text())
    assert got == status
    assert graph_error(body)[0] == code


async def test_fail_next_only_matches_its_suffix(h: Harness) -> None:
    h.sim.fail_next("/media", code=131053)
    status, _ = await h.send(text())
    assert status == 200


def test_fail_next_refuses_zero_times() -> None:
    with pytest.raises(ValueError, match="times"):
        GraphSimulator().fail_next("/messages", code=1, times=0)


async def test_rate_limit_answers_130429_above_the_rate() -> None:
    async with harness(rate_limit_per_second=2) as h:
        assert [(await h.send(text()))[0] for _ in range(2)] == [200, 200]
        status, answer = await h.send(text())
        assert status == 400
        assert graph_error(answer)[0] == 130429
        assert answer["error"]["message"] == "(#130429) Rate limit hit"
        h.clock.now += 1.0  # a second later the window has room again
        assert (await h.send(text()))[0] == 200
        assert len(h.sim.sent) == 3


async def test_rate_limit_can_be_changed_and_removed(h: Harness) -> None:
    h.sim.rate_limit_per_second = 1
    assert (await h.send(text()))[0] == 200
    assert (await h.send(text()))[0] == 400
    h.sim.rate_limit_per_second = None
    assert (await h.send(text()))[0] == 200


async def test_repr_masks_token_and_secret() -> None:
    async with GraphSimulator(access_token="tok-123456", app_secret="sec-654321") as sim:
        shown = repr(sim)
    assert "tok-123456" not in shown and "sec-654321" not in shown


async def test_default_credentials_are_random() -> None:
    first, second = GraphSimulator(), GraphSimulator()
    assert first.access_token != second.access_token
    assert first.app_secret != second.app_secret


async def test_no_token_or_secret_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with harness(access_token="tok-SECRET-1", app_secret="sec-SECRET-2") as h:
        await h.send(text())
        await h.send(text(), token="tok-WRONG-3")
        h.sim.fail_next("/messages", code=131000)
        await h.send(text())
        await h.call("GET", "1234")
        await h.upload(b"x", "image/png")
    for secret in ("tok-SECRET-1", "sec-SECRET-2", "tok-WRONG-3"):
        assert secret not in caplog.text


async def test_unknown_path_and_method_answer_graph_errors(h: Harness) -> None:
    status, answer = await h.call("POST", f"{h.sim.phone_number_id}/nonsense")
    assert status == 400
    assert graph_error(answer)[0] == 2500
    assert "/nonsense" in answer["error"]["message"]
    status, answer = await h.call("PUT", f"{h.sim.phone_number_id}/messages")
    assert status == 400
    assert graph_error(answer)[0] == 100
    assert answer["error"]["message"] == "Unsupported put request."
    status, answer = await h.call("POST", "x/y/messages", token="wrong")
    assert (status, graph_error(answer)[0]) == (401, 190)  # the token is checked first
