"""The terminal chat: buttons are numbered, typing the number presses it."""

from __future__ import annotations

from bot.channels.console import ConsoleChat
from bot.conversation.dialog import Dialog


async def test_numbered_buttons_press_the_action(dialog: Dialog) -> None:
    lines = iter(["đăng ký tạm trú", "2", None])
    output: list[str] = []

    async def read(prompt: str) -> str | None:
        return next(lines)

    chat = ConsoleChat(dialog, read=read, write=output.append)
    await chat.run()
    text = "\n".join(output)
    assert "== Đăng ký tạm trú ==" in text
    assert "[2] Lệ phí" in text
    assert "▸ Lệ phí" in text  # pressing 2 showed the fee section
