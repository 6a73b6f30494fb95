"""Settings from flags and ``WHATSAPP_SERVER_*`` variables; the module entry point."""

from __future__ import annotations

import subprocess
import sys

import pytest

from whatsapp_client.server.cli import build_parser, main, settings_from_args
from whatsapp_client.server.settings import Settings, settings_from_env


def test_environment_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_SERVER_PORT", "9001")
    monkeypatch.setenv("WHATSAPP_SERVER_BCRYPT_COST", "5")
    monkeypatch.setenv("WHATSAPP_SERVER_ACCESS_LOG", "false")
    monkeypatch.setenv("WHATSAPP_SERVER_DATA", "/tmp/somewhere")
    monkeypatch.setenv("WHATSAPP_SERVER_MESSAGES_PER_SECOND", "2.5")
    settings = settings_from_args(["--port", "9002", "--max-group-size", "7"])
    assert settings.port == 9002  # the flag wins
    assert settings.bcrypt_cost == 5
    assert settings.access_log is False
    assert settings.data == "/tmp/somewhere"
    assert settings.messages_per_second == 2.5
    assert settings.max_group_size == 7
    assert settings_from_args(["--access-log"]).access_log is True


def test_defaults_match_the_protocol() -> None:
    defaults = settings_from_env({})
    assert defaults == Settings()
    assert defaults.host == "127.0.0.1"
    assert defaults.port == 8080
    assert defaults.max_frame_bytes == 8 * 1024 * 1024
    assert defaults.auth_timeout == 10.0


def test_every_setting_has_a_flag() -> None:
    flags = {a.dest for a in build_parser()._actions}
    assert set(Settings.__dataclass_fields__) <= flags


def test_bad_values_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "eighty"]) == 2
    assert "invalid literal" in capsys.readouterr().out
    with pytest.raises(ValueError, match="boolean"):
        settings_from_env({"WHATSAPP_SERVER_ACCESS_LOG": "maybe"})


def test_module_entry_point_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "whatsapp_client.server", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "--port" in result.stdout
    assert "WHATSAPP_SERVER_" in result.stdout
