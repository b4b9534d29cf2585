"""The citizen's side of the survey: one-tap rating, reasons, /comment, /feedback, no nagging."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import build_dialog, build_services
from bot.config import Settings
from bot.conversation.dialog import Dialog, Services
from bot.conversation.replies import Reply
from tests.conftest import Chat
from tests.test_satisfaction import FIVE_LEVELS


def rating_actions(replies: list[Reply]) -> list[str]:
    return [b.packed for r in replies for b in r.flat_buttons if b.packed.startswith("r:")]


def ratings(services: Services) -> list[dict[str, object]]:
    return list(services.store.db["ratings"].rows)


async def test_answer_offers_the_three_level_scale_once(chat: Chat) -> None:
    [answer] = await chat.say("đăng ký kết hôn")
    labels = [b.label for b in answer.flat_buttons if b.packed.startswith("r:")]
    assert labels == ["😊 Rất hài lòng", "🙂 Hài lòng", "🙁 Không hài lòng"]
    assert rating_actions([answer]) == [f"r:{answer.answer_id}:{v}" for v in (3, 2, 1)]
    section = await chat.press(chat.button("Lệ phí"))  # a section of the same answer
    assert rating_actions(section) == []


async def test_no_prompt_after_a_greeting_or_a_decline(chat: Chat) -> None:
    assert rating_actions(await chat.say("xin chào")) == []
    assert rating_actions(await chat.say("giá vàng hôm nay bao nhiêu")) == []


async def test_satisfied_rating_is_stored_then_thanked(chat: Chat, services: Services) -> None:
    [answer] = await chat.say("đăng ký kết hôn")
    [reply] = await chat.press(chat.button("Hài lòng"))
    assert reply.kind == "thanks" and "Cảm ơn" in reply.text
    [row] = ratings(services)
    assert row["answer_id"] == answer.answer_id and row["satisfied"] == 1
    assert row["entry_id"] == "ket-hon" and row["field"] == "Hộ tịch"
    assert row["user_ref"] == chat.user and row["channel"] == "console"


async def test_no_thanks_when_the_rating_is_not_committed(chat: Chat, services: Services,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    await chat.say("đăng ký kết hôn")

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(services.store, "save_rating", broken)
    [reply] = await chat.press(chat.button("Hài lòng"))
    assert reply.kind == "error" and "Cảm ơn" not in reply.text
    assert ratings(services) == []


async def test_dissatisfied_asks_why_and_keeps_the_reason(chat: Chat,
                                                          services: Services) -> None:
    [answer] = await chat.say("đăng ký kết hôn")
    [ask_why] = await chat.press(chat.button("Không hài lòng"))
    assert ask_why.text == "Vì sao bạn chưa hài lòng?"
    assert [b.label for b in ask_why.flat_buttons] == [
        "Thông tin sai", "Khó hiểu", "Thiếu thông tin", "Khác"]
    [thanks] = await chat.press(chat.button("Thiếu thông tin"))
    assert thanks.kind == "thanks" and "/comment" in thanks.text  # the optional comment
    [reason] = list(services.store.db["reasons"].rows)
    assert reason == {"answer_id": answer.answer_id, "reason": "thieu", "ts": reason["ts"]}


async def test_rating_again_replaces_and_a_stale_reason_is_ignored(chat: Chat,
                                                                   services: Services) -> None:
    [answer] = await chat.say("đăng ký kết hôn")
    await chat.press(f"r:{answer.answer_id}:1")
    reason_action = chat.button("Thông tin sai")
    await chat.press(f"r:{answer.answer_id}:3")  # changed their mind
    [reply] = await chat.press(reason_action)  # then taps the old reason button
    assert reply.kind == "thanks"
    [row] = ratings(services)
    assert (row["value"], row["satisfied"]) == (3, 1)
    assert list(services.store.db["reasons"].rows) == []


async def test_rating_someone_elses_answer_or_a_bad_value_is_refused(
        dialog: Dialog, services: Services) -> None:
    owner, other = Chat(dialog, user="1"), Chat(dialog, user="2")
    [answer] = await owner.say("đăng ký kết hôn")
    for chat, action in ((other, f"r:{answer.answer_id}:3"), (owner, f"r:{answer.answer_id}:9"),
                         (owner, "r:abc:3"), (owner, "r:999999:3"), (owner, "rr:1:sai")):
        [reply] = await chat.press(action)
        assert reply.text == "Câu trả lời này không còn đánh giá được.", action
    assert ratings(services) == []


async def test_comment_after_a_rating(chat: Chat, services: Services) -> None:
    [reply] = await chat.say("/comment lệ phí chưa rõ")
    assert reply.text.startswith("Bạn hãy đánh giá")  # nothing rated yet: nothing stored
    [answer] = await chat.say("đăng ký kết hôn")
    await chat.press(chat.button("Không hài lòng"))
    [reply] = await chat.say("/comment")
    assert "/comment" in reply.text
    [reply] = await chat.say("/comment  lệ phí   chưa rõ ")
    assert reply.kind == "thanks"
    [row] = list(services.store.db["comments"].rows)
    assert (row["answer_id"], row["text"]) == (answer.answer_id, "lệ phí chưa rõ")


async def test_feedback_rates_the_service_as_a_whole(chat: Chat, services: Services) -> None:
    [prompt] = await chat.say("/feedback")
    assert prompt.kind == "rating" and len(rating_actions([prompt])) == 3
    await chat.press(chat.button("Rất hài lòng"))
    [row] = ratings(services)
    assert row["entry_id"] is None and row["field"] == "Đánh giá chung" and row["value"] == 3


async def test_five_level_scale_asks_why_below_satisfied(kb_copy: Path,
                                                         settings: Settings) -> None:
    (kb_copy / "survey.yaml").write_text(FIVE_LEVELS, encoding="utf-8")
    services = build_services(settings.model_copy(update={"knowledge_dir": kb_copy}))
    try:
        chat = Chat(build_dialog(services))
        [answer] = await chat.say("đăng ký kết hôn")
        assert len(rating_actions([answer])) == 5
        [reply] = await chat.press(f"r:{answer.answer_id}:3")  # Bình thường does not count
        assert [b.label for b in reply.flat_buttons] == ["Thông tin sai", "Khác"]
        [reply] = await chat.press(f"r:{answer.answer_id}:4")  # Hài lòng counts
        assert reply.kind == "thanks"
        [row] = list(services.store.db["ratings"].rows)
        assert (row["value"], row["satisfied"], row["scale_size"]) == (4, 1, 5)
    finally:
        services.store.close()
