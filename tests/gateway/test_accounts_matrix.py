"""Every route of the gateway, enumerated from the application's router (a new route
without an expectation here fails the test) for each of {anonymous, the owner (a user), another
user, an admin}: the status each gets. Another user's session is 404, like a missing
one. Public routes (probes, the API description, login, the dashboard's files, Meta's
webhook) answer the same to everyone and never 401/403."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Callable, Optional, Union

from tests.gateway._accounts_support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    USER_PASSWORD,
    Login,
    accounts_gateway,
    close_browsers,
    login,
    make_user,
)
from tests.gateway._api_support import ON_BOTH_BACKENDS, PASSWORD, GatewayHandle, wait_status
from whatsapp_client.gateway._auth_middleware import is_public
from whatsapp_client.server.testing import ServerHandle

pytestmark = ON_BOTH_BACKENDS

WHO = ("anonymous", "owner", "other", "admin")
# A status, or a status and a fragment of the error message (to tell one 404 from another).
Expect = Union[int, tuple[int, str]]
S = "/api/v1/sessions/{session_id}"
NO_SESSION = (404, "no session")

# (method, route): the expected answer of anonymous, owner, other user, admin; and the
# body sent. HEAD is checked as its GET.
EXPECTED: dict[tuple[str, str], tuple[tuple[Expect, Expect, Expect, Expect], Any]] = {
    ("POST", "/api/v1/sessions"): ((401, 201, 201, 201), "new-session"),
    ("GET", "/api/v1/sessions"): ((401, 200, 200, 200), None),
    ("GET", S): ((401, 200, NO_SESSION, 200), None),
    ("PATCH", S): ((401, 200, NO_SESSION, 200), {"rate_limit_per_minute": 600}),
    ("DELETE", S): ((401, 204, NO_SESSION, 204), None),
    ("POST", f"{S}/stop"): ((401, 200, NO_SESSION, 200), None),
    ("POST", f"{S}/restart"): ((401, 200, NO_SESSION, 200), None),
    ("POST", f"{S}/messages"): ((401, 202, NO_SESSION, 202), "send"),
    ("GET", f"{S}/messages"): ((401, 200, NO_SESSION, 200), None),
    ("GET", f"{S}/messages/{{message_id}}"): ((401, 200, NO_SESSION, 200), None),
    ("GET", f"{S}/media/{{media_id}}"): (
        (401, (404, "no media"), NO_SESSION, (404, "no media")),
        None,
    ),
    ("GET", f"{S}/webhooks"): ((401, 200, NO_SESSION, 200), None),
    ("GET", f"{S}/deliveries"): ((401, 200, NO_SESSION, 200), None),
    ("POST", f"{S}/deliveries/{{seq}}/redeliver"): (
        (401, (404, "delivery"), NO_SESSION, (404, "delivery")),
        None,
    ),
    ("POST", "/api/v1/keys"): ((401, 201, 201, 201), {"name": "k", "scope": "read"}),
    ("GET", "/api/v1/keys"): ((401, 200, 200, 200), None),
    ("GET", "/api/v1/keys/{key_id}"): ((401, 200, 404, 200), None),
    ("DELETE", "/api/v1/keys/{key_id}"): ((401, 204, 404, 204), None),
    ("GET", "/metrics"): ((401, 403, 403, 200), None),
    ("POST", "/api/v1/auth/logout"): ((401, 204, 204, 204), None),
    ("GET", "/api/v1/auth/me"): ((401, 200, 200, 200), None),
    ("POST", "/api/v1/auth/password"): (
        (401, 400, 400, 400),
        {"current_password": "not-the-password", "new_password": "a new long passphrase"},
    ),
    ("GET", "/api/v1/users"): ((401, 403, 403, 200), None),
    ("POST", "/api/v1/users"): ((401, 403, 403, 201), "new-user"),
    ("GET", "/api/v1/users/{user_id}"): ((401, 403, 403, 200), None),
    ("PATCH", "/api/v1/users/{user_id}"): ((401, 403, 403, 200), {"disabled": False}),
    ("DELETE", "/api/v1/users/{user_id}"): ((401, 403, 403, 204), None),
    ("POST", "/api/v1/users/{user_id}/reset-password"): ((401, 403, 403, 200), None),
    # The live data routes (issue 14's contract), checked once they are merged in.
    ("GET", "/api/v1/events/stream"): ((401, 200, 200, 200), None),
    ("GET", f"{S}/stats"): ((401, 200, NO_SESSION, 200), None),
    ("GET", "/api/v1/logs"): ((401, 200, 200, 200), None),
}
# Public routes' bodies (the answer must not depend on who asks).
PUBLIC_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/auth/login"): {"email": "nobody@example.test", "password": "x" * 12},
    ("POST", "/api/v1/auth/refresh"): {"refresh_token": "wrt_not-a-token"},
}
# Routes that destroy their target get a fresh one for each caller.
DESTRUCTIVE = {
    ("DELETE", S),
    ("DELETE", "/api/v1/keys/{key_id}"),
    ("DELETE", "/api/v1/users/{user_id}"),
}

_names = itertools.count()
LOGOUT = ("POST", "/api/v1/auth/logout")
PEER = "mxpeer"


async def _ask(
    gw: GatewayHandle, caller: Optional[Login], method: str, path: str, body: Any
) -> tuple[int, str]:
    headers = {} if caller is None else {"Authorization": f"Bearer {caller.access}"}
    async with gw.http.request(
        method, gw.url + path, json=body, headers=headers, allow_redirects=False
    ) as response:
        if response.content_type == "text/event-stream":
            return response.status, ""  # a stream: the status line is the answer
        raw = await response.read()
    text = ""
    if raw and response.content_type == "application/json":
        error = json.loads(raw).get("error") if raw.startswith(b"{") else None
        text = error["message"] if isinstance(error, dict) else ""
    return response.status, text


class World:
    """The resources the routes act on: the owner's session (connected), a message in
    it, the owner's key, a user to manage; fresh ones for destructive routes."""

    def __init__(self, gw: GatewayHandle, chat: ServerHandle, owner: Login) -> None:
        self.gw, self.chat, self.owner = gw, chat, owner
        # "path": a dashboard asset (/dashboard/{path}, public like the page itself).
        self.values: dict[str, str] = {
            "media_id": "med_none",
            "seq": "1",
            "name": "x",
            "path": "app.css",
        }

    async def session(self, name: Optional[str] = None) -> str:
        name = name or f"mx{next(_names)}"
        body = {
            "name": name,
            "engine": "wac1",
            "server_url": self.chat.url,
            "username": name,
            "password": PASSWORD,
            "register": True,
        }
        created = await self.owner.bearer("POST", "/api/v1/sessions", json_body=body)
        assert created.status == 201, created.body
        return str(created.body["id"])

    async def key(self) -> str:
        made = await self.owner.bearer(
            "POST", "/api/v1/keys", json_body={"name": "mine", "scope": "read"}
        )
        assert made.status == 201, made.body
        return str(made.body["id"])

    async def user(self) -> str:
        made = await self.gw.call(
            "POST", "/api/v1/users", json_body={"email": f"victim{next(_names)}@example.test"}
        )
        assert made.status == 201, made.body
        return str(made.body["user"]["id"])

    async def setup(self) -> None:
        await self.session(PEER)  # registers the user the messages go to
        sid = await self.session()
        await wait_status(self.gw, sid, "connected")
        sent = await self.owner.bearer(
            "POST", f"/api/v1/sessions/{sid}/messages", json_body={"to": PEER, "text": "hello"}
        )
        assert sent.status == 202, sent.body
        self.values.update(
            session_id=sid,
            message_id=sent.body["id"],
            key_id=await self.key(),
            user_id=await self.user(),
        )

    async def fill(self, method: str, route: str) -> str:
        values = dict(self.values)
        if (method, route) in DESTRUCTIVE:
            maker: Callable[[], Any] = (
                self.session if route == S else self.key if "keys" in route else self.user
            )
            param = "session_id" if route == S else "key_id" if "keys" in route else "user_id"
            values[param] = await maker()
        return route.format(**values)


