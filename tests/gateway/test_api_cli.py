"""``whatsapp-client gateway``: help, settings from a file, the environment and flags (in
that order of precedence), and refusals that stop the start with a clear message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from whatsapp_client.gateway._cli import main
from whatsapp_client.gateway._config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "python"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "whatsapp_client", "gateway", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def test_help_lists_every_option_and_the_environment() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for option in ("--host", "--port", "--data-dir", "--base-url", "--config", "--tls-cert"):
        assert option in result.stdout
    assert "WHATSAPP_GATEWAY_" in result.stdout


def test_top_level_help_names_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "whatsapp_client", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "python")},
        timeout=60,
        check=False,
    )
    assert "gateway" in result.stdout


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "gateway.json"
    config.write_text(json.dumps({"port": 9001, "max-queue": 7, "base_url": "https://a.example"}))
    settings = load_settings(
        {"config": str(config), "max_queue": 9},
        env={"WHATSAPP_GATEWAY_PORT": "9002", "WHATSAPP_GATEWAY_MAX_QUEUE": "8"},
    )
    assert (settings.port, settings.max_queue, settings.base_url) == (9002, 9, "https://a.example")


def test_yaml_config_and_config_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("webhook_block_private: true\nrate_limit_per_minute: 20\n")
    settings = load_settings({}, env={"WHATSAPP_GATEWAY_CONFIG": str(config)})
    assert settings.webhook_block_private is True
    assert settings.rate_limit_per_minute == 20


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ('{"prot": 1}', ".json", "unknown setting 'prot'"),
        ('{"port": "many"}', ".json", "expected a whole number"),
        ("[1, 2]", ".json", "top level must be a mapping"),
        ("{not json", ".json", "config file"),
        ("port: [1\n", ".yaml", "config file"),
    ],
)
def test_bad_config_files_are_refused(
    tmp_path: Path, content: str, suffix: str, message: str
) -> None:
    config = tmp_path / f"gateway{suffix}"
    config.write_text(content)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_settings({"config": str(config)}, env={})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WHATSAPP_GATEWAY_PORT": "eighty"}, "WHATSAPP_GATEWAY_PORT"),
        ({"WHATSAPP_GATEWAY_TLS_CERT": "/x/cert.pem"}, "tls_cert and tls_key"),
        ({"WHATSAPP_GATEWAY_TRUSTED_PROXIES": "10.0.0.1, nginx"}, "'nginx'"),
        ({"WHATSAPP_GATEWAY_BASE_URL": "gateway.example"}, "base_url"),
        ({"WHATSAPP_GATEWAY_MAX_QUEUE": "0"}, "max_queue"),
    ],
)
def test_bad_environment_is_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({}, env=env)


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "nope.json")]) == 2
    assert "nope.json" in capsys.readouterr().err


def test_a_default_looking_key_stops_the_start(tmp_path: Path) -> None:
    result = _run(
        "--data-dir",
        str(tmp_path / "data"),
        "--port",
        "0",
        env={"WHATSAPP_GATEWAY_API_KEYS": "changeme"},
    )
    assert result.returncode == 2
    assert "at least 24 characters" in result.stderr
    assert "changeme" not in result.stderr  # the key itself is not echoed
    assert not (tmp_path / "data").exists()
