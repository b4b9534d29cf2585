"""The neutral conversation model: ``Incoming`` in, ``Reply`` out. No platform types here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.conversation.actions import MAX_ACTION_BYTES, Action, ActionTooLong, Pressed, pack

__all__ = ["MAX_ACTION_BYTES", "ActionTooLong", "Button", "Incoming", "Reply", "rows"]

ReplyKind = Literal["answer", "clarify", "decline", "info", "rating", "thanks", "error", "admin"]


@dataclass(frozen=True)
class Button:
    """A button: an action (typed, see ``bot.conversation.actions``) or a link (``url``)."""

    label: str
    action: Action | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.action is None) == (self.url is None):
            raise ValueError("a button has either an action or a url")
        if self.action is not None:
            pack(self.action)  # raises ActionTooLong when it would not fit a platform

    @property
    def packed(self) -> str:
        """The action as the short string a platform stores with the button."""
        return pack(self.action) if self.action is not None else ""


Act = Literal["greeting", "thanks", "help", "complaint", "offtopic", "bye"]


@dataclass(frozen=True)
class Presents:
    """What a reply shows, as data: channels and the evaluator read this, never the text."""

    answers: tuple[str, ...] = ()  # knowledge entry ids
    sections: tuple[str, ...] = ()  # sections of the (first) entry shown
    offices: tuple[str, ...] = ()  # one-stop office ids
    clarify: tuple[str, ...] = ()  # entries offered to choose from
    decline: bool = False  # an honest "I don't know" with where to ask
    handoff: bool = False  # offers or starts a hand-over to a person
    ticket: str | None = None  # the hand-over ticket's code, when one was opened (or relayed)
    act: Act | None = None  # a conversational reply of this kind
    lang: str = "vi"  # the language of the content


@dataclass(frozen=True)
class Reply:
    text: str
    title: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    kind: ReplyKind = "info"
    answer_id: int | None = None
    image: bytes | None = None  # PNG or SVG bytes (e.g. the officials' trend chart)
    image_name: str | None = None
    presents: Presents = field(default_factory=Presents)

    @property
    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]


@dataclass(frozen=True)
class Incoming:
    channel: str  # "telegram", "zalo", "web", "console"
    user: str  # pseudonymous reference, never the raw platform id
    text: str | None = None
    action: Pressed | None = None  # from a button press
    locale: str | None = None  # the platform's language hint, used on first contact
    is_admin: bool = False
    event_id: str | None = None  # platform update/message id, for de-duplication
    attachment: bool = False  # a sticker, photo or file instead of text
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> str | None:
        """'/start@MyBot args' → 'start'."""
        if not self.text or not self.text.startswith("/"):
            return None
        head = self.text[1:].split(maxsplit=1)[0] if len(self.text) > 1 else ""
        return head.split("@", 1)[0].lower() or None

    @property
    def args(self) -> str:
        if not self.text:
            return ""
        parts = self.text.split(maxsplit=1)
        return parts[1] if len(parts) > 1 else ""


def rows(buttons: list[Button], per_row: int = 2) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
