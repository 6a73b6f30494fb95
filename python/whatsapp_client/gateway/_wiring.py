"""The real parts of a gateway: the Vault under the data directory's master key, the
storage (SQLite, or PostgreSQL with ``database``), the webhook dispatcher, and the service
running the engines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from whatsapp_client.gateway._app import Components
from whatsapp_client.gateway._cloud_config import CloudFactory, CloudOptions
from whatsapp_client.gateway._database import make_storage
from whatsapp_client.gateway._dispatcher import WebhookDispatcher
from whatsapp_client.gateway._engine import EngineFactory
from whatsapp_client.gateway._event_hub import EventHub
from whatsapp_client.gateway._live import Live, storage_counters
from whatsapp_client.gateway._metrics import GatewayMetrics
from whatsapp_client.gateway._service import Gateway
from whatsapp_client.gateway._session_leases import process_id as default_process_id
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._vault import Vault
from whatsapp_client.gateway._wac1_config import Wac1Factory, Wac1Options


def build_components(
    settings: GatewaySettings,
    data_dir: Path,
    *,
    client_options: Optional[Mapping[str, Any]] = None,
) -> Components:
    """``client_options``: extra options of every session's client (tests: cheap key
    derivation); None for the defaults."""
    metrics = GatewayMetrics()
    vault = Vault.load(data_dir)
    storage = make_storage(settings, data_dir, vault)
    # This process's id in the session leases and endpoint claims (several processes).
    process_id = default_process_id(settings.process_id, settings.port)
    dispatcher = WebhookDispatcher(storage, settings, metrics, owner=process_id)
    hub = EventHub(counters=storage_counters(storage))  # live data for the dashboard
    engines: dict[str, EngineFactory] = {
        "wac1": Wac1Factory(Wac1Options.from_settings(settings, client_options)),
        "cloud": CloudFactory(CloudOptions.from_settings(settings), registry=metrics.registry),
    }
    service = Gateway(
        settings,
        storage,
        vault,
        metrics,
        engines=engines,
        wake=dispatcher.wake,
        data_dir=data_dir,
        live=hub,
        owner=process_id,
    )
    return Components(
        storage=storage,
        service=service,
        dispatcher=dispatcher,
        metrics=metrics,
        live=Live.from_settings(settings, hub),
    )
