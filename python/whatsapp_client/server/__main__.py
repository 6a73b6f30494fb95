"""``python -m whatsapp_client.server``."""

from __future__ import annotations

import sys

from whatsapp_client.server.cli import main

if __name__ == "__main__":
    sys.exit(main())
