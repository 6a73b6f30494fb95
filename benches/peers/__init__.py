"""Adapters that give our core and the peer libraries one small interface (see ``base``).

``load(name)`` imports an adapter on demand, so a benchmark run needs only the libraries it
measures: our core always, the peers when installed (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import Endpoint, Established, Implementation

OURS = "whatsapp-client"
BASELINE = "vodozemac"

ADAPTERS: dict[str, tuple[str, str, str]] = {
    # name: (adapter module, class, the library it needs)
    OURS: ("peers.ours", "Ours", "whatsapp_client"),
    "vodozemac": ("peers.vodozemac_peer", "Vodozemac", "vodozemac"),
    "python-olm": ("peers.olm_peer", "Olm", "olm"),
    "doubleratchet": ("peers.doubleratchet_peer", "PyDoubleRatchet", "doubleratchet"),
}
"""Every implementation benchmarked, ours first, in report order."""


class NotInstalled(Exception):
    """The library an adapter wraps is not installed."""


def load(name: str) -> Implementation[Any, Any]:
    """The adapter for ``name``; raises ``NotInstalled`` when its library is missing."""
    module_name, class_name, library = ADAPTERS[name]
    try:
        importlib.import_module(library)
    except ImportError as e:
        raise NotInstalled(f"{library} is not installed: {e}") from e
    adapter: type[Implementation[Any, Any]] = getattr(
        importlib.import_module(module_name), class_name
    )
    return adapter()


__all__ = [
    "ADAPTERS",
    "BASELINE",
    "OURS",
    "Endpoint",
    "Established",
    "Implementation",
    "NotInstalled",
    "load",
]
