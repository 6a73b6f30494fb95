"""A webhook receiver for the gateway: verifies each request's Standard Webhooks signature,
drops duplicates by ``webhook-id`` and prints the event.

    WEBHOOK_SECRET=whsec_... python examples/gateway_webhook_receiver.py   # port 8099

Give the gateway ``http://127.0.0.1:8099/hook`` as the session's webhook URL and the
``secret`` it returned (or the one you chose) as ``WEBHOOK_SECRET``. During a rotation,
set ``WEBHOOK_SECRET`` to both secrets, space-separated: either verifies. Needs the
``standardwebhooks`` package (``pip install 'whatsapp-client[gateway]'``).
"""

from __future__ import annotations

import json
import os
import sys
from collections import OrderedDict

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

SEEN_LIMIT = 10_000


def make_app(secrets: list[str]) -> web.Application:
    verifiers = [Webhook(secret) for secret in secrets]
    seen: OrderedDict[str, None] = OrderedDict()

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        for verifier in verifiers:
            try:
                verifier.verify(body, headers)
                break
            except WebhookVerificationError:
                continue
        else:
            print("refused: bad signature", flush=True)
            return web.Response(status=401)
        webhook_id = request.headers["webhook-id"]
        if webhook_id in seen:  # at-least-once delivery: a retry of one already handled
            return web.Response(status=204)
        seen[webhook_id] = None
        while len(seen) > SEEN_LIMIT:
            seen.popitem(last=False)
        event = json.loads(body)
        print(json.dumps(event, ensure_ascii=False), flush=True)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    return app


def main() -> int:
    secrets = os.environ.get("WEBHOOK_SECRET", "").split()
    if not secrets:
        print("set WEBHOOK_SECRET to the endpoint's secret (whsec_...)", file=sys.stderr)
        return 2
    port = int(os.environ.get("PORT", "8099"))
    print(f"ready: listening on http://127.0.0.1:{port}/hook", flush=True)
    web.run_app(make_app(secrets), host="127.0.0.1", port=port, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
