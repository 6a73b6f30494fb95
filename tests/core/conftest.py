"""Fixtures for the crypto-core tests: the WAC1 vector directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

_DEFAULT = Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors"


def vectors_dir() -> Path:
    """`WAC1_VECTORS`, or `../shared/vectors` beside the repository. Missing is an error."""
    directory = Path(os.environ.get("WAC1_VECTORS", str(_DEFAULT))).resolve()
    if not (directory / "primitives.json").is_file():
        raise RuntimeError(
            f"WAC1 vectors not found in {directory}; set WAC1_VECTORS to the vectors directory"
        )
    return directory


@pytest.fixture(scope="session")
def vectors() -> Path:
    return vectors_dir()


def load(directory: Path, name: str) -> Any:
    with open(directory / name, encoding="utf-8") as handle:
        return json.load(handle)
