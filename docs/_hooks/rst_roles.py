"""mkdocs hook: docstrings written for Sphinx read well in the Markdown site too.

Sphinx roles (``:class:`X```, ``:meth:`y```) become plain code, and the ``::`` that
introduces a literal block is dropped (the block itself already renders as code).
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|meth|func|attr|mod|exc|data|obj|ref|const):(<code>)")
_LONE = re.compile(r"<p>::</p>\s*")
_TRAILING = re.compile(r"::</p>")


def on_page_content(html: str, **kwargs: Any) -> str:
    html = _ROLE.sub(r"\1", html)
    html = _LONE.sub("", html)
    return _TRAILING.sub(":</p>", html)
