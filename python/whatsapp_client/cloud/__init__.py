"""A client for the WhatsApp Business Cloud API (Graph API): sending, media, webhooks,
pacing, a circuit breaker and metrics; also the gateway's ``cloud`` engine."""
