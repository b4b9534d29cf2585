"""The knowledge base currently served, and hot reload: last good version wins.

Staff edit files while the bot runs.  A watcher compares file names, sizes and modification
times every ``KB_RELOAD_SECONDS``; on a change the whole folder is loaded and validated off the
event loop.  A valid folder is swapped in atomically (knowledge base and search index together);
an invalid one leaves the previous version serving, logs every problem and tells the listeners
(channels send it to staff admins).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from bot.knowledge.loader import (
    KnowledgeBase,
    KnowledgeError,
    Problem,
    knowledge_files,
    load_knowledge,
)

log = logging.getLogger(__name__)

Listener = Callable[["ReloadOutcome"], Awaitable[None]]
E = TypeVar("E")  # what is built from each knowledge base (the search engine)


@dataclass(frozen=True)
class ReloadOutcome:
    ok: bool
    version: str
    count: int
    problems: tuple[Problem, ...] = ()


def settle() -> None:
    """Move the long-lived knowledge base and index out of the garbage collector's way.

    The index is hundreds of thousands of small objects; without this, every full collection
    walks all of them and stalls the event loop for tens of milliseconds under load.
    """
    gc.collect()
    gc.freeze()
    _give_back_memory()


def _give_back_memory() -> None:
    """Return the heap freed by a build (the index's scratch work) to the system: glibc keeps
    it otherwise, and a national-size reload would leave the process 60 MB larger."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    items = []
    for path in knowledge_files(root)[0]:
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted while listing
            continue
        items.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(items))


class KnowledgeHolder(Generic[E]):
    """The knowledge base and what is built from it (``build``: the search engine), swapped
    together on every good reload."""

    def __init__(self, root: Path, build: Callable[[KnowledgeBase], E]) -> None:
        self.root = root
        self.build = build
        self._signature = signature(root)
        kb = load_knowledge(root)  # start-up needs a valid knowledge base: raises otherwise
        self._current = (kb, build(kb))
        settle()
        self.listeners: list[Listener] = []
        for warning in kb.warnings:
            log.warning("knowledge: %s", warning)

    @property
    def kb(self) -> KnowledgeBase:
        return self._current[0]

    @property
    def engine(self) -> E:
        return self._current[1]

    def reload(self) -> ReloadOutcome:
        """Load and index the folder; swap it in only if it validates."""
        self._signature = signature(self.root)
        try:
            kb = load_knowledge(self.root)
        except KnowledgeError as exc:
            for problem in exc.problems:
                log.error("knowledge not reloaded: %s", problem)
            return ReloadOutcome(False, self.kb.version, len(self.kb.entries), tuple(exc.problems))
        self._current = (kb, self.build(kb))
        settle()
        log.info("knowledge reloaded: %d entries, version %s", len(kb.entries), kb.version)
        return ReloadOutcome(True, kb.version, len(kb.entries))

    def changed(self) -> bool:
        return signature(self.root) != self._signature

    async def reload_async(self) -> ReloadOutcome:
        outcome = await asyncio.to_thread(self.reload)
        for listener in self.listeners:
            try:
                await listener(outcome)
            except Exception:  # a failing listener must not stop the watcher
                log.exception("reload listener failed")
        return outcome

    async def watch(self, interval: float) -> None:
        """Run until cancelled: reload whenever a file under the folder changes."""
        while True:
            await asyncio.sleep(interval)
            try:
                if await asyncio.to_thread(self.changed):
                    await asyncio.sleep(min(interval, 0.3))  # let an editor finish writing
                    await self.reload_async()
            except Exception:
                log.exception("knowledge watcher error; still serving version %s", self.kb.version)
