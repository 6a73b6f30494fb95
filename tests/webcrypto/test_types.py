"""The JSDoc types of wac1.js and the web chat app, checked by TypeScript's compiler
(``tsc -p`` on the webapp's tsconfig.json: allowJs, checkJs, strict, noEmit). The modules
run in the browser without a build step; tsc only reads them.

``tsc`` (Debian's ``node-typescript``) missing is a failure: scripts/test.sh installs it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEBAPP_DIR = (
    Path(__file__).resolve().parents[2] / "python" / "whatsapp_client" / "server" / "webapp"
)
# The module directories tsc must see, each with every one of its modules.
MODULE_DIRS = ("wac1", "app")


def tsc(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``tsc -p project`` with ``args``, run in ``project`` (so the files it names are
    relative to it), its output captured; a failure when tsc is not installed."""
    found = shutil.which("tsc")
    if found is None:
        pytest.fail("tsc is not installed (Debian's node-typescript; scripts/test.sh installs it)")
    return subprocess.run(
        [found, "-p", ".", "--pretty", "false", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_webapp_modules_type_check_without_error() -> None:
    result = tsc(WEBAPP_DIR)
    assert result.returncode == 0, f"tsc reported errors:\n{result.stdout}{result.stderr}"


def test_every_module_of_wac1_and_the_app_is_checked() -> None:
    result = tsc(WEBAPP_DIR, "--listFilesOnly")
    assert result.returncode == 0, result.stdout + result.stderr
    listed = {(WEBAPP_DIR / line).resolve() for line in result.stdout.splitlines() if line.strip()}
    expected = {path.resolve() for name in MODULE_DIRS for path in (WEBAPP_DIR / name).glob("*.js")}
    assert len(expected) > 20
    assert expected - listed == set()


@pytest.mark.parametrize("module", ["wac1/ratchet.js", "app/store.js"])
def test_a_type_error_in_a_module_is_reported(tmp_path: Path, module: str) -> None:
    # The same configuration on a copy with a wrong annotation and an untyped parameter: tsc
    # must name both, so a clean run above means the JSDoc was read and checked strictly
    # (an untyped parameter is an error only under noImplicitAny, part of strict).
    copy = tmp_path / "webapp"
    shutil.copytree(WEBAPP_DIR, copy)
    target = copy / module
    planted = (
        '\n/** @type {number} */\nexport const wrong = "text";\n'
        "export function untyped(value) {\n  return value;\n}\n"
    )
    target.write_text(target.read_text(encoding="utf-8") + planted, encoding="utf-8")
    result = tsc(copy)
    assert result.returncode != 0
    errors = [line for line in result.stdout.splitlines() if line.startswith(module)]
    assert any("error TS2322" in line for line in errors), result.stdout
    assert any("error TS7006" in line and "'value'" in line for line in errors), result.stdout
