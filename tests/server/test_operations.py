"""Operations (§6.7, issue item 7): health, readiness, metrics, OpenAPI, offline Swagger UI."""

from __future__ import annotations

import asyncio
import re

import aiohttp

from tests.server.helpers import Account, call, connect, message
from whatsapp_client.server import Settings, create_app
from whatsapp_client.server.testing import ServerHandle


async def test_health_and_ready(server: ServerHandle, http: aiohttp.ClientSession) -> None:
    assert await call(http, "GET", f"{server.url}/health") == (200, {"status": "ok"})
    assert await call(http, "GET", f"{server.url}/ready") == (200, {"status": "ready"})


async def test_metrics_count_what_happens(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    frame = message(bob.id)
    await a.send(frame)
    await a.expect("sent", id=frame["id"])
    await call(http, "GET", f"{server.url}/api/users/me", Account("x", "x", "bad-token"))
    async with http.get(f"{server.url}/metrics") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        text = await resp.text()

    def value(pattern: str) -> float:
        found = re.search(rf"^{pattern} (\S+)$", text, re.MULTILINE)
        assert found, pattern
        return float(found.group(1))

    assert value(r'wac_websocket_connections\{state="authenticated"\}') == 1
    assert value(r'wac_messages_relayed_total\{kind="direct"\}') == 1
    assert value("wac_queue_depth") == 1
    assert value(r'wac_auth_failures_total\{kind="http_bad_token"\}') == 1
    assert "wac_http_request_duration_seconds_bucket" in text
    assert 'route="/api/users/me"' in text
    await a.close()


async def test_queue_depth_is_restored_after_a_restart(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account, bob: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    for _ in range(3):
        frame = message(bob.id)
        await a.send(frame)
        await a.expect("sent", id=frame["id"])
    await a.close()
    await server.restart()
    async with http.get(f"{server.url}/metrics") as resp:
        text = await resp.text()
    assert re.search(r"^wac_queue_depth 3\.0$", text, re.MULTILINE)


async def test_openapi_describes_every_rest_route(
    server: ServerHandle, http: aiohttp.ClientSession
) -> None:
    status, doc = await call(http, "GET", f"{server.url}/api/openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    app = create_app(Settings(bcrypt_cost=4))
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        # Not REST: the docs themselves, the WebSocket and the web app's static files.
        and not route.resource.canonical.startswith(("/api/docs", "/api/openapi", "/ws", "/app"))
    }
    assert documented == served
    for item in doc["paths"].values():
        for op in item.values():
            assert op["operationId"]
            assert op["responses"]
    for name in ("KeysUpload", "Group", "ErrorResponse", "Bundle"):
        assert name in doc["components"]["schemas"]


async def test_swagger_ui_is_served_offline(
    server: ServerHandle, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{server.url}/api/docs") as resp:
        assert resp.status == 200
        page = await resp.text()
    local = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert local
    for ref in local:
        assert ref.startswith("/"), f"external asset {ref}"
        async with http.get(server.url + ref) as resp:
            assert resp.status == 200, ref
            body = await resp.read()
            assert len(body) > 0
    async with http.get(f"{server.url}/api/docs/init.js") as resp:
        assert "/api/openapi.json" in await resp.text()
    async with http.get(f"{server.url}/api/docs/assets/../../server.sqlite3") as resp:
        assert resp.status == 404


async def test_graceful_shutdown_closes_sockets_with_1001(
    server: ServerHandle, http: aiohttp.ClientSession, alice: Account
) -> None:
    a = await connect(http, server.ws_url, alice)
    unauthenticated = await http.ws_connect(server.ws_url)
    # Clients keep reading while the server stops, as real ones do.
    readers = [asyncio.ensure_future(ws.receive(timeout=30)) for ws in (a.ws, unauthenticated)]
    await server.stop()
    for ws, closing in zip((a.ws, unauthenticated), await asyncio.gather(*readers)):
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1001
        await ws.close()
    await server.start()
    assert await call(http, "GET", f"{server.url}/health") == (200, {"status": "ok"})
