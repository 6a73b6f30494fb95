"""``GET /{phone_number_id}``: the phone number's details, as Graph answers them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.cloud._sim_support import Harness, graph_error, harness


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with harness(
        phone_number_id="123123", display_phone_number="+1 555-0100", verified_name="Shop"
    ) as running:
        yield running


async def test_phone_info_with_fields(h: Harness) -> None:
    status, info = await h.call(
        "GET",
        "123123",
        params={"fields": "display_phone_number,verified_name,quality_rating"},
    )
    assert status == 200
    assert info == {
        "display_phone_number": "+1 555-0100",
        "verified_name": "Shop",
        "quality_rating": "GREEN",
        "id": "123123",
    }


async def test_phone_info_default_fields(h: Harness) -> None:
    _, info = await h.call("GET", "123123")
    assert info["id"] == "123123"
    assert info["code_verification_status"] == "VERIFIED"
    assert info["throughput"] == {"level": "STANDARD"}


async def test_unknown_field_is_code_100(h: Harness) -> None:
    status, answer = await h.call("GET", "123123", params={"fields": "secret_sauce"})
    assert status == 400
    assert graph_error(answer) == (100, None)
    assert "secret_sauce" in answer["error"]["message"]


async def test_phone_info_needs_the_token(h: Harness) -> None:
    status, answer = await h.call("GET", "123123", token="bad")
    assert (status, graph_error(answer)[0]) == (401, 190)