def _body(spec: Any) -> Any:
    if spec == "new-session":
        return {
            "name": f"mx{next(_names)}",
            "engine": "wac1",
            "server_url": "http://127.0.0.1:9",
            "username": f"mx{next(_names)}",
            "password": PASSWORD,
        }
    if spec == "new-user":
        return {"email": f"made{next(_names)}@example.test"}
    if spec == "send":
        return {"to": PEER, "text": "again"}
    return spec


def _matches(got: tuple[int, str], want: Expect) -> bool:
    if isinstance(want, int):
        return got[0] == want
    return got[0] == want[0] and want[1] in got[1]


async def test_every_route_for_every_kind_of_caller(
    tmp_path: Path, chat_server: ServerHandle
) -> None:
    async with accounts_gateway(
        tmp_path / "gw", auth_failures_per_address=100_000, login_failures_per_address=100_000
    ) as gw:
        _, admin = await login(gw, ADMIN_EMAIL, ADMIN_PASSWORD)
        owner = await make_user(gw, "owner@example.test")
        other = await make_user(gw, "other@example.test")
        world = World(gw, chat_server, owner)
        await world.setup()
        callers = {"anonymous": None, "owner": owner, "other": other, "admin": admin}
        passwords = {"owner": USER_PASSWORD, "other": USER_PASSWORD, "admin": ADMIN_PASSWORD}
        assert gw.runner is not None
        routes = sorted(
            {
                (r.method, r.resource.canonical)
                for r in gw.runner.app.router.routes()
                if r.resource is not None
            }
        )
        failures: list[str] = []
        checked = 0
        for method, route in routes:
            as_get = "GET" if method == "HEAD" else method
            entry = EXPECTED.get((as_get, route))
            public = is_public(route.format(**world.values))
            if entry is None and not public:
                failures.append(f"{method} {route}: no expectation (add it to EXPECTED)")
                continue
            answers = {}
            for who in WHO:
                caller = callers[who]
                if (method, route) == LOGOUT and caller is not None:
                    # A logout ends the token it is sent with: a login of its own.
                    _, caller = await login(gw, caller.user["email"], passwords[who])
                path = await world.fill(as_get, route)
                body = _body(entry[1]) if entry else PUBLIC_BODIES.get((method, route))
                answers[who] = await _ask(gw, caller, method, path, body)
                checked += 1
            if entry is None:  # public: the same for everyone
                statuses = {a[0] for a in answers.values()}
                # (a login's 401 is about the credentials in its body, not the caller)
                refused = statuses & {401, 403} and (method, route) not in PUBLIC_BODIES
                if len(statuses) != 1 or refused:
                    failures.append(f"{method} {route}: public but answered {answers}")
                continue
            for who, want in zip(WHO, entry[0]):
                if method == "HEAD" and not isinstance(want, int):
                    want = want[0]  # no body to read the message from
                if not _matches(answers[who], want):
                    failures.append(f"{method} {route} as {who}: {answers[who]}, want {want}")
        assert not failures, "\n".join(failures)
        assert checked >= 4 * 50
        await close_browsers(gw)
