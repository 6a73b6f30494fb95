"""``whatsapp-client gateway``: help, settings from a file, the environment and flags (in
that order of precedence), and refusals that stop the start with a clear message."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.gateway._api_support import ADMIN_KEY
from whatsapp_client.gateway._cli import main, serve
from whatsapp_client.gateway._config import ConfigError, coerce, load_settings
from whatsapp_client.gateway._logs import configure_logging

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
        ({"WHATSAPP_GATEWAY_RATE_LIMIT_PER_MINUTE": "100001"}, "at most 100000"),
        ({"WHATSAPP_GATEWAY_DELIVERY_RETENTION_SECONDS": "0"}, "delivery_retention_seconds"),
        ({"WHATSAPP_GATEWAY_RETENTION_SWEEP_INTERVAL": "0"}, "retention_sweep_interval"),
        ({"WHATSAPP_GATEWAY_LEASE_TTL": "0.5"}, "lease_ttl must be at least 1"),
        ({"WHATSAPP_GATEWAY_QUEUE_POLL_INTERVAL": "0"}, "queue_poll_interval"),
        (
            {"WHATSAPP_GATEWAY_LEASE_TTL": "2", "WHATSAPP_GATEWAY_QUEUE_POLL_INTERVAL": "3"},
            "at most lease_ttl",
        ),
        ({"WHATSAPP_GATEWAY_PROCESS_ID": "two words"}, "process_id"),
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


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_serve_over_tls_until_stopped(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    settings = load_settings(
        {
            "port": 0,
            "data_dir": str(tmp_path / "data"),
            "tls_cert": str(cert),
            "tls_key": str(key),
            "api_keys": ADMIN_KEY,
        },
        env={},
    )
    stop = asyncio.Event()
    urls: list[str] = []
    task = asyncio.ensure_future(serve(settings, stop=stop, on_listening=urls.append))
    try:
        while not urls:
            await asyncio.sleep(0.02)
            assert not task.done(), task
        assert urls[0].startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession() as http:
            async with http.get(urls[0] + "/health", ssl=context) as answer:
                assert answer.status == 200
            async with http.get(
                urls[0] + "/api/v1/sessions", ssl=context, headers={"X-API-Key": ADMIN_KEY}
            ) as answer:
                assert answer.status == 200
    finally:
        stop.set()
        await task


def test_a_bad_tls_key_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert, _ = _self_signed(tmp_path)
    (tmp_path / "bad.pem").write_text("not a key")
    status = main(
        [
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
            "--api-keys",
            ADMIN_KEY,
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(tmp_path / "bad.pem"),
        ]
    )
    assert status == 1
    assert "whatsapp-client gateway:" in capsys.readouterr().err


def test_bool_and_float_settings_coerce() -> None:
    settings = load_settings(
        {},
        env={
            "WHATSAPP_GATEWAY_WEBHOOK_BLOCK_PRIVATE": "yes",
            "WHATSAPP_GATEWAY_WEBHOOK_TIMEOUT": "2.5",
            "WHATSAPP_GATEWAY_BASE_URL": "",
        },
    )
    assert settings.webhook_block_private is True
    assert settings.webhook_timeout == 2.5
    assert settings.base_url is None
    for name, raw in (
        ("WEBHOOK_BLOCK_PRIVATE", "maybe"),
        ("WEBHOOK_TIMEOUT", "soon"),
        ("HOST", ""),
    ):
        with pytest.raises(ConfigError, match=name.lower() if name == "HOST" else name):
            load_settings({}, env={f"WHATSAPP_GATEWAY_{name}": raw})
    assert coerce("webhook_timeout", 3) == 3.0
    assert coerce("webhook_block_private", False) is False
    with pytest.raises(ValueError, match="a string"):
        coerce("host", 5)


def test_configure_logging_is_idempotent() -> None:
    root = logging.getLogger("whatsapp_client")
    before = list(root.handlers)
    try:
        configure_logging("warning")
        configure_logging("info")
        ours = [h for h in root.handlers if getattr(h, "_wac_json", False)]
        assert len(ours) == 1 and root.level == logging.INFO
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.propagate = True
        root.setLevel(logging.NOTSET)
