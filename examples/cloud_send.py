"""Send a text, a template and an image through the WhatsApp Business Cloud API, then
download a received media by id.

    export WA_TOKEN=... WA_PHONE_NUMBER_ID=...
    python examples/cloud_send.py +15551234567 [path/to/picture.png] [media_id_to_download]

Against the local simulator instead of Graph (no account needed):
    python examples/cloud_send.py --simulator +15551234567
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Optional

from whatsapp_client.cloud import (
    Body,
    CloudAPIError,
    CloudClient,
    CloudError,
    MediaNotFoundError,
    Text,
    ValidationError,
)
from whatsapp_client.cloud.testing import GraphSimulator


async def demo(
    cloud: CloudClient, to: str, picture: Optional[str], media_id: Optional[str]
) -> None:
    info = await cloud.check()
    print(f"sending as {info.verified_name} ({info.display_phone_number})")

    sent = await cloud.send_text(to, "Hello from the Cloud API!")
    print("text:", sent.message_id)

    try:
        tpl = await cloud.send_template(to, "hello_world", "en_US", [Body([Text("friend")])])
        print("template:", tpl.message_id)
    except CloudAPIError as exc:  # e.g. TemplateError 132001 if the template is not approved
        print(f"template refused: {type(exc).__name__} code={exc.code}: {exc.details or exc}")

    if picture:
        image = await cloud.send_image(to, path=picture, caption="A picture")
        print("image:", image.message_id, "uploaded as", image.media_id)

    if media_id:
        try:
            path = await cloud.download_media(media_id, ".")
            print("downloaded to", path)
        except MediaNotFoundError:
            print("no such media:", media_id)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("to", help="recipient, E.164 (+ optional)")
    parser.add_argument("picture", nargs="?")
    parser.add_argument("media_id", nargs="?")
    parser.add_argument("--simulator", action="store_true", help="use a local GraphSimulator")
    args = parser.parse_args()
    try:
        if args.simulator:
            async with GraphSimulator() as sim:
                sim.add_template("hello_world", "en_US", body_params=1)
                async with CloudClient(
                    sim.access_token, sim.phone_number_id, base_url=sim.base_url
                ) as cloud:
                    await demo(cloud, args.to, args.picture, args.media_id)
            return 0
        token, phone = os.environ.get("WA_TOKEN"), os.environ.get("WA_PHONE_NUMBER_ID")
        if not token or not phone:
            print("set WA_TOKEN and WA_PHONE_NUMBER_ID (or use --simulator)", file=sys.stderr)
            return 2
        async with CloudClient(token, phone) as cloud:
            await demo(cloud, args.to, args.picture, args.media_id)
    except ValidationError as exc:
        print("refused before sending:", exc, file=sys.stderr)
        return 2
    except CloudError as exc:
        print("failed:", exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
