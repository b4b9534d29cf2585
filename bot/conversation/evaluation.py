"""`dvcbot eval` on conversation files: whole conversations through the real dialog.

Format and output: ``shared/eval/FORMAT.md``.  Every conversation is one new user (no memory from
the others) on a temporary store; every turn goes through ``Dialog.dispatch`` with all handlers,
as on Telegram, Zalo or the web chat, and is judged on what its replies present as data
(``Reply.presents``), never on their text.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.conversation import actions
from bot.conversation.dialog import Dialog
from bot.conversation.replies import Button, Incoming, Reply
from bot.retrieval.text import fold

CHANNEL = "eval"
KEYS = ("answer", "section", "office", "clarify", "decline", "handoff", "act", "lang")


@dataclass(frozen=True)
class Turn:
    say: str | None
    press: str | int | None
    expect: dict[str, Any]


@dataclass(frozen=True)
class Conversation:
    id: str
    locale: str
    tags: tuple[str, ...]
    turns: tuple[Turn, ...]


def is_conversations(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and all(
        isinstance(c, dict) and "turns" in c for c in data
    )


def parse(data: list[dict[str, Any]]) -> list[Conversation]:
    out = []
    for item in data:
        turns = tuple(
            Turn(t.get("say"), t.get("press"), dict(t.get("expect") or {})) for t in item["turns"]
        )
        out.append(Conversation(str(item["id"]), str(item.get("locale") or "vi"),
                                tuple(item.get("tags") or ()), turns))
    return out


def load(path: Path) -> list[Conversation]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not is_conversations(data):
        raise ValueError(f"{path}: not a conversation file (a list of items with turns)")
    return parse(data)


def presented(replies: Iterable[Reply]) -> dict[str, Any]:
    """What the replies of one turn present together."""
    out: dict[str, Any] = {"answers": [], "sections": [], "offices": [], "clarify": [],
                           "decline": False, "handoff": False, "act": None, "lang": None}
    for reply in replies:
        shown = reply.presents
        for key, values in (("answers", shown.answers), ("sections", shown.sections),
                            ("offices", shown.offices), ("clarify", shown.clarify)):
            out[key] += [v for v in values if v not in out[key]]
        out["decline"] = out["decline"] or shown.decline
        out["handoff"] = out["handoff"] or shown.handoff
        out["act"] = out["act"] or shown.act
        out["lang"] = out["lang"] or shown.lang
    out["lang"] = out["lang"] or "vi"
    return out


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def judge(expect: dict[str, Any], shown: dict[str, Any]) -> dict[str, bool]:
    """Each expected key: did the turn present it?"""
    verdict: dict[str, bool] = {}
    for key, want in expect.items():
        if key == "also":
            continue
        if key == "answer":
            right = {str(want), *_listed(expect.get("also", []))}
            verdict[key] = bool(right & set(shown["answers"]))
        elif key == "section":
            verdict[key] = set(_listed(want)) <= set(shown["sections"])
        elif key == "office":
            verdict[key] = bool(set(_listed(want)) & set(shown["offices"]))
        elif key == "clarify":
            verdict[key] = set(_listed(want)) <= set(shown["clarify"])
        elif key in ("decline", "handoff"):
            verdict[key] = bool(shown[key]) == bool(want)
        elif key == "act":
            verdict[key] = shown["act"] == want
        elif key == "lang":
            verdict[key] = shown["lang"] == want
        else:
            verdict[key] = False  # an unknown key never holds
    return verdict


def find_button(replies: list[Reply], press: str | int) -> Button | None:
    buttons = [b for r in replies for b in r.flat_buttons if b.action is not None]
    if isinstance(press, int) or str(press).isdigit():
        index = int(press) - 1
        return buttons[index] if 0 <= index < len(buttons) else None
    wanted = fold(str(press))
    return next((b for b in buttons if wanted in fold(b.label)), None)


@dataclass
class TurnResult:
    conversation: str
    number: int
    turn: Turn
    shown: dict[str, Any]
    verdict: dict[str, bool]
    ms: float

    @property
    def right(self) -> bool:
        return all(self.verdict.values())

    def as_json(self) -> dict[str, Any]:
        said: dict[str, Any] = {"say": self.turn.say} if self.turn.say is not None else {
            "press": self.turn.press}
        return {"conversation": self.conversation, "turn": self.number, **said,
                "expect": self.turn.expect, "presented": self.shown, "right": self.right,
                "ms": round(self.ms, 3)}


@dataclass
class ConversationReport:
    conversations: list[Conversation] = field(default_factory=list)
    turns: list[TurnResult] = field(default_factory=list)

    def by_key(self) -> dict[str, tuple[int, int]]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for result in self.turns:
            for key, ok in result.verdict.items():
                counts[key][0] += ok
                counts[key][1] += 1
        return {k: (counts[k][0], counts[k][1]) for k in KEYS if k in counts}

    def by_tag(self) -> dict[str, tuple[int, int, int, int]]:
        """tag → (turns right, turns, conversations right, conversations)."""
        tags: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        ok = self._conversation_ok()
        for conv in self.conversations:
            mine = [t for t in self.turns if t.conversation == conv.id]
            for tag in conv.tags:
                tags[tag][0] += sum(t.right for t in mine)
                tags[tag][1] += len(mine)
                tags[tag][2] += ok[conv.id]
                tags[tag][3] += 1
        return {k: (v[0], v[1], v[2], v[3]) for k, v in sorted(tags.items())}

    def _conversation_ok(self) -> dict[str, bool]:
        ok = {c.id: True for c in self.conversations}
        for result in self.turns:
            ok[result.conversation] = ok[result.conversation] and result.right
        return ok

    def last_line(self) -> str:
        n_turns = len(self.turns)
        right = sum(t.right for t in self.turns)
        ok = self._conversation_ok()
        times = sorted(t.ms for t in self.turns) or [0.0]
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        return (f"turns={right / max(n_turns, 1):.3f} "
                f"conversations={sum(ok.values()) / max(len(ok), 1):.3f} "
                f"n_turns={n_turns} n={len(ok)} p50_ms={statistics.median(times):.2f} "
                f"p99_ms={p99:.2f}")

    def table(self) -> list[str]:
        lines = [f"{'expect':<10} {'n':>5} {'right':>7}"]
        for key, (right, n) in self.by_key().items():
            lines.append(f"{key:<10} {n:>5} {right / n:>7.3f}")
        lines += ["", f"{'tag':<16} {'turns':>6} {'right':>7} {'convs':>6} {'right':>7}"]
        for tag, (t_ok, t_n, c_ok, c_n) in self.by_tag().items():
            lines.append(f"{tag:<16} {t_n:>6} {t_ok / t_n:>7.3f} {c_n:>6} {c_ok / c_n:>7.3f}")
        return lines


async def run(dialog: Dialog, conversations: list[Conversation],
              run_id: str = "") -> ConversationReport:
    """``run_id`` tells repeated runs on one store apart (new users, new event ids)."""
    report = ConversationReport(conversations=list(conversations))
    for number, conv in enumerate(conversations):
        user = f"eval{run_id}-{number}-{conv.id}"
        previous: list[Reply] = []
        for index, turn in enumerate(conv.turns, 1):
            incoming = _incoming(conv, user, turn, previous, f"{run_id}:{number}:{index}")
            started = time.perf_counter()
            replies = await dialog.dispatch(incoming) if incoming else []
            ms = (time.perf_counter() - started) * 1000
            shown = presented(replies)
            report.turns.append(TurnResult(conv.id, index, turn, shown,
                                           judge(turn.expect, shown), ms))
            previous = replies
    return report


def _incoming(conv: Conversation, user: str, turn: Turn, previous: list[Reply],
              event: str) -> Incoming | None:
    if turn.say is not None:
        return Incoming(CHANNEL, user, text=str(turn.say), locale=conv.locale, event_id=event)
    button = find_button(previous, turn.press or "")
    if button is None or button.action is None:
        return None  # nothing to press: the turn is judged on an empty reply
    pressed = actions.parse(actions.pack(button.action))  # as a platform sends it back
    return Incoming(CHANNEL, user, action=pressed, locale=conv.locale, event_id=event)
