"""Media, interactive, reaction and mark-as-read requests against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.cloud._sim_support import Harness, graph_error, harness, message

KINDS = ["image", "video", "audio", "document", "sticker"]
MIME = {
    "image": "image/png",
    "video": "video/mp4",
    "audio": "audio/ogg; codecs=opus",
    "document": "application/pdf",
    "sticker": "image/webp",
}


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with harness() as running:
        yield running


@pytest.mark.parametrize("kind", KINDS)
async def test_media_by_id_and_by_link(h: Harness, kind: str) -> None:
    media_id = h.sim.add_media(b"data", MIME[kind])
    assert (await h.send(message(kind, {"id": media_id})))[0] == 200
    link = f"https://example.com/file.{kind}"
    assert (await h.send(message(kind, {"link": link})))[0] == 200
    assert [sent[kind] for sent in h.sim.sent] == [{"id": media_id}, {"link": link}]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "obj",
    [{}, {"id": "1", "link": "https://x/y"}, {"id": "404404"}, {"link": "ftp://x/y"}],
)
async def test_media_needs_one_valid_source(h: Harness, kind: str, obj: dict[str, Any]) -> None:
    status, answer = await h.send(message(kind, obj))
    assert status == 400
    assert graph_error(answer)[0] == 100
    assert h.sim.sent == []


@pytest.mark.parametrize("kind", ["audio", "sticker"])
async def test_audio_and_sticker_take_no_caption(h: Harness, kind: str) -> None:
    _, answer = await h.send(message(kind, {"link": "https://x/y", "caption": "c"}))
    assert graph_error(answer)[0] == 100


async def test_caption_and_filename_rules(h: Harness) -> None:
    doc = {"link": "https://x/y.pdf", "caption": "c", "filename": "y.pdf"}
    assert (await h.send(message("document", doc)))[0] == 200
    _, answer = await h.send(message("image", {"link": "https://x/y", "filename": "y.png"}))
    assert graph_error(answer)[0] == 100
    _, answer = await h.send(message("image", {"link": "https://x/y", "caption": "c" * 1025}))
    assert graph_error(answer)[0] == 100


def buttons(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "button",
        "body": {"text": "Pick one"},
        "action": {
            "buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in pairs]
        },
    }


def list_message(rows: int, sections: int = 1) -> dict[str, Any]:
    return {
        "type": "list",
        "body": {"text": "Menu"},
        "action": {
            "button": "Open",
            "sections": [
                {
                    "title": f"s{s}",
                    "rows": [{"id": f"r{s}-{r}", "title": f"Row {r}"} for r in range(rows)],
                }
                for s in range(sections)
            ],
        },
    }


async def test_interactive_buttons_and_lists(h: Harness) -> None:
    assert (await h.send(message("interactive", buttons(("yes", "Yes"), ("no", "No")))))[0] == 200
    assert (await h.send(message("interactive", list_message(5, 2))))[0] == 200
    assert len(h.sim.sent) == 2


@pytest.mark.parametrize(
    "obj",
    [
        buttons(),
        buttons(("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")),
        buttons(("a", "A"), ("a", "B")),
        buttons(("a", "x" * 21)),
        list_message(11),
        list_message(6, 2),
        list_message(0),
        {"type": "button", "action": {}},
        {"type": "button", "body": {"text": "x"}},
        {"type": "carousel", "body": {"text": "x"}, "action": {}},
        {**buttons(("a", "A")), "action": {"buttons": ["not a dict"]}},
    ],
)
async def test_interactive_limits(h: Harness, obj: dict[str, Any]) -> None:
    status, answer = await h.send(message("interactive", obj))
    assert status == 400
    assert graph_error(answer)[0] in (100, 131008)
    assert h.sim.sent == []


async def test_reaction(h: Harness) -> None:
    ok = {"message_id": "wamid.ABC", "emoji": "\N{THUMBS UP SIGN}"}
    assert (await h.send(message("reaction", ok)))[0] == 200
    assert (await h.send(message("reaction", {"message_id": "wamid.ABC", "emoji": ""})))[0] == 200
    _, answer = await h.send(message("reaction", {"emoji": "x"}))
    assert graph_error(answer)[0] == 131008


async def test_mark_as_read_answers_success(h: Harness) -> None:
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN"}
    status, answer = await h.send(body)
    assert (status, answer) == (200, {"success": True})
    assert h.sim.read_receipts == ["wamid.IN"]
    assert h.sim.sent == []


@pytest.mark.parametrize(
    "body",
    [
        {"messaging_product": "whatsapp", "status": "read"},
        {"messaging_product": "whatsapp", "status": "delivered", "message_id": "wamid.IN"},
    ],
)
async def test_mark_as_read_needs_read_and_an_id(h: Harness, body: dict[str, Any]) -> None:
    status, answer = await h.send(body)
    assert status == 400
    assert graph_error(answer)[0] == 100
    assert h.sim.read_receipts == []


async def test_location_and_contacts_are_accepted(h: Harness) -> None:
    location = {"latitude": 1.5, "longitude": 2.5, "name": "Here"}
    assert (await h.send(message("location", location)))[0] == 200
    card = {"name": {"formatted_name": "Ana", "first_name": "Ana"}}
    assert (await h.send({**message("contacts", {}), "contacts": [card]}))[0] == 200
    assert [sent["type"] for sent in h.sim.sent] == ["location", "contacts"]


@pytest.mark.parametrize("contacts", [{"name": {"formatted_name": "Ana"}}, [], ["x"]])
async def test_contacts_must_be_a_list_of_cards(h: Harness, contacts: Any) -> None:
    status, answer = await h.send({**message("contacts", {}), "contacts": contacts})
    assert status == 400
    assert graph_error(answer)[0] == 131008
