"""Coalesced writes: the TCP cork is on only inside the block, only for bursts, and the
helper is harmless on sockets that cannot be corked."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from whatsapp_client._coalesce import coalesced_writes

CORK: int | None = getattr(socket, "TCP_CORK", None)


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        try:
            yield client, peer
        finally:
            client.close()
            peer.close()


def _info(sock: Any) -> Any:
    return lambda name: sock if name == "socket" else None


def _corked(sock: socket.socket) -> bool:
    assert CORK is not None
    return bool(sock.getsockopt(socket.IPPROTO_TCP, CORK))


def test_a_burst_is_corked_and_released(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client, peer = tcp_pair
    with coalesced_writes(_info(client)):
        if CORK is not None:
            assert _corked(client)
        client.sendall(b"one")
        client.sendall(b"two")
    if CORK is not None:
        assert not _corked(client)
    # Everything written inside the block arrives once the block ends.
    peer.settimeout(5)
    data = b""
    while len(data) < 6:
        data += peer.recv(16)
    assert data == b"onetwo"


def test_a_single_frame_is_not_corked(tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client, _ = tcp_pair
    with coalesced_writes(_info(client), burst=False):
        if CORK is not None:
            assert not _corked(client)


def test_sockets_that_cannot_be_corked_are_left_alone() -> None:
    left, right = socket.socketpair()  # a Unix socket where available: no TCP options
    with left, right:
        with coalesced_writes(_info(left)):
            left.sendall(b"x")
        assert right.recv(1) == b"x"
    with coalesced_writes(_info(None)):  # no socket at all (a closed transport)
        pass


def test_the_cork_is_released_when_the_block_fails(
    tcp_pair: tuple[socket.socket, socket.socket],
) -> None:
    client, _ = tcp_pair
    with pytest.raises(RuntimeError), coalesced_writes(_info(client)):
        raise RuntimeError("a write failed")
    if CORK is not None:
        assert not _corked(client)
