"""Recipients of the ``cloud`` engine: E.164 phone numbers, checked with ``phonenumbers``
(Graph's ``wa_id`` is the number's digits, without the ``+``)."""

from __future__ import annotations

import phonenumbers

from whatsapp_client.gateway._errors import InvalidRecipient

__all__ = ["e164_digits"]


def e164_digits(to: str) -> str:
    """The digits of an E.164 number (``+`` optional), Graph's ``wa_id`` form;
    ``InvalidRecipient`` unless ``phonenumbers`` finds it a valid number."""
    raw = to.strip()
    digits = raw[1:] if raw.startswith("+") else raw
    if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15):
        raise InvalidRecipient(f"{to[:64]!r} is not an E.164 phone number (like +14155550123)")
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidRecipient(f"{to[:64]!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidRecipient(f"{to[:64]!r} is not a valid phone number")
    return digits
