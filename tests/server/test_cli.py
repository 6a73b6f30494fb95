"""Settings from flags and ``WHATSAPP_SERVER_*`` variables; the module entry point."""

from __future__ import annotations

import pathlib
import socket
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
    err = capsys.readouterr().err
    assert "--port" in err  # the option is named
    assert "'eighty'" in err
    with pytest.raises(ValueError, match=r"WHATSAPP_SERVER_ACCESS_LOG.*boolean"):
        settings_from_env({"WHATSAPP_SERVER_ACCESS_LOG": "maybe"})
    with pytest.raises(ValueError, match=r"WHATSAPP_SERVER_PORT.*whole number"):
        settings_from_env({"WHATSAPP_SERVER_PORT": "1_0"})


def test_help_is_plain_text_with_one_default_each() -> None:
    text = build_parser().format_help()
    assert "``" not in text and ":class:" not in text and ":mod:" not in text
    flat = " ".join(text.split())
    for field in Settings.__dataclass_fields__:
        flag = "--" + field.replace("_", "-")
        options = flat.index("options:")
        start = max(flat.find(flag + " ", options), flat.find(flag + ",", options))
        end = flat.find(" --", flat.find(" ", start + len(flag) + 1) + 1)
        while end != -1 and flat.startswith(" --no-", end):
            end = flat.find(" --", end + 1)
        entry = flat[start : end if end != -1 else len(flat)]
        assert entry.count("(default:") <= 1, entry
        assert "(default: None)" not in entry, entry
    assert "(default: 8080)" in flat


def test_port_in_use_is_reported_before_the_database_is_created(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    data = tmp_path / "data"
    try:
        assert main(["--port", str(port), "--data", str(data), "--log-level", "ERROR"]) == 1
    finally:
        taken.close()
    assert "already in use" in capsys.readouterr().err
    assert not data.exists()


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
