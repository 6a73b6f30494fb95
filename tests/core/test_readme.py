"""The README's crypto example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from whatsapp_client import Decrypted

README = Path(__file__).resolve().parents[2] / "README.md"


def test_crypto_engine_example_runs() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The crypto engine on its own", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the README lost its crypto example"
    namespace: dict[str, object] = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    message = namespace["message"]
    assert isinstance(message, Decrypted)
    assert message.plaintext == b'{"type":"text","text":"hi"}'
