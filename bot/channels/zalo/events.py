"""Zalo OA webhook events: the signature check and the event → neutral fields mapping.

Zalo signs every webhook request (OA Open API v3, "Webhook" → "Xác thực"): the header
``X-ZEvent-Signature`` is ``mac=`` followed by the hex SHA-256 of
``app_id + raw request body + timestamp + OA secret key``, where ``timestamp`` is the event's own
``timestamp`` field.  We accept the value with or without the ``mac=`` prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

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
    sender_id: str | None = None  # the raw Zalo user id: kept in memory only, to reply
    event_id: str | None = None  # Zalo's msg_id (follow events have none)
    text: str | None = None
    recipient_id: str | None = None  # the OA id the event was sent to
    timestamp: str = ""


def expected_mac(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    data = app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()
    return hashlib.sha256(data).hexdigest()


def verify(header: str | None, body: bytes, app_id: str, oa_secret_key: str) -> dict[str, Any]:
    """The parsed event if the signature is right; ``BadSignature`` otherwise."""
    if not header or not header.strip():
        raise BadSignature("missing signature")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadSignature("body is not JSON, cannot be verified") from None
    if not isinstance(payload, dict) or payload.get("timestamp") in (None, ""):
        raise BadSignature("no event timestamp to verify")
    given = header.strip()
    if given[:4].lower() == "mac=":
        given = given[4:].strip()
    wanted = expected_mac(app_id, body, str(payload["timestamp"]), oa_secret_key)
    if not hmac.compare_digest(wanted.encode(), given.lower().encode()):
        raise BadSignature("signature mismatch")
    return payload


def _id(value: Any) -> str | None:
    if isinstance(value, dict) and value.get("id") not in (None, ""):
        return str(value["id"])
    return None


def parse(payload: dict[str, Any]) -> ZaloEvent:
    """Map a verified event to what the channel needs; unknown events are ``ignore``."""
    name = str(payload.get("event_name") or "")
    raw = payload.get("message")
    message: dict[str, Any] = raw if isinstance(raw, dict) else {}
    msg_id = str(message["msg_id"]) if message.get("msg_id") else None
    if name == "follow":
        follower = _id(payload.get("follower"))
        if follower is None:
            return ZaloEvent("ignore", name)
        return ZaloEvent("follow", name, follower, recipient_id=str(payload.get("oa_id") or "")
                         or None, timestamp=str(payload["timestamp"]))
    sender = _id(payload.get("sender"))
    if sender is None or not name.startswith("user_send_"):
        return ZaloEvent("ignore", name)
    recipient = _id(payload.get("recipient"))
    if name == "user_send_text":
        text = message.get("text")
        return ZaloEvent("text", name, sender, msg_id, text if isinstance(text, str) else "",
                         recipient)
    if name in ATTACHMENT_EVENTS:
        return ZaloEvent("attachment", name, sender, msg_id, recipient_id=recipient)
    return ZaloEvent("ignore", name)
