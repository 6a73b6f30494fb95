"""A client for the WhatsApp Business Cloud API (Graph API): sending, media, webhooks,
pacing, a circuit breaker and metrics; also the gateway's ``cloud`` engine.

Guides: docs/guides/cloud-client.md, cloud-webhooks.md, cloud-limits.md,
cloud-simulator.md and cloud-gateway.md. A local Graph API for tests and demos lives in
:mod:`whatsapp_client.cloud.testing`."""

from __future__ import annotations

from whatsapp_client.cloud._breaker import (
    CircuitBreaker,
)
from whatsapp_client.cloud._client import (
    CloudClient,
)
from whatsapp_client.cloud._codes import (
    CODE_TABLE,
    classify,
)
from whatsapp_client.cloud._dedup import (
    DedupStore,
    InboxStore,
    MemoryDedupStore,
    SqliteDedupStore,
)
from whatsapp_client.cloud._errors import (
    AuthError,
    CircuitOpenError,
    CloudAPIError,
    CloudError,
    ConfigurationError,
    IntegrityError,
    MediaDownloadError,
    MediaError,
    MediaNotFoundError,
    RateLimitError,
    RecipientError,
    TemplateError,
    TransportError,
    ValidationError,
)
from whatsapp_client.cloud._events import (
    ErrorEvent,
    Event,
    GraphErrorInfo,
    Location,
    MessageEvent,
    StatusEvent,
    parse_webhook,
)
from whatsapp_client.cloud._handlers import (
    TextFilter,
    WebhookHandlers,
)
from whatsapp_client.cloud._interactive import (
    ListRow,
    ListSection,
    ReplyButton,
)
from whatsapp_client.cloud._limiter import (
    Limiter,
    LocalLimiter,
)
from whatsapp_client.cloud._metrics import (
    CloudMetrics,
)
from whatsapp_client.cloud._models import (
    BatchItem,
    MediaInfo,
    MediaItem,
    PhoneNumberInfo,
    ReadResult,
    SendResult,
    UploadResult,
)
from whatsapp_client.cloud._redis_limiter import (
    RedisLimiter,
)
from whatsapp_client.cloud._signature import (
    SIGNATURE_HEADER,
    SignatureVerifier,
    verification_challenge,
    verify_signature,
)
from whatsapp_client.cloud._sync import (
    SyncCloudClient,
)
from whatsapp_client.cloud._templates import (
    Body,
    Button,
    Currency,
    DateTime,
    Document,
    Header,
    Image,
    Text,
    Video,
)
from whatsapp_client.cloud._webhook_app import (
    WebhookReceiver,
    webhook_app,
    webhook_routes,
)

__all__ = [
    "CODE_TABLE",
    "SIGNATURE_HEADER",
    "AuthError",
    "BatchItem",
    "Body",
    "Button",
    "CircuitBreaker",
    "CircuitOpenError",
    "CloudAPIError",
    "CloudClient",
    "CloudError",
    "CloudMetrics",
    "ConfigurationError",
    "Currency",
    "DateTime",
    "DedupStore",
    "Document",
    "ErrorEvent",
    "Event",
    "GraphErrorInfo",
    "Header",
    "Image",
    "InboxStore",
    "IntegrityError",
    "Limiter",
    "ListRow",
    "ListSection",
    "LocalLimiter",
    "Location",
    "MediaDownloadError",
    "MediaError",
    "MediaInfo",
    "MediaItem",
    "MediaNotFoundError",
    "MemoryDedupStore",
    "MessageEvent",
    "PhoneNumberInfo",
    "RateLimitError",
    "ReadResult",
    "RecipientError",
    "RedisLimiter",
    "ReplyButton",
    "SendResult",
    "SignatureVerifier",
    "SqliteDedupStore",
    "StatusEvent",
    "SyncCloudClient",
    "TemplateError",
    "Text",
    "TextFilter",
    "TransportError",
    "UploadResult",
    "ValidationError",
    "Video",
    "WebhookHandlers",
    "WebhookReceiver",
    "classify",
    "parse_webhook",
    "verification_challenge",
    "verify_signature",
    "webhook_app",
    "webhook_routes",
]
