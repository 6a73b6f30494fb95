"""The dashboard's static files: served at ``/`` and ``/dashboard/`` without a key, with the
right content types, a strict CSP and cache headers; nothing outside the directory; no
inline script or style; every imported ES module exists; the contract's names are there."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.gateway._api_support import GatewayHandle
from whatsapp_client.gateway import _routes_dashboard
from whatsapp_client.gateway._routes_dashboard import CSP, ROOT

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
ASSETS = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file())
MODULES = sorted(p for p in ROOT.rglob("*.js"))
# `import ... from "./x.js"`, `import "./x.js"` and `import("./x.js")`.
IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']""")


def all_sources() -> str:
    return "\n".join(p.read_text("utf-8") for p in sorted(ROOT.rglob("*")) if p.is_file())


def check_headers(headers: Any, content_type: str) -> None:
    get = headers.get
    assert get("Content-Type", "").split(";")[0] == content_type
    assert get("Content-Security-Policy") == "default-src 'self'; frame-ancestors 'none'"
    assert get("X-Content-Type-Options") == "nosniff"
    assert get("Cache-Control") == "no-cache"
    assert get("ETag", "").startswith('"')


def test_every_file_has_a_known_type() -> None:
    assert ASSETS, "the dashboard directory is empty"
    for name in ASSETS:
        assert Path(name).suffix in CONTENT_TYPES, name


async def test_index_is_public_with_strict_headers(gateway: GatewayHandle) -> None:
    for path in ("/", "/dashboard/"):
        answer = await gateway.call("GET", path, key=None)
        assert answer.status == 200, path
        check_headers(answer.headers, "text/html")
        assert answer.raw == (ROOT / "index.html").read_bytes()
    assert CSP == "default-src 'self'; frame-ancestors 'none'"


async def test_every_asset_is_served_with_its_type(gateway: GatewayHandle) -> None:
    for name in ASSETS:
        answer = await gateway.call("GET", "/dashboard/" + name, key=None)
        assert answer.status == 200, name
        check_headers(answer.headers, CONTENT_TYPES[Path(name).suffix])
        assert answer.raw == (ROOT / name).read_bytes(), name


async def test_an_unchanged_file_is_a_304(gateway: GatewayHandle) -> None:
    first = await gateway.call("GET", "/dashboard/js/main.js", key=None)
    etag = first.headers["ETag"]
    again = await gateway.call(
        "GET", "/dashboard/js/main.js", key=None, headers={"If-None-Match": etag}
    )
    assert again.status == 304
    assert again.raw == b""
    assert again.headers["Content-Security-Policy"] == CSP


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/missing.js",
        "/dashboard/js/",
        "/dashboard/../_auth.py",
        "/dashboard/%2e%2e/_auth.py",
        "/dashboard/js/%2e%2e/%2e%2e/_auth.py",
        "/dashboard/.hidden.js",
        "/dashboard/js//main.js",
        "/dashboard/index.html/x",
    ],
)
async def test_nothing_outside_the_directory(gateway: GatewayHandle, path: str) -> None:
    answer = await gateway.call("GET", path, key=None)
    # 404, or 401 where the client or server normalised the path out of /dashboard/ (then
    # it is an API path like any other).
    assert answer.status in (401, 404), path
    assert answer.code in ("not_found", "unauthorized")
    assert b"import" not in answer.raw


def test_load_refuses_what_it_must_not_serve(tmp_path: Path) -> None:
    # A file of a type the dashboard does not serve, inside the package: refused too.
    assert _routes_dashboard.FILES.load("../_auth.py") is None
    assert _routes_dashboard.FILES.load("js/../index.html") is None
    assert _routes_dashboard.FILES.load("index.html") is not None


