"""``python -m whatsapp_client`` runs the command line."""

from whatsapp_client.cli import main

raise SystemExit(main())
