"""Terminal chat: type a question, press a button by typing its number."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.conversation.dialog import Dialog
from bot.conversation.pseudonym import user_ref
from bot.conversation.replies import Button, Incoming, Reply
from bot.handoff.relay import Delivery

ReadLine = Callable[[str], Awaitable[str | None]]
Write = Callable[[str], None]


async def read_stdin(prompt: str) -> str | None:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


def render(reply: Reply, numbered: list[Button]) -> str:
    """Plain text with buttons as numbered choices; numbering continues across replies."""
    lines = []
    if reply.title:
        lines += [f"== {reply.title} ==", ""]
    lines.append(reply.text)
    for button in reply.flat_buttons:
        numbered.append(button)
        target = f" → {button.url}" if button.url else ""
        lines.append(f"  [{len(numbered)}] {button.label}{target}")
    return "\n".join(lines)


class ConsoleChat:
    name = "console"

    def __init__(self, dialog: Dialog, read: ReadLine = read_stdin, write: Write = print,
                 user: str = "local") -> None:
        self.dialog = dialog
        self.read = read
        self.write = write
        key = dialog.services.settings.pseudonym_key.get_secret_value()
        self.user = user_ref(key, "console", user)
        self.buttons: list[Button] = []

    def to_incoming(self, line: str) -> Incoming:
        stripped = line.strip()
        if stripped.isdigit() and 0 < int(stripped) <= len(self.buttons):
            button = self.buttons[int(stripped) - 1]
            if button.action is not None:
                return Incoming("console", self.user, action=button.action)
        return Incoming("console", self.user, text=line)

    async def turn(self, line: str) -> list[Reply]:
        replies = await self.dialog.dispatch(self.to_incoming(line))
        self.buttons = []
        for reply in replies:
            self.write(render(reply, self.buttons))
            self.write("")
        return replies

    async def reach(self, address: str, replies: list[Reply]) -> Delivery:
        """A staff answer (from the dashboard) printed in this terminal (``bot.handoff``)."""
        if address != self.user:
            return "failed"
        for reply in replies:
            self.write(render(reply, self.buttons))
            self.write("")
        return "sent"

    async def run(self) -> None:
        services = self.dialog.services
        if services.desk is not None:  # staff answers to this chat's tickets are printed here
            services.desk.register(self)
        kb = services.knowledge.kb
        banner = services.renderer.t(services.settings.default_locale, "console.banner",
                                     count=len(kb.entries), version=kb.version)
        self.write(banner + "\n")
        while True:
            line = await self.read("> ")
            if line is None or line.strip() in {"/quit", "/exit"}:
                return
            await self.turn(line)
