"""Staff edit files while the bot runs: good edits appear, bad edits never take the bot down."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.knowledge.holder import KnowledgeHolder, ReloadOutcome
from bot.retrieval.engine import Engine


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


async def wait_for(predicate: object, seconds: float = 10.0) -> None:
    assert callable(predicate)
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_a_valid_edit_is_served_without_restart(kb_copy: Path) -> None:
    holder = KnowledgeHolder(kb_copy, Engine)
    before = holder.kb.version
    edit(kb_copy / "procedures" / "tach-ho.yaml", "aliases:\n", "aliases:\n  - ra ở riêng\n")
    watcher = asyncio.create_task(holder.watch(0.2))
    try:
        await wait_for(lambda: holder.kb.version != before)
    finally:
        watcher.cancel()
    assert "ra ở riêng" in holder.kb.entries["tach-ho"].aliases
    assert holder.engine.ask("muốn ra ở riêng").best.entry_id == "tach-ho"  # type: ignore[union-attr]


async def test_a_broken_edit_keeps_the_last_good_version(kb_copy: Path) -> None:
    holder = KnowledgeHolder(kb_copy, Engine)
    before = holder.kb.version
    seen: list[ReloadOutcome] = []

    async def listener(outcome: ReloadOutcome) -> None:
        seen.append(outcome)

    holder.listeners.append(listener)
    edit(kb_copy / "procedures" / "tach-ho.yaml", "online: ", "online: muc-do-4 #")
    watcher = asyncio.create_task(holder.watch(0.2))
    try:
        await wait_for(lambda: bool(seen))
    finally:
        watcher.cancel()
    assert not seen[0].ok
    assert any("tach-ho.yaml" in str(p) and "online" in str(p) for p in seen[0].problems)
    assert holder.kb.version == before
    assert holder.engine.ask("tách hộ").best.entry_id == "tach-ho"  # type: ignore[union-attr]
