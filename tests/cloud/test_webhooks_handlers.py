"""WebhookHandlers: bare and filtered decorators, sync and async handlers, isolation."""

from __future__ import annotations

import logging
import re
import threading

import pytest

from tests.cloud._webhooks_samples import batch_payload, encode
from whatsapp_client.cloud._errors import ConfigurationError
from whatsapp_client.cloud._events import ErrorEvent, MessageEvent, StatusEvent, parse_webhook
from whatsapp_client.cloud._handlers import WebhookHandlers

EVENTS = parse_webhook(encode(batch_payload()))
N_MESSAGES = sum(isinstance(e, MessageEvent) for e in EVENTS)


async def test_bare_decorators_get_every_event_of_their_kind() -> None:
    h = WebhookHandlers()
    got: list[str] = []

    @h.on_message
    async def on_msg(ev: MessageEvent) -> None:
        got.append("m:" + ev.message_id)

    @h.on_status
    def on_status(ev: StatusEvent) -> None:
        got.append("s:" + ev.status)

    @h.on_error
    async def on_error(ev: ErrorEvent) -> None:
        got.append(f"e:{ev.code}")

    assert on_msg.__name__ == "on_msg"  # the decorator returns the function itself
    await h.dispatch(EVENTS)
    assert len([g for g in got if g.startswith("m:")]) == N_MESSAGES
    assert len([g for g in got if g.startswith("s:")]) == 8
    assert got.count("e:131000") == 1
    # Dispatch keeps the events' order across sync and async handlers.
    expected = [
        "m:" + e.message_id if isinstance(e, MessageEvent)
        else "s:" + e.status if isinstance(e, StatusEvent)
        else f"e:{e.code}"
        for e in EVENTS
    ]  # fmt: skip
    assert got == expected


async def test_message_filters_by_type_sender_and_text() -> None:
    h = WebhookHandlers()
    got: dict[str, list[str]] = {}

    def record(name: str):  # type: ignore[no-untyped-def]
        def fn(ev: MessageEvent) -> None:
            got.setdefault(name, []).append(ev.message_id)

        return fn

    h.on_message(type="image")(record("image"))
    h.on_message(type=["audio", "video"])(record("av"))
    h.on_message(from_="+16505551234", type="sticker")(record("plus_sender"))
    h.on_message(from_=["19999999999"])(record("other_sender"))
    h.on_message(text="Does it come in another color?")(record("exact"))
    h.on_message(text=re.compile(r"^fw"))(record("regex"))
    h.on_message(text=lambda t: t.startswith("Stop"))(record("predicate"))
    h.on_message(type="text", text="fwd")(record("and"))
    h.on_message(type="image", text="look")(record("caption_is_not_text"))
    await h.dispatch(EVENTS)
    assert got == {
        "image": ["wamid.img1"],
        "av": ["wamid.aud1", "wamid.vid1"],
        "plus_sender": ["wamid.stk1"],
        "exact": ["wamid.text1"],
        "regex": ["wamid.fwd1"],
        "predicate": ["wamid.tbtn1"],  # a template button's text counts as text
        "and": ["wamid.fwd1"],
    }


async def test_status_filters() -> None:
    h = WebhookHandlers()
    got: list[tuple[str, str]] = []
    h.on_status(status=["read", "failed"])(lambda ev: got.append((ev.status, ev.phone_number_id)))
    h.on_status(recipient="+19999999999")(lambda ev: got.append(("nobody", "")))
    await h.dispatch(EVENTS)
    assert sorted(s for s, _ in got) == ["failed", "failed", "read", "read"]


async def test_sync_handlers_run_off_the_loop_thread_async_on_it() -> None:
    h = WebhookHandlers()
    threads: dict[str, set[int]] = {"sync": set(), "async": set()}

    @h.on_message
    def sync_handler(ev: MessageEvent) -> None:
        threads["sync"].add(threading.get_ident())

    @h.on_message
    async def async_handler(ev: MessageEvent) -> None:
        threads["async"].add(threading.get_ident())

    await h.dispatch(EVENTS)
    loop_thread = threading.get_ident()
    assert threads["async"] == {loop_thread}
    assert threads["sync"] and loop_thread not in threads["sync"]


async def test_a_failing_handler_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = WebhookHandlers()
    ran: list[str] = []

    @h.on_message(type="text")
    def boom_sync(ev: MessageEvent) -> None:
        raise RuntimeError("sync kaboom")

    @h.on_message(type="text")
    async def boom_async(ev: MessageEvent) -> None:
        raise ValueError("async kaboom")

    @h.on_message(text=lambda t: 1 / 0 > 0)
    def bad_filter(ev: MessageEvent) -> None:
        ran.append("never")

    @h.on_message(type="text")
    def fine_sync(ev: MessageEvent) -> None:
        ran.append("sync:" + ev.message_id)

    @h.on_message(type="text")
    async def fine_async(ev: MessageEvent) -> None:
        ran.append("async:" + ev.message_id)

    with caplog.at_level(logging.ERROR, logger="whatsapp.cloud.webhooks"):
        await h.dispatch(EVENTS)
    texts = ["wamid.text1", "wamid.fwd1"]
    assert sorted(ran) == sorted([f"{k}:{m}" for k in ("sync", "async") for m in texts])
    records = [r for r in caplog.records if r.name == "whatsapp.cloud.webhooks"]
    messages = [r.getMessage() for r in records]
    assert sum("boom_sync" in m for m in messages) == 2
    assert sum("boom_async" in m for m in messages) == 2
    assert sum("bad_filter" in m for m in messages) == 3  # every message with text
    assert all(r.exc_info for r in records)
    # Only ids are logged, never the message text.
    assert not any("another color" in m for m in messages)


async def test_callable_objects_with_async_call_are_awaited() -> None:
    got: list[str] = []

    class Bot:
        async def __call__(self, ev: MessageEvent) -> None:
            got.append(ev.message_id)

    h = WebhookHandlers()
    h.on_message(type="reaction")(Bot())
    await h.dispatch(EVENTS)
    assert got == ["wamid.rea1"]


@pytest.mark.parametrize(
    "kwargs",
    [{"type": []}, {"type": [1]}, {"from_": 5}, {"text": 5}],
)
def test_bad_filters_are_refused_at_registration(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        WebhookHandlers().on_message(**kwargs)  # type: ignore[call-overload]


def test_a_non_callable_handler_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        WebhookHandlers().on_error("not callable")  # type: ignore[call-overload]
