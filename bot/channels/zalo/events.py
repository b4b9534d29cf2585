"""Zalo OA webhook events: the signature check and the event → neutral fields mapping.

Zalo signs every webhook request (OA Open API v3, "Webhook" → "Xác thực"): the header
``X-ZEvent-Signature`` is ``mac=`` followed by the hex SHA-256 of
``app_id + raw request body + timestamp + OA secret key``, where ``timestamp`` is the event's own
``timestamp`` field.  We accept the value with or without the ``mac=`` prefix.

Nothing here raises on what a sender can put in a body: ids are taken only when they are plain
strings or numbers, text is made safe to store, anything else makes the event ``ignore``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal

from bot.privacy import scrub

SIGNATURE_HEADER = "X-ZEvent-Signature"

EventKind = Literal["text", "follow", "attachment", "ignore"]

# Everything a citizen can send besides text: we answer "please type your question".
ATTACHMENT_EVENTS = frozenset({
    "user_send_image", "user_send_file", "user_send_sticker", "user_send_gif",
    "user_send_audio", "user_send_video", "user_send_location", "user_send_link",
    "user_send_business_card",
})


class BadSignature(Exception):
    """Missing, malformed or wrong ``X-ZEvent-Signature``: answer 401, process nothing."""


@dataclass(frozen=True)
class ZaloEvent:
    kind: EventKind
    name: str
    sender_id: str | None = None  # the raw Zalo user id: to reply (stored only in the inbox)
    event_id: str | None = None  # Zalo's msg_id (follow events have none)
    text: str | None = None
    recipient_id: str | None = None  # the OA id the event was sent to
    timestamp: str = ""


def expected_mac(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    data = app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()
    return hashlib.sha256(data).hexdigest()


def verify(header: str | None, body: bytes, payload: Any, app_id: str,
           oa_secret_key: str) -> None:
    """Nothing if the signature over ``body`` is right; ``BadSignature`` otherwise.

    ``payload`` is the body already parsed (``bot.channels.http.read_json``): the signature
    covers the event's own ``timestamp``."""
    if not header or not header.strip():
        raise BadSignature("missing signature")
    if not isinstance(payload, dict) or not isinstance(payload.get("timestamp"), str | int) \
            or isinstance(payload.get("timestamp"), bool) or payload.get("timestamp") == "":
        raise BadSignature("no event timestamp to verify")
    given = header.strip()
    if given[:4].lower() == "mac=":
        given = given[4:].strip()
    wanted = expected_mac(app_id, body, str(payload["timestamp"]), oa_secret_key)
    if not hmac.compare_digest(wanted.encode(), given.lower().encode("ascii", "replace")):
        raise BadSignature("signature mismatch")


def age_seconds(timestamp: str, now: float) -> float | None:
    """How old an event is by its own ``timestamp`` (milliseconds since 1970, as Zalo sends
    it); None when that is not a time."""
    text = timestamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        return None
    return now - int(text) / 1000


def _scalar(value: Any, limit: int = 128) -> str | None:
    """An id as text: a non-empty string or an integer, nothing nested, nothing huge."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = scrub(str(value)) if isinstance(value, str) else str(value)
    return text if text and len(text) <= limit else None


def _id(value: Any) -> str | None:
    return _scalar(value.get("id")) if isinstance(value, dict) else None


def parse(payload: dict[str, Any]) -> ZaloEvent:
    """Map a verified event to what the channel needs; unknown or malformed events are
    ``ignore``.  Never raises."""
    name = _scalar(payload.get("event_name")) or ""
    raw = payload.get("message")
    message: dict[str, Any] = raw if isinstance(raw, dict) else {}
    msg_id = _scalar(message.get("msg_id"))
    timestamp = _scalar(payload.get("timestamp")) or ""
    if name == "follow":
        follower = _id(payload.get("follower"))
        if follower is None:
            return ZaloEvent("ignore", name)
        return ZaloEvent("follow", name, follower, recipient_id=_scalar(payload.get("oa_id")),
                         timestamp=timestamp)
    sender = _id(payload.get("sender"))
    if sender is None or not name.startswith("user_send_"):
        return ZaloEvent("ignore", name)
    recipient = _id(payload.get("recipient"))
    if name == "user_send_text":
        text = message.get("text")
        return ZaloEvent("text", name, sender, msg_id, scrub(text) if isinstance(text, str)
                         else "", recipient, timestamp)
    if name in ATTACHMENT_EVENTS:
        return ZaloEvent("attachment", name, sender, msg_id, recipient_id=recipient,
                         timestamp=timestamp)
    return ZaloEvent("ignore", name)
