"""Template checks of the simulator: unknown name/language 132001, wrong counts 132000."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Optional

import pytest

from tests.cloud._sim_support import Harness, graph_error, harness, message
from whatsapp_client.cloud.testing import GraphSimulator


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with harness() as running:
        running.sim.add_template("order_update", "en_US", body_params=2)
        running.sim.add_template("promo", "pt_BR", body_params=1, header="image", button_params=1)
        running.sim.add_template("hello_world", "en_US")
        yield running


def template(
    name: str, language: str, components: Optional[list[dict[str, Any]]] = None
) -> dict[str, Any]:
    obj: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components is not None:
        obj["components"] = components
    return message("template", obj)


def body(*values: str) -> dict[str, Any]:
    return {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}


async def test_registered_template_is_accepted_with_message_status(h: Harness) -> None:
    status, answer = await h.send(template("order_update", "en_US", [body("Ana", "#42")]))
    assert status == 200
    [sent] = answer["messages"]
    assert sent["id"].startswith("wamid.")
    assert sent["message_status"] == "accepted"
    assert h.sim.sent[0]["template"]["name"] == "order_update"


async def test_template_without_parameters(h: Harness) -> None:
    assert (await h.send(template("hello_world", "en_US")))[0] == 200


@pytest.mark.parametrize(("name", "language"), [("nope", "en_US"), ("order_update", "pt_BR")])
async def test_unknown_name_or_language_is_132001_http_404(
    h: Harness, name: str, language: str
) -> None:
    status, answer = await h.send(template(name, language, [body("a", "b")]))
    assert status == 404
    assert graph_error(answer) == (132001, None)
    assert name in answer["error"]["error_data"]["details"]
    assert h.sim.sent == []


@pytest.mark.parametrize("values", [(), ("only one",), ("a", "b", "c")])
async def test_wrong_body_parameter_count_is_132000(h: Harness, values: tuple[str, ...]) -> None:
    status, answer = await h.send(template("order_update", "en_US", [body(*values)]))
    assert status == 400
    assert graph_error(answer) == (132000, None)
    details = answer["error"]["error_data"]["details"]
    assert details == (
        f"body: number of localizable_params ({len(values)}) does not match the expected "
        "number of params (2)"
    )


async def test_media_header_and_button_parameters(h: Harness) -> None:
    components = [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x/y.png"}}]},
        body("50%"),
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "summer"}],
        },
    ]
    assert (await h.send(template("promo", "pt_BR", components)))[0] == 200
    # without the header parameter the count is wrong
    status, answer = await h.send(template("promo", "pt_BR", components[1:]))
    assert status == 400
    assert graph_error(answer) == (132000, None)
    assert answer["error"]["error_data"]["details"].startswith("header:")


async def test_wrong_header_kind_is_132012(h: Harness) -> None:
    components = [
        {"type": "header", "parameters": [{"type": "video", "video": {"link": "https://x/v"}}]},
        body("50%"),
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "s"}],
        },
    ]
    status, answer = await h.send(template("promo", "pt_BR", components))
    assert status == 400
    assert graph_error(answer)[0] == 132012


@pytest.mark.parametrize(
    "param",
    [
        {
            "type": "currency",
            "currency": {"fallback_value": "$1", "code": "USD", "amount_1000": 1000},
        },
        {"type": "date_time", "date_time": {"fallback_value": "May 1"}},
    ],
)
async def test_currency_and_date_time_parameters(h: Harness, param: dict[str, Any]) -> None:
    components = [{"type": "body", "parameters": [param, {"type": "text", "text": "x"}]}]
    assert (await h.send(template("order_update", "en_US", components)))[0] == 200


@pytest.mark.parametrize(
    "param",
    [
        {"type": "currency", "currency": {"code": "USD"}},
        {"type": "date_time", "date_time": {}},
        {"type": "sticker"},
    ],
)
async def test_malformed_parameters_are_132012(h: Harness, param: dict[str, Any]) -> None:
    components = [{"type": "body", "parameters": [param, {"type": "text", "text": "x"}]}]
    status, answer = await h.send(template("order_update", "en_US", components))
    assert status == 400
    assert graph_error(answer)[0] == 132012


@pytest.mark.parametrize(
    "obj",
    [
        {"language": {"code": "en_US"}},
        {"name": "hello_world"},
        {"name": "hello_world", "language": "en_US"},
    ],
)
async def test_missing_name_or_language_is_131008(h: Harness, obj: dict[str, Any]) -> None:
    status, answer = await h.send(message("template", obj))
    assert status == 400
    assert graph_error(answer)[0] == 131008


async def test_empty_text_parameter_is_131008(h: Harness) -> None:
    components = [{"type": "body", "parameters": [{"type": "text", "text": ""}] * 2}]
    _, answer = await h.send(template("order_update", "en_US", components))
    assert graph_error(answer)[0] == 131008


def test_add_template_refuses_bad_definitions() -> None:
    sim = GraphSimulator()
    with pytest.raises(ValueError, match="header"):
        sim.add_template("x", "en", header="audio")
    with pytest.raises(ValueError, match="negative"):
        sim.add_template("x", "en", body_params=-1)
