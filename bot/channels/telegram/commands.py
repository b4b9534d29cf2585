"""The command menus Telegram shows, in Vietnamese (default) and English; officials see more."""

from __future__ import annotations

from aiogram.methods import SetMyCommands
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

PUBLIC = ("start", "help", "lang", "menu", "office", "feedback")
ADMIN = ("report", "gaps", "reload")

DESCRIPTIONS: dict[str, dict[str, str]] = {
    "vi": {
        "start": "Bắt đầu",
        "help": "Hướng dẫn sử dụng",
        "lang": "Đổi ngôn ngữ (Tiếng Việt / English)",
        "menu": "Danh mục thủ tục theo lĩnh vực, sự kiện",
        "office": "Bộ phận một cửa (Trung tâm phục vụ hành chính công)",
        "feedback": "Đánh giá mức độ hài lòng",
        "report": "Báo cáo chỉ số hài lòng",
        "gaps": "Câu hỏi chưa trả lời được",
        "reload": "Nạp lại cơ sở tri thức",
    },
    "en": {
        "start": "Start",
        "help": "How to use the assistant",
        "lang": "Change language (Tiếng Việt / English)",
        "menu": "Browse procedures by field or life event",
        "office": "One-stop offices (public administration service centres)",
        "feedback": "Rate our service",
        "report": "Satisfaction report",
        "gaps": "Questions the assistant could not answer",
        "reload": "Reload the knowledge base",
    },
}


def commands(lang: str, admin: bool = False) -> list[BotCommand]:
    names = PUBLIC + ADMIN if admin else PUBLIC
    return [BotCommand(command=name, description=DESCRIPTIONS[lang][name]) for name in names]


def command_menus(admin_ids: tuple[int, ...]) -> list[SetMyCommands]:
    """Default scope for everyone, a chat scope per official; each without a language (shown
    to every language without its own list: Vietnamese), in Vietnamese and in English."""
    variants: list[tuple[str, str | None]] = [("vi", None), ("vi", "vi"), ("en", "en")]
    calls = [
        SetMyCommands(commands=commands(lang), scope=BotCommandScopeDefault(), language_code=code)
        for lang, code in variants
    ]
    for admin in admin_ids:
        calls += [
            SetMyCommands(commands=commands(lang, admin=True),
                          scope=BotCommandScopeChat(chat_id=admin), language_code=code)
            for lang, code in variants
        ]
    return calls
