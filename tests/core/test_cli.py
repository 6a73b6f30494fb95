"""The command line: usage, unknown commands, and the crypto self-check."""

from __future__ import annotations

import subprocess
import sys

import pytest

from whatsapp_client.cli import main


def test_no_arguments_prints_usage_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: whatsapp-client" in capsys.readouterr().out


def test_help_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "selfcheck" in capsys.readouterr().out


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_selfcheck_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selfcheck"]) == 0
    out = capsys.readouterr().out
    assert "self-check passed" in out
    assert "Hello Bob" in out


def test_module_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "whatsapp_client", "selfcheck"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "self-check passed" in done.stdout
