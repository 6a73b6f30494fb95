"""SyncCloudClient (the blocking twin) against a GraphSimulator running on its own thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloud._client_support import PNG, TO, WA_ID
from whatsapp_client.cloud._errors import AuthError, CloudError, ValidationError
from whatsapp_client.cloud._limiter import LocalLimiter
from whatsapp_client.cloud._models import BatchItem, MediaItem, SendResult
from whatsapp_client.cloud._sync import SyncCloudClient
from whatsapp_client.cloud._templates import Body, Text
from whatsapp_client.cloud.testing import GraphSimulator


@pytest.fixture
def sim() -> Iterator[GraphSimulator]:
    """The simulator on a loop thread of its own: the blocking client must not block it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    simulator = GraphSimulator()
    asyncio.run_coroutine_threadsafe(simulator.start(), loop).result(10)
    try:
        yield simulator
    finally:
        asyncio.run_coroutine_threadsafe(simulator.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def client(sim: GraphSimulator, token: str = "") -> SyncCloudClient:
    return SyncCloudClient(
        token or sim.access_token,
        sim.phone_number_id,
        base_url=sim.base_url,
        limiter=LocalLimiter(pair_spacing=0),
        backoff_base=0.001,
    )


def test_sync_client_sends_uploads_and_downloads(sim: GraphSimulator, tmp_path: Path) -> None:
    sim.add_template("hello_world", "en_US", body_params=1)
    with client(sim) as cloud:
        sent = cloud.send_text(TO, "hi")
        tpl = cloud.send_template(TO, "hello_world", "en_US", [Body([Text("Ada")])])
        media_id = cloud.upload_media(PNG, "image/png")
        data = cloud.download_media(media_id)
        path = cloud.download_media(media_id, tmp_path / "p.png")
        batch = cloud.send_media_batch(TO, [MediaItem("image", media_id=media_id)])
        read = cloud.mark_as_read(sent.message_id)
        info = cloud.check()
    assert isinstance(sent, SendResult)
    assert sent.to == WA_ID
    assert tpl.type == "template"
    assert data == PNG
    assert path == tmp_path / "p.png"
    assert isinstance(batch[0], BatchItem)
    assert batch[0].ok
    assert read.success
    assert info.id == sim.phone_number_id
    assert [m["type"] for m in sim.sent] == ["text", "template", "image"]


def test_sync_errors_reach_the_caller(sim: GraphSimulator) -> None:
    with client(sim, token="wrong") as cloud:
        with pytest.raises(AuthError):
            cloud.send_text(TO, "hi")
        with pytest.raises(ValidationError):
            cloud.send_image(TO, data=b"GIF89a", mime_type="image/gif")
    assert sim.sent == []


def test_sync_client_refuses_calls_after_close(sim: GraphSimulator) -> None:
    cloud = client(sim)
    cloud.close()
    cloud.close()  # idempotent
    with pytest.raises(CloudError, match="closed"):
        cloud.send_text(TO, "hi")
    assert "***" in repr(cloud)
    assert sim.access_token not in repr(cloud)
