from __future__ import annotations

import json
from pathlib import Path

import pytest

from whatsapp_client.client import ClientConfig, WhatsAppClient
from whatsapp_client.client.config import DEFAULT_RECONNECT_DELAYS, build_config, load_config_file
from whatsapp_client.errors import ValidationError


def test_defaults_and_derived_values() -> None:
    cfg = build_config(overrides={"server_url": "http://127.0.0.1:9"}, environ={})
    assert cfg.reconnect_delays == DEFAULT_RECONNECT_DELAYS == (3.0, 6.0, 12.0, 24.0, 60.0)
    assert cfg.auto_reconnect is True
    assert cfg.prekey_count == 100
    assert cfg.prekey_refill_threshold == 20
    assert cfg.max_text_bytes == 10000
    assert cfg.media_max_bytes == 5 * 1024 * 1024
    assert cfg.ws_url == "ws://127.0.0.1:9/ws"
    assert build_config(overrides={"server_url": "https://h.example/"}, environ={}).ws_url == (
        "wss://h.example/ws"
    )
    assert cfg.storage_dir == Path.home() / ".whatsapp_client"


def test_priority_arguments_over_environment_over_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "server:\n  url: http://file:1\nstorage:\n  path: /from/file\n"
        "connection:\n  auto_reconnect: false\n  reconnect_delay: 5\n"
        "keys:\n  prekey_count: 200\nlogging:\n  level: debug\n",
        encoding="utf-8",
    )
    env = {"WHATSAPP_STORAGE_PATH": "/from/env", "WHATSAPP_PREKEY_COUNT": "150"}
    cfg = build_config(base=load_config_file(path), overrides={"prekey_count": 300}, environ=env)
    assert cfg.server_url == "http://file:1"
    assert cfg.storage_path == "/from/env"
    assert cfg.prekey_count == 300
    assert cfg.auto_reconnect is False
    assert cfg.reconnect_delays == (5.0, 10.0, 20.0, 40.0, 100.0)
    assert cfg.log_level == "debug"


def test_json_file_and_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {"server_url": "http://j:2", "reconnect_delays": [1, 2], "session_timeout_days": 60}
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("WHATSAPP_AUTO_RECONNECT", "no")
    client = WhatsAppClient.from_config(str(path), message_cache_size=5)
    assert client.config.server_url == "http://j:2"
    assert client.config.reconnect_delays == (1.0, 2.0)
    assert client.config.session_timeout_days == 60.0
    assert client.config.auto_reconnect is False
    assert client.config.message_cache_size == 5


def test_environment_used_by_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_SERVER_URL", "http://env:3")
    monkeypatch.setenv("WHATSAPP_RECONNECT_DELAYS", "0.5, 1,2")
    client = WhatsAppClient(storage_path="/tmp/x")
    assert client.config.server_url == "http://env:3"
    assert client.config.reconnect_delays == (0.5, 1.0, 2.0)
    assert client.config.storage_path == "/tmp/x"
    client2 = WhatsAppClient(server_url="http://arg:4")
    assert client2.config.server_url == "http://arg:4"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({}, "server_url is required"),
        ({"server_url": "ftp://x"}, "http(s)://"),
        ({"server_url": "http://x", "prekey_count": 0}, "prekey_count"),
        ({"server_url": "http://x", "prekey_count": "many"}, "prekey_count"),
        ({"server_url": "http://x", "auto_reconnect": "maybe"}, "auto_reconnect"),
        ({"server_url": "http://x", "reconnect_delays": []}, "reconnect_delays"),
        ({"server_url": "http://x", "reconnect_delays": [-1]}, "reconnect_delays"),
        ({"server_url": "http://x", "media_max_bytes": 17 * 1024 * 1024}, "16 MiB"),
        ({"server_url": "http://x", "log_level": "LOUD"}, "log_level"),
        ({"server_url": "http://x", "reconnect_jitter": 2}, "reconnect_jitter"),
        ({"server_url": "http://x", "prekey_refill_threshold": 500}, "prekey_refill_threshold"),
        ({"server_url": "http://x", "heartbeat_interval": 0}, "heartbeat_interval"),
        ({"server_url": "http://x", "durability": "yolo"}, "durability"),
        ({"server_url": "http://x", "bogus_option": 1}, "unknown config option"),
        ({"server_url": "http://x", "max_reconnect_attempts": -1}, "max_reconnect_attempts"),
        ({"server_url": "http://x", "session_timeout_days": 0}, "session_timeout_days"),
        ({"server_url": "http://x", "kdf_iterations": 0}, "kdf"),
        ({"server_url": "http://x", "max_text_bytes": 0}, "max_text_bytes"),
        ({"server_url": "http://x", "http_retries": -1}, "http_retries"),
        ({"server_url": "http://x", "message_cache_size": -1}, "message_cache_size"),
        ({"server_url": "http://x", "storage_path": ""}, "storage_path"),
        ({"server_url": 5}, "server_url"),
        ({"server_url": "http://x", "reconnect_delays": [True]}, "reconnect_delays"),
        ({"server_url": "http://x", "heartbeat_interval": True}, "heartbeat_interval"),
        ({"server_url": "http://x", "prekey_count": True}, "prekey_count"),
        ({"server_url": "http://x", "reconnect_delays": {"a": 1}}, "reconnect_delays"),
    ],
)
def test_invalid_options_are_refused(options: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        build_config(overrides=options, environ={})
    assert fragment in str(info.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read"):
        load_config_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid JSON"):
        load_config_file(bad)
    badyaml = tmp_path / "bad.yaml"
    badyaml.write_text("a: [1,\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="not valid YAML"):
        load_config_file(badyaml)
    lst = tmp_path / "list.yml"
    lst.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="mapping"):
        load_config_file(lst)
    txt = tmp_path / "c.toml"
    txt.write_text("x=1", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"\.yaml"):
        load_config_file(txt)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_config_file(empty) == {}
    with pytest.raises(ValidationError, match="keys must be strings"):
        build_config(
            base={1: "x"},  # type: ignore[dict-item]
            overrides={"server_url": "http://x"},
            environ={},
        )


def test_replace_and_to_dict() -> None:
    cfg = ClientConfig(server_url="http://x")
    cfg2 = cfg.replace(auto_reconnect=False)
    assert cfg2.auto_reconnect is False
    assert cfg.auto_reconnect is True
    assert cfg2.to_dict()["server_url"] == "http://x"
    assert "storage_path" in ClientConfig.fields()
    with pytest.raises(ValidationError):
        cfg.replace(prekey_count=-5)


def test_kdf_below_the_owasp_floor_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite runs with WAC1_TEST_WEAK_KDF=1; a user's process does not.
    monkeypatch.delenv("WAC1_TEST_WEAK_KDF", raising=False)
    for weak in ({"kdf_memory_kib": 256}, {"kdf_iterations": 1}):
        with pytest.raises(ValidationError, match="OWASP floor"):
            build_config(overrides={"server_url": "http://x", **weak}, environ={})
    with pytest.raises(ValidationError, match="kdf_memory_kib must be <="):
        build_config(overrides={"server_url": "http://x", "kdf_memory_kib": 1 << 30}, environ={})
    floor = build_config(
        overrides={"server_url": "http://x", "kdf_memory_kib": 19456, "kdf_iterations": 2},
        environ={},
    )
    assert (floor.kdf_memory_kib, floor.kdf_iterations) == (19456, 2)
