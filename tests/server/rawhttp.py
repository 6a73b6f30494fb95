"""Raw TCP clients for tests that must send what an HTTP library would not."""

from __future__ import annotations

import asyncio
import json
from typing import Any

# Generous: only there so a broken server fails a test instead of hanging it.
WAIT = 30.0


async def open_raw(port: int, host: str = "127.0.0.1") -> tuple[asyncio.StreamReader, Any]:
    reader, writer = await asyncio.open_connection(host, port)
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection (EOF or reset) before WAIT runs out."""
    try:
        while await asyncio.wait_for(reader.read(65536), WAIT):
            pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except asyncio.TimeoutError:
        return False
    return True


async def exchange(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as is; the status, headers and body of the answer."""
    reader, writer = await open_raw(port)
    try:
        writer.write(data)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), WAIT) if length else b""
        return status, headers, body
    finally:
        writer.close()


def json_error_code(headers: dict[str, str], body: bytes) -> str:
    assert headers.get("content-type", "").startswith("application/json"), headers
    decoded = json.loads(body)
    assert set(decoded) == {"error"} and set(decoded["error"]) == {"code", "message"}, decoded
    code: str = decoded["error"]["code"]
    return code
