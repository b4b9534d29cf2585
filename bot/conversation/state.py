"""What the bot remembers of one chat: a typed object, kept in the store, expiring when quiet.

The language stays; the focus (the entry and the office being talked about, the choices last
offered, the run of declines) is forgotten after ``CONVERSATION_MINUTES`` without a message, so
that "còn lệ phí thì sao" next week does not refer to last week's procedure.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class ChatState:
    locale: str | None = None  # the conversation's language (vi / en)
    focus_entry: str | None = None  # the procedure or FAQ being talked about
    focus_office: str | None = None  # the one-stop office last shown
    choices: tuple[str, ...] = ()  # entries offered in the last "which one?" question
    declines: int = 0  # honest "I don't know" answers in a row
    unhappy: int = 0  # "not satisfied" ratings in this conversation
    last_rated: int | None = None  # the answer last rated (for /comment)
    seen: str | None = None  # ISO time of the last message
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any], now: dt.datetime, ttl: dt.timedelta) -> ChatState:
        data: dict[str, Any] = {}
        raw = row.get("state")
        if isinstance(raw, str) and raw:
            try:
                loaded = json.loads(raw)
            except ValueError:
                loaded = {}
            names = {f.name for f in fields(cls)}
            if isinstance(loaded, dict):
                data = {k: v for k, v in loaded.items() if k in names}
        data.setdefault("locale", row.get("locale"))
        data.setdefault("focus_entry", row.get("last_entry"))
        data.setdefault("last_rated", row.get("last_rated"))
        data["choices"] = tuple(data.get("choices") or ())
        state = cls(**data)
        return state.expired() if state.quiet_since(now, ttl) else state

    def quiet_since(self, now: dt.datetime, ttl: dt.timedelta) -> bool:
        if not self.seen:
            return False
        try:
            seen = dt.datetime.fromisoformat(self.seen)
        except ValueError:
            return True
        return now - seen > ttl

    def expired(self) -> ChatState:
        """The same chat after a quiet spell: the language stays, the focus goes."""
        return replace(self, focus_entry=None, focus_office=None, choices=(), declines=0,
                       unhappy=0)

    def to_row(self) -> dict[str, Any]:
        """Columns of the users table: the typed state as JSON, plus the columns reports read."""
        return {"locale": self.locale, "last_entry": self.focus_entry,
                "last_rated": self.last_rated,
                "state": json.dumps(asdict(self), ensure_ascii=False)}
