"""The asynchronous messaging client (:class:`WhatsAppClient`) and its data types."""

from __future__ import annotations

from whatsapp_client.client.client import WhatsAppClient
from whatsapp_client.client.config import ClientConfig
from whatsapp_client.client.groups import Group, GroupMember
from whatsapp_client.client.ingest_batch import MessageRejectedError
from whatsapp_client.client.models import (
    ConnectionState,
    Message,
    MessageStatus,
    PrekeyStatus,
    User,
)

__all__ = [
    "ClientConfig",
    "ConnectionState",
    "Group",
    "GroupMember",
    "Message",
    "MessageRejectedError",
    "MessageStatus",
    "PrekeyStatus",
    "User",
    "WhatsAppClient",
]