async def test_only_the_static_files_are_public(gateway: GatewayHandle) -> None:
    # Reading the page and its assets, nothing else: not the API, not another method.
    assert (await gateway.call("GET", "/api/v1/sessions", key=None)).status == 401
    assert (await gateway.call("POST", "/", key=None)).status in (401, 405)
    assert (await gateway.call("POST", "/dashboard/js/main.js", key=None)).status in (401, 405)
    assert (await gateway.call("GET", "/dashboardx", key=None)).status == 401


class _Inline(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, style elements and
    attributes, event handler attributes, and every referenced URL."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.problems.append("<style>")
        if tag == "script":
            if not named.get("src"):
                self.problems.append("<script> without src")
            self._in_script = True
        for name in ("src", "href"):
            value = named.get(name)
            if value and value.startswith("/"):
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append("inline script content")


async def test_index_has_no_inline_script_or_style(gateway: GatewayHandle) -> None:
    parser = _Inline()
    parser.feed((ROOT / "index.html").read_text("utf-8"))
    assert parser.problems == []
    assert "/dashboard/js/main.js" in parser.urls
    for url in parser.urls:  # every reference resolves to a served file
        assert (await gateway.call("GET", url, key=None)).status == 200, url


def test_modules_set_no_inline_style_or_html() -> None:
    for module in MODULES:
        text = module.read_text("utf-8")
        name = module.name
        # Setting a style attribute breaks under the CSP; HTML from strings invites XSS.
        assert not re.search(r"""setAttribute\(\s*["']style""", text), name
        assert not re.search(r"""["']style["']\s*:""", text), name
        assert "innerHTML" not in text and "outerHTML" not in text, name
        assert "insertAdjacentHTML" not in text and "document.write" not in text, name
        assert not re.search(r"\beval\(|new Function\(", text), name


def test_every_imported_module_exists_and_every_module_is_used() -> None:
    reached: set[Path] = set()
    pending = [ROOT / "js" / "main.js"]
    while pending:
        module = pending.pop()
        if module in reached:
            continue
        reached.add(module)
        for target in IMPORT.findall(module.read_text("utf-8")):
            assert target.startswith("./") or target.startswith("../"), (module.name, target)
            resolved = (module.parent / target).resolve()
            assert resolved.is_file(), f"{module.name} imports {target}, which does not exist"
            assert resolved.is_relative_to(ROOT.resolve())
            pending.append(resolved)
    assert {m.resolve() for m in MODULES} == {m.resolve() for m in reached}


# The contract's names (labels, buttons, tabs, links), each as a string in the markup or a
# module: tests and assistive technology find the controls by them.
NAMES = [
    "Email", "Password", "Log in", "Current password", "New password", "Change password",
    "New session", "Name", "Engine", "Server URL", "Username", "Register",
    "Phone number ID", "Access token", "App secret", "Verify token", "Graph base URL",
    "Create", "Restart", "Stop", "Delete", "Log out",
    "Overview", "Send", "Messages", "Webhooks", "Logs",
    "Sent", "Received", "Failed", "Uptime", "Last activity", "Queue depth",
    "To", "Text", "File", "Direction", "Status", "Peer", "Search", "Previous", "Next",
    "Redeliver", "Level", "Admin", "Role", "Create user", "Reset password", "Disable",
    "Enable", "Key name", "Scope", "Create key", "Revoke",
]  # fmt: skip


def test_the_contract_names_are_present() -> None:
    sources = all_sources()
    for name in NAMES:
        quoted = re.compile(r"""["'>]""" + re.escape(name) + r"""["'<]""")
        assert quoted.search(sources), f"no control named {name!r}"


def test_the_status_badge_and_session_row_hooks_are_present() -> None:
    sources = all_sources()
    assert 'role="alert"' in sources or '"alert"' in sources
    assert "sessionId:" in sources  # dataset.sessionId renders data-session-id
    assert "data-status" in sources
    assert 'role: "tab"' in sources
    assert 'aria-live="polite"' in sources
    assert "/api/v1/events/stream" in sources
    assert '"X-CSRF-Token"' in sources
    assert '"wac1", "cloud"' in sources  # the Engine select's options
