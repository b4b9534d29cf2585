"""Telegram updates read straight from their JSON: only what the bot uses, nothing else.

aiogram turns every update into a tree of pydantic models and runs it through its dispatcher;
for the two kinds this bot handles (a message, a button press) that cost more CPU than the
bot's own dialog, and for a kind it does not know aiogram prints the whole payload (ids, names,
username) to stderr.  Here an update is read in a few dictionary look-ups and checked on the
way: anything that is not one of ours, or not what Telegram sends, becomes ``None`` (ignored,
never an error, never logged), and text is made safe to store (``bot.privacy.scrub``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.privacy import scrub

MAX_ID = 2**63  # Telegram ids fit in 52 bits; anything beyond 64 is not Telegram's
# Message contents we answer with "please type your question" (aiogram's ContentType names).
ATTACHMENTS = ("photo", "document", "sticker", "voice", "video", "video_note", "audio",
               "animation", "contact", "location", "venue", "poll")

Kind = Literal["text", "attachment", "callback"]


@dataclass(frozen=True)
class TgUpdate:
    update_id: int
    chat_id: int
    user_id: int
    kind: Kind
    text: str | None = None  # the message's text or caption
    language: str | None = None  # the user's Telegram language (a hint on first contact)
    callback_id: str | None = None
    data: str | None = None  # the pressed button's callback_data (None: nothing to act on)
    reply_to: int | None = None  # the message this one replies to (the staff group's answers)
    name: str | None = None  # the sender's first name (used only for staff in the staff group)


def _id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and -MAX_ID < value < MAX_ID:
        return value
    return None


def _str(value: Any) -> str | None:
    return scrub(value) if isinstance(value, str) else None


def update_id(data: Any) -> int | None:
    """The update's id, or None when ``data`` is not an update at all."""
    return _id(data.get("update_id")) if isinstance(data, dict) else None


def _sender(data: dict[str, Any]) -> tuple[int, str | None] | None:
    """The human who sent it: (id, language), or None for a bot or a missing sender."""
    user = data.get("from")
    if not isinstance(user, dict) or user.get("is_bot") is not False:
        return None
    user_id = _id(user.get("id"))
    if user_id is None:
        return None
    language = _str(user.get("language_code"))
    return user_id, language[:16] if language else None


def _chat(message: Any) -> int | None:
    if not isinstance(message, dict):
        return None
    chat = message.get("chat")
    return _id(chat.get("id")) if isinstance(chat, dict) else None


def read_update(data: Any) -> TgUpdate | None:
    """A message or a button press of ours, or None (other kinds, service messages, bots …)."""
    ident = update_id(data)
    if ident is None:
        return None
    message = data.get("message")
    if isinstance(message, dict):
        return _message(ident, message)
    query = data.get("callback_query")
    if isinstance(query, dict):
        return _callback(ident, query)
    return None


def _message(ident: int, message: dict[str, Any]) -> TgUpdate | None:
    chat_id, sender = _chat(message), _sender(message)
    if chat_id is None or sender is None:
        return None
    text = _str(message.get("text"))
    replied = message.get("reply_to_message")
    reply_to = _id(replied.get("message_id")) if isinstance(replied, dict) else None
    name = _str(message["from"].get("first_name")) if chat_id < 0 else None  # groups only
    if text is not None:
        return TgUpdate(ident, chat_id, sender[0], "text", text, sender[1], reply_to=reply_to,
                        name=name[:64] if name else None)
    if any(key in message for key in ATTACHMENTS):
        caption = _str(message.get("caption")) or ""
        return TgUpdate(ident, chat_id, sender[0], "attachment", caption, sender[1],
                        reply_to=reply_to, name=name[:64] if name else None)
    return None  # service messages: members joined, a pinned message …


def _callback(ident: int, query: dict[str, Any]) -> TgUpdate | None:
    callback_id = _str(query.get("id"))
    user = query.get("from")
    user_id = _id(user.get("id")) if isinstance(user, dict) else None
    if not callback_id or user_id is None:
        return None
    chat_id = _chat(query.get("message")) or user_id
    sender = _sender(query)
    data = _str(query.get("data")) if sender is not None else None  # other bots: answer only
    language = sender[1] if sender is not None else None
    name = _str(user.get("first_name")) if chat_id < 0 and isinstance(user, dict) else None
    return TgUpdate(ident, chat_id, user_id, "callback", None, language, callback_id[:256],
                    data, name=name[:64] if name else None)
