"""The reference server of the WAC1 protocol: aiohttp + SQLite.

Run it with ``whatsapp-client serve`` or ``python -m whatsapp_client.server``; embed it
with :func:`create_app`, or in tests with :func:`whatsapp_client.server.testing.running_server`.
"""

from __future__ import annotations

from whatsapp_client.server.app import create_app
from whatsapp_client.server.settings import Settings, settings_from_env

__all__ = ["Settings", "create_app", "settings_from_env"]
