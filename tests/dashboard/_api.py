"""The gateway's JSON API from the test thread (plain ``requests``), for the set-up a test
does not do through the browser: change the first-start password, make users and sessions,
and check what the dashboard showed against what the gateway holds."""

from __future__ import annotations

import itertools
import os
import time
from typing import Any, Optional

import requests

API = "/api/v1"
SESSION_PASSWORD = "correct horse battery"
_names = itertools.count()


def unique_name(prefix: str = "dash") -> str:
    return f"{prefix}{os.getpid() % 1000}_{next(_names)}"


class ApiError(AssertionError):
    pass


class Api:
    """One logged-in user, by bearer token."""

    def __init__(self, base_url: str, email: str, password: str) -> None:
        self.base_url = base_url
        self.email = email
        self.password = password
        self.http = requests.Session()
        self.user: dict[str, Any] = {}
        self.login()

    def login(self) -> None:
        body = self.call("POST", "/auth/login", {"email": self.email, "password": self.password})
        self.http.headers["Authorization"] = f"Bearer {body['access_token']}"
        self.http.cookies.clear()  # bearer only: no CSRF token needed
        self.user = body["user"]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        expect: int | tuple[int, ...] = (200, 201, 202, 204),
        params: Optional[dict[str, str]] = None,
    ) -> Any:
        response = self.http.request(
            method, self.base_url + API + path, json=body, params=params, timeout=30
        )
        wanted = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in wanted:
            raise ApiError(f"{method} {path}: {response.status_code} {response.text}")
        if response.content and response.headers.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response.json()
        return None

    def change_password(self, new_password: str) -> None:
        self.call(
            "POST",
            "/auth/password",
            {"current_password": self.password, "new_password": new_password},
        )
        self.password = new_password
        self.login()

    def create_user(self, email: str, password: str, role: str = "user") -> dict[str, Any]:
        """A user whose password is already chosen (no change at first login)."""
        return dict(
            self.call("POST", "/users", {"email": email, "role": role, "password": password})
        )

    def create_session(
        self,
        chat_url: str,
        name: Optional[str] = None,
        webhooks: Optional[list[dict[str, Any]]] = None,
    ) -> dict[str, Any]:
        """A wac1 session registering a new account on the chat server."""
        name = name or unique_name()
        body: dict[str, Any] = {
            "name": name,
            "engine": "wac1",
            "server_url": chat_url,
            "username": name,
            "password": SESSION_PASSWORD,
            "register": True,
        }
        if webhooks is not None:
            body["webhooks"] = webhooks
        return dict(self.call("POST", "/sessions", body))

    def session(self, session_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/sessions/{session_id}"))

    def wait_status(self, session_id: str, status: str, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while True:
            now = self.session(session_id)["status"]
            if now == status:
                return
            if time.monotonic() > end:
                raise AssertionError(f"session {session_id} is {now}, not {status}")
            time.sleep(0.1)

    def messages(self, session_id: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/sessions/{session_id}/messages")["messages"])

    def send_text(self, session_id: str, to: str, text: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/sessions/{session_id}/messages", {"to": to, "text": text}))
