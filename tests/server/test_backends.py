"""Choosing the backends: ``--database``/``--redis`` and their environment variables."""

from __future__ import annotations

import pathlib
import socket

import pytest

from whatsapp_client.server import backends
from whatsapp_client.server.cli import main, settings_from_args
from whatsapp_client.server.fanout import LocalFanout
from whatsapp_client.server.metrics import Metrics
from whatsapp_client.server.presence import PresenceHub
from whatsapp_client.server.redis_fanout import RedisFanout
from whatsapp_client.server.settings import Settings
from whatsapp_client.server.storage import SqliteStorage


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_the_environment_names_the_shared_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_SERVER_DATABASE", "postgresql://wac@db/wac")
    monkeypatch.setenv("WHATSAPP_SERVER_REDIS", "redis://cache:6379/0")
    monkeypatch.setenv("WHATSAPP_SERVER_REDIS_PRESENCE_TTL", "12")
    settings = settings_from_args(["--redis", "redis://other:6379/1"])
    assert settings.database == "postgresql://wac@db/wac"
    assert settings.redis == "redis://other:6379/1"  # the flag wins
    assert settings.redis_presence_ttl == 12.0


def test_sqlite_and_the_in_process_fanout_by_default(tmp_path: pathlib.Path) -> None:
    settings = Settings()
    assert settings.database is None and settings.redis is None
    storage = backends.make_storage(settings, str(tmp_path), Metrics())
    assert isinstance(storage, SqliteStorage)
    fanout = backends.make_fanout(settings, PresenceHub(), lambda user, stamp: None)
    assert isinstance(fanout, LocalFanout)
    redis = backends.make_fanout(
        settings.replace(redis="redis://127.0.0.1:1/0"), PresenceHub(), lambda u, s: None
    )
    assert isinstance(redis, RedisFanout)


def test_urls_of_the_wrong_kind_are_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(backends.BackendError, match="postgresql:// URL"):
        backends.make_storage(Settings(database="mysql://u:secret@db/x"), str(tmp_path), Metrics())
    with pytest.raises(backends.BackendError, match="redis:// or rediss://") as caught:
        backends.make_fanout(Settings(redis="http://u:secret@cache"), PresenceHub(), print)
    assert "secret" not in str(caught.value)


def test_database_without_the_postgres_storage_is_a_clear_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The storage module as it is before PostgresStorage lands (or in a trimmed build).
    monkeypatch.setattr(backends, "POSTGRES_MODULE", "whatsapp_client.server.storage.nowhere")
    argv = ["--port", "0", "--data", str(tmp_path / "d"), "--log-level", "ERROR"]
    assert main([*argv, "--database", "postgresql://wac:secret@127.0.0.1/wac"]) == 1
    err = capsys.readouterr().err
    assert "PostgreSQL storage is not available" in err
    assert "secret" not in err


def test_an_unreachable_redis_is_reported_without_its_password(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"redis://:hunter2@127.0.0.1:{_closed_port()}/0"
    argv = ["--port", "0", "--data", str(tmp_path / "d"), "--log-level", "ERROR"]
    assert main([*argv, "--redis", url]) == 1
    err = capsys.readouterr().err
    assert "cannot reach Redis at redis://:***@127.0.0.1:" in err
    assert "hunter2" not in err


def test_redact_url() -> None:
    assert backends.redact_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert backends.redact_url("postgresql://u:pw@db/x") == "postgresql://u:***@db/x"
    assert backends.redact_url("redis://h:6379/0") == "redis://h:6379/0"
