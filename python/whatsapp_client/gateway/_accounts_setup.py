"""Builds the operator account parts the application runs on (kept out of ``_app``)."""

from __future__ import annotations

from whatsapp_client.gateway._accounts import Accounts, check_settings
from whatsapp_client.gateway._auth import ApiKeys, FailureThrottle
from whatsapp_client.gateway._auth_middleware import Authenticator, auth_middleware
from whatsapp_client.gateway._browser_sessions import BrowserSessions
from whatsapp_client.gateway._routes_auth import ACCOUNTS, AccountsContext
from whatsapp_client.gateway._settings import GatewaySettings
from whatsapp_client.gateway._storage import Storage
from whatsapp_client.gateway._tokens import Tokens

__all__ = ["ACCOUNTS", "AccountsContext", "auth_middleware", "make"]


def make(storage: Storage, settings: GatewaySettings, keys: ApiKeys) -> AccountsContext:
    check_settings(settings)  # a weak first-admin password stops the start here
    window = settings.login_failure_window_seconds
    return AccountsContext(
        accounts=Accounts(storage, settings),
        auth=Authenticator(
            storage, keys, Tokens(storage, settings), BrowserSessions(storage, settings)
        ),
        by_address=FailureThrottle(settings.login_failures_per_address, window),
        by_email=FailureThrottle(settings.login_failures_per_email, window),
    )
