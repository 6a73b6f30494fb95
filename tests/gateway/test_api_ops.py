"""Operations: probes without a key, Prometheus metrics, the OpenAPI document and the
offline Swagger UI, JSON logs with the request's context."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from tests.gateway._api_support import (
    GATEWAY_SETTINGS,
    GatewayHandle,
    Receiver,
    create_session,
    running_gateway,
    wait_status,
)
from whatsapp_client.gateway import _app
from whatsapp_client.gateway._logs import get_logger, json_formatter, log_context
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._wiring import build_components
from whatsapp_client.server.testing import ServerHandle


async def test_probes_need_no_key(gateway: GatewayHandle) -> None:
    health = await gateway.call("GET", "/health", key=None)
    assert (health.status, health.body) == (200, {"status": "ok"})
    ready = await gateway.call("GET", "/ready", key=None)
    assert (ready.status, ready.body) == (200, {"status": "ready"})


async def test_metrics_name_sessions_queues_and_api_latency(
    gateway: GatewayHandle, chat_server: ServerHandle, receiver: Receiver
) -> None:
    session = await create_session(gateway, chat_server.url, webhooks=[{"url": receiver.url}])
    await wait_status(gateway, session["id"], "connected")
    answer = await gateway.call("GET", "/metrics")
    assert answer.status == 200
    text = answer.raw.decode()
    assert 'gateway_sessions{status="connected"} 1.0' in text
    assert f'gateway_queue_depth{{session="{session["id"]}"}} 0.0' in text
    assert 'gateway_api_latency_seconds_count{method="POST",route="/api/v1/sessions"} 1.0' in text


async def test_openapi_and_offline_swagger_ui(gateway: GatewayHandle) -> None:
    document = await gateway.call("GET", "/api/v1/openapi.json", key=None)
    assert document.status == 200 and document.body["openapi"] == "3.1.0"
    page = await gateway.call("GET", "/api/docs", key=None)
    assert page.status == 200
    html = page.raw.decode()
    assert "https://" not in html and "http://" not in html  # nothing fetched from outside
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/api/docs/assets/{asset}" in html
        fetched = await gateway.call("GET", f"/api/docs/assets/{asset}", key=None)
        assert fetched.status == 200 and len(fetched.raw) > 1000
    init = await gateway.call("GET", "/api/docs/init.js", key=None)
    assert b"/api/v1/openapi.json" in init.raw
    assert (await gateway.call("GET", "/api/docs/assets/settings.py", key=None)).status == 404


def test_json_logs_carry_level_and_context() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    log = get_logger("test")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with log_context(session_id="ses_1"), log_context(message_id="msg_2"):
            log.warning("sent", extra={"attempt": 2})
        log.info("outside")
    finally:
        log.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "warning" and first["msg"] == "sent"
    assert (first["session_id"], first["message_id"], first["attempt"]) == ("ses_1", "msg_2", 2)
    assert "session_id" not in second


async def test_ready_fails_when_the_data_directory_cannot_be_written(
    gateway: GatewayHandle,
) -> None:
    data = Path(gateway.settings.data_dir)
    moved = data.with_name(data.name + ".moved")
    os.rename(data, moved)  # open files stay usable; new ones cannot be made at the old path
    try:
        answer = await gateway.call("GET", "/ready", key=None)
        assert (answer.status, answer.body) == (503, {"status": "data_dir_unwritable"})
    finally:
        os.rename(moved, data)
    assert (await gateway.call("GET", "/ready", key=None)).status == 200


class _StuckDispatcher:
    """A dispatcher whose close never returns (as a worker stuck in a cancellation would)."""

    def __init__(self) -> None:
        self.closing = asyncio.Event()

    async def start(self) -> None:
        pass

    def wake(self) -> None:
        pass

    async def close(self) -> None:
        self.closing.set()
        await asyncio.Event().wait()


async def test_a_stuck_dispatcher_does_not_keep_the_gateway_from_stopping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_app, "DISPATCHER_CLOSE_TIMEOUT", 0.05)
    settings = GatewaySettings(**{**GATEWAY_SETTINGS, "data_dir": str(tmp_path / "gw")})
    real = build_components(settings, tmp_path / "gw")
    stuck = _StuckDispatcher()
    components = _app.Components(
        storage=real.storage, service=real.service, dispatcher=stuck, metrics=real.metrics
    )
    async with running_gateway(tmp_path / "gw", components=components) as gw:
        assert (await gw.call("GET", "/ready", key=None)).status == 200
        # A guard against hanging the suite, not a timing assertion: stop must return.
        await asyncio.wait_for(gw.stop(), 60)
    assert stuck.closing.is_set()
    assert "did not stop in time" in caplog.text


async def test_an_unexpected_error_is_a_500_in_the_error_shape_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = GatewaySettings(**{**GATEWAY_SETTINGS, "data_dir": str(tmp_path / "gw")})
    real = build_components(settings, tmp_path / "gw")

    class Broken(type(real.service)):  # type: ignore[misc]  # the real service, one bug added
        async def list_sessions(self) -> Any:
            raise RuntimeError("a bug")

    real.service.__class__ = Broken
    async with running_gateway(tmp_path / "gw", components=real) as gw:
        answer = await gw.call("GET", "/api/v1/sessions")
        assert (answer.status, answer.code) == (500, "internal_error")
        assert "a bug" not in answer.raw.decode()  # details go to the log only
    [record] = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert record.exc_info is not None and getattr(record, "path", None) == "/api/v1/sessions"
