"""The simulator's messages endpoint over real HTTP: text, auth, injected failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.cloud._sim_support import auth, post_message, text
from whatsapp_client.cloud.testing import GraphSimulator


@pytest.fixture
async def sim() -> AsyncIterator[GraphSimulator]:
    async with GraphSimulator() as simulator:
        yield simulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        yield client


async def test_text_answers_graphs_success_shape(
    sim: GraphSimulator, session: aiohttp.ClientSession
) -> None:
    status, answer = await post_message(session, sim, text("+15551234567", "hi"))
    assert status == 200
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": "+15551234567", "wa_id": "15551234567"}]
    [message] = answer["messages"]
    assert message["id"].startswith("wamid.")
    assert sim.sent == [text("+15551234567", "hi")]


async def test_each_message_gets_its_own_id(
    sim: GraphSimulator, session: aiohttp.ClientSession
) -> None:
    ids = set()
    for _ in range(5):
        _, answer = await post_message(session, sim, text())
        ids.add(answer["messages"][0]["id"])
    assert len(ids) == 5


@pytest.mark.parametrize("token", ["wrong-token", ""])
async def test_wrong_token_is_401_code_190(
    sim: GraphSimulator, session: aiohttp.ClientSession, token: str
) -> None:
    status, answer = await post_message(session, sim, text(), token=token)
    assert status == 401
    error = answer["error"]
    assert error["code"] == 190
    assert error["type"] == "OAuthException"
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]
    assert sim.sent == []


async def test_access_token_query_parameter_is_accepted(
    sim: GraphSimulator, session: aiohttp.ClientSession
) -> None:
    url = f"{sim.graph_url}/{sim.phone_number_id}/messages"
    async with session.post(url, json=text(), params={"access_token": sim.access_token}) as r:
        assert r.status == 200


async def test_unknown_phone_number_id_is_code_100_subcode_33(
    sim: GraphSimulator, session: aiohttp.ClientSession
) -> None:
    url = f"{sim.graph_url}/999/messages"
    async with session.post(url, json=text(), headers=auth(sim)) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)
    assert error["type"] == "GraphMethodException"


async def test_fail_next_answers_the_error_then_recovers(
    sim: GraphSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next("/messages", status=503, code=131016, times=2, retry_after=2)
    url = f"{sim.graph_url}/{sim.phone_number_id}/messages"
    for _ in range(2):
        async with session.post(url, json=text(), headers=auth(sim)) as response:
            assert response.status == 503
            assert response.headers["Retry-After"] == "2"
            body = await response.json()
        assert body["error"]["code"] == 131016
        assert body["error"]["message"].startswith("(#131016)")
    status, _ = await post_message(session, sim, text())
    assert status == 200
    assert len(sim.sent) == 1


async def test_fail_next_exact_shape_with_subcode_and_details(
    sim: GraphSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next("/messages", code=131056, subcode=2494100, details="pair rate", message="m")
    status, body = await post_message(session, sim, text())
    assert status == 400  # Graph's status for 131056
    error = body["error"]
    assert set(error) == {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}
    assert error["message"] == "m"
    assert error["error_subcode"] == 2494100
    assert error["error_data"] == {"messaging_product": "whatsapp", "details": "pair rate"}


async def test_fail_next_only_matches_its_suffix(
    sim: GraphSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next("/media", code=131053)
    status, _ = await post_message(session, sim, text())
    assert status == 200


async def test_repr_masks_token_and_secret() -> None:
    async with GraphSimulator(access_token="tok-123456", app_secret="sec-654321") as sim:
        shown = repr(sim)
    assert "tok-123456" not in shown and "sec-654321" not in shown
