"""A local WhatsApp Cloud API (Graph API) simulator: a real aiohttp server for tests and demos.

It behaves like the Cloud API for the calls ``whatsapp_client.cloud`` makes, from the public
reference:

- messages: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
- templates: https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
- media (upload, retrieve url, download, delete, supported types and sizes):
  https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media (types and sizes
  mirrored at https://docs.aws.amazon.com/social-messaging/latest/userguide/supported-media-types.html)
- phone numbers: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/phone-numbers
- error codes, HTTP statuses and the error shape:
  https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/
  and https://developers.facebook.com/docs/graph-api/guides/error-handling
- throughput (130429, answered with HTTP 400) and pair rate (131056):
  https://developers.facebook.com/docs/whatsapp/throughput and
  https://heltar.com/blogs/resolving-whatsapp-business-api-error-code-130429-throughput-reached-cm3knupgu0011vnqrmrppg6uc
- template errors 132000/132001 (details per component):
  https://help.leadconnectorhq.com/support/solutions/articles/155000007368-whatsapp-error-132000-number-of-parameters-does-not-match-the-expected-number-of-params
- webhooks (payload shapes, ``X-Hub-Signature-256``):
  https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples and
  https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
"""

from whatsapp_client.cloud.testing._errors import KNOWN_CODES, error_body
from whatsapp_client.cloud.testing._media import MEDIA_TYPES
from whatsapp_client.cloud.testing._simulator import GraphSimulator
from whatsapp_client.cloud.testing._webhooks import (
    Business,
    batch,
    business_scoped_id,
    error_object,
    media_message,
    sign,
    status_object,
    text_message,
)

__all__ = [
    "KNOWN_CODES",
    "MEDIA_TYPES",
    "Business",
    "GraphSimulator",
    "batch",
    "business_scoped_id",
    "error_body",
    "error_object",
    "media_message",
    "sign",
    "status_object",
    "text_message",
]
