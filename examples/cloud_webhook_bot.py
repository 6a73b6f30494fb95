"""A WhatsApp Cloud API bot: receives webhooks (verified), replies, reacts, logs statuses.

    WA_TOKEN=... WA_PHONE_NUMBER_ID=... WA_APP_SECRET=... WA_VERIFY_TOKEN=... \\
        python examples/cloud_webhook_bot.py            # serves :8080/webhooks/whatsapp

In the App Dashboard (WhatsApp > Configuration) set the callback URL to your public HTTPS
address of ``/webhooks/whatsapp`` and the verify token to ``WA_VERIFY_TOKEN``, and
subscribe to the ``messages`` field. The app secret (App settings > Basic) is required:
every POST's ``X-Hub-Signature-256`` is checked and an unsigned or forged one is answered
401 without being parsed. Duplicates (Meta redelivers) are dropped with a record kept in
``WA_DEDUP_DB`` (default ``cloud-webhooks.sqlite``) so they stay dropped across restarts.

Locally, run the Graph simulator (``python -m whatsapp_client.cloud.testing``) and point
``WA_BASE_URL`` at it; ``whatsapp-client cloud-demo`` narrates the same flow.
"""

from __future__ import annotations

import logging
import os
import re

from aiohttp import web

from whatsapp_client.cloud import (
    CloudClient,
    ErrorEvent,
    MessageEvent,
    SqliteDedupStore,
    StatusEvent,
    webhook_app,
)

log = logging.getLogger("cloud_webhook_bot")


def build_app() -> web.Application:
    dedup = SqliteDedupStore(os.environ.get("WA_DEDUP_DB", "cloud-webhooks.sqlite"))
    cloud = CloudClient(
        os.environ["WA_TOKEN"],
        os.environ["WA_PHONE_NUMBER_ID"],
        app_secret=os.environ["WA_APP_SECRET"],
        verify_token=os.environ["WA_VERIFY_TOKEN"],
        dedup=dedup,
        base_url=os.environ.get("WA_BASE_URL", "https://graph.facebook.com"),
    )

    @cloud.on_message(type="text", text=re.compile(r"^\s*(hi|hello)\b", re.IGNORECASE))
    async def greet(ev: MessageEvent) -> None:
        name = ev.contact_name or "there"
        await cloud.send_text(ev.from_, f"Hello {name}! Send me anything and I echo it.")

    @cloud.on_message(type="text")
    async def echo(ev: MessageEvent) -> None:
        await cloud.mark_as_read(ev.message_id)
        await cloud.send_text(ev.from_, ev.text or "", reply_to=ev.message_id)

    @cloud.on_message(type=["image", "audio", "video", "document", "sticker"])
    async def got_media(ev: MessageEvent) -> None:
        await cloud.send_reaction(ev.from_, ev.message_id, "👍")

    @cloud.on_message(type="interactive")
    def button_pressed(ev: MessageEvent) -> None:  # a plain function runs in a worker thread
        log.info("%s chose %s", ev.from_, ev.interactive_reply_id)

    @cloud.on_status(status="failed")
    def failed(ev: StatusEvent) -> None:
        for err in ev.errors:
            log.warning("message %s failed: %s %s", ev.message_id, err.code, err.title)

    @cloud.on_error
    def account_error(ev: ErrorEvent) -> None:
        log.error("Cloud API error %s: %s", ev.code, ev.title)

    app = webhook_app(cloud)  # GET handshake + signed POSTs on /webhooks/whatsapp

    async def close(_app: web.Application) -> None:
        await cloud.webhooks.drain()  # let running handlers finish before closing
        await cloud.close()
        await dedup.close()

    app.on_cleanup.append(close)
    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    web.run_app(build_app(), host="0.0.0.0", port=int(os.environ.get("PORT", "8080")))  # noqa: S104
