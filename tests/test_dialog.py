"""Whole conversations through the dialog, as any channel drives it."""

from __future__ import annotations

import pytest

from bot.conversation.replies import MAX_ACTION_BYTES
from tests.conftest import Chat


async def test_greeting_is_friendly_not_a_decline(chat: Chat) -> None:
    [reply] = await chat.say("xin chào")
    assert reply.kind == "info"
    assert "thủ tục" in reply.text


async def test_who_are_you(chat: Chat) -> None:
    [reply] = await chat.say("bạn là ai")
    assert "Trợ lý dịch vụ công" in reply.text and reply.kind == "info"


async def test_thanks(chat: Chat) -> None:
    [reply] = await chat.say("cảm ơn nhé")
    assert reply.kind == "info" and "Không có gì" in reply.text


async def test_question_gets_short_answer_with_sections_and_rating(chat: Chat) -> None:
    [reply] = await chat.say("lam giay khai sinh cho con")
    assert reply.kind == "answer" and reply.title == "Đăng ký khai sinh"
    assert "trực tuyến" in reply.text.lower()
    actions = [b.packed for b in reply.flat_buttons]
    assert "p:khai-sinh:documents" in actions and "p:khai-sinh:fee" in actions
    assert any(a.startswith(f"r:{reply.answer_id}:") for a in actions)
    assert reply.text.endswith("Thông tin này có giúp ích cho bạn không?")  # from survey.yaml
    assert all(len(a.encode()) <= MAX_ACTION_BYTES for a in actions)


async def test_asked_section_comes_first(chat: Chat) -> None:
    [reply] = await chat.say("làm giấy khai sinh cần giấy tờ gì")
    first_line = reply.text.splitlines()[0]
    assert "Hồ sơ" in first_line
    assert "p:khai-sinh:documents" not in [b.packed for b in reply.flat_buttons]


async def test_section_button_shows_that_section(chat: Chat) -> None:
    await chat.say("đăng ký kết hôn")
    [reply] = await chat.press(chat.button("Lệ phí"))
    assert reply.text.startswith("▸ Lệ phí")
    assert "p:ket-hon" in [b.packed for b in reply.flat_buttons]


@pytest.mark.parametrize("follow_up", ["mất bao nhiêu tiền?", "còn lệ phí thì sao"])
async def test_follow_up_uses_the_procedure_just_discussed(chat: Chat, follow_up: str) -> None:
    await chat.say("đăng ký kết hôn")
    [reply] = await chat.say(follow_up)
    assert reply.title == "Đăng ký kết hôn" and reply.text.startswith("▸ Lệ phí")


async def test_out_of_scope_is_declined_with_hotline_and_portal(chat: Chat) -> None:
    [reply] = await chat.say("xin giấy phép khai thác khoáng sản nộp ở đâu")
    assert reply.kind == "decline" and reply.presents.decline
    kb = chat.dialog.services.knowledge.kb
    assert kb.contacts.national_hotline in reply.text
    assert str(kb.contacts.national_portal) in reply.text
    assert not reply.flat_buttons  # no rating after a decline


async def test_off_topic_says_what_the_bot_is_for(chat: Chat) -> None:
    [reply] = await chat.say("giá xăng hôm nay bao nhiêu")
    assert reply.presents.act == "offtopic" and not reply.presents.decline
    assert "thủ tục hành chính" in reply.text and "cán bộ bổ sung" not in reply.text


async def test_decline_is_logged_for_staff(chat: Chat) -> None:
    await chat.say("cho xin số điện thoại người yêu cũ")
    store = chat.dialog.services.store
    rows = list(store.db["questions"].rows)
    assert rows[-1]["decision"] == "decline"
    assert rows[-1]["text"] == "cho xin số điện thoại người yêu cũ"
    assert rows[-1]["user_ref"] == chat.user and "42" not in rows[-1]["user_ref"]


async def test_clarify_offers_choices_and_a_choice_answers(chat: Chat) -> None:
    [reply] = await chat.say("giấy phép lái xe")  # renew or replace? the bot asks
    assert reply.kind == "clarify"
    actions = [b.packed for b in reply.flat_buttons]
    assert {"p:doi-gplx", "p:cap-lai-gplx"} <= set(actions)
    assert actions[-1].startswith("n:")  # "none of these"
    [answer] = await chat.press("p:cap-lai-gplx")
    assert answer.kind == "answer" and answer.title == "Cấp lại giấy phép lái xe"


async def test_language_switch_is_remembered(chat: Chat) -> None:
    [prompt] = await chat.say("/lang")
    assert {b.packed for b in prompt.flat_buttons} == {"l:vi", "l:en"}
    [done] = await chat.press("l:en")
    assert "English" in done.text
    [reply] = await chat.say("birth registration")
    assert reply.title is not None and "Birth" in reply.title
    assert any(b.label == "Documents" for b in reply.flat_buttons)


async def test_first_contact_takes_platform_language(dialog: object) -> None:
    from bot.conversation.dialog import Dialog

    assert isinstance(dialog, Dialog)
    english = Chat(dialog, user="7", locale="en-GB")
    [reply] = await english.say("/help")
    assert "Hello" in reply.text


@pytest.mark.parametrize(
    "message",
    [
        "",
        "    ",
        "😀😀😀🙏",
        "\x00\x07\x1b[31m",
        "x" * 10_000,
        "<script>alert(1)</script> <b>khai sinh</b>",
        "*bold* _x_ [link](http://evil.example) `code`",
    ],
)
async def test_bad_input_gets_a_polite_reply_and_is_not_echoed(chat: Chat, message: str) -> None:
    replies = await chat.say(message)
    assert replies, "every message gets an answer"
    for reply in replies:
        assert reply.kind != "error"
        assert "<script>" not in reply.text and "evil.example" not in reply.text


async def test_attachment_asks_for_text(chat: Chat) -> None:
    [reply] = await chat.say("", attachment=True)
    assert "gõ câu hỏi" in reply.text


async def test_unknown_command(chat: Chat) -> None:
    [reply] = await chat.say("/xyz")
    assert "/help" in reply.text


async def test_offices_by_old_place_name(chat: Chat) -> None:
    kb = chat.dialog.services.knowledge.kb
    office = next(o for o in kb.offices if o.level == "commune" and o.old_names)
    old = office.old_names[0]
    [reply] = await chat.say(f"một cửa {old} ở đâu")
    assert office.name in reply.text


async def test_office_command_offers_province_centres_and_asks_for_the_commune(
    chat: Chat,
) -> None:
    [reply] = await chat.say("/office")
    assert reply.flat_buttons and all(b.packed.startswith("o:") for b in reply.flat_buttons)
    assert "/office" in reply.text  # tells how to look up one's commune
    [details] = await chat.press(reply.flat_buttons[0].packed)
    assert details.kind == "answer" and "Trung tâm" in details.text
    assert any(b.packed.startswith(f"r:{details.answer_id}:") for b in details.flat_buttons)


async def test_a_former_ward_name_finds_only_its_new_centre(chat: Chat) -> None:
    [reply] = await chat.say("/office Hải Thành")
    assert "phường Đồng Hới" in reply.text
    assert "xã Lìa" not in reply.text  # 'xã Thanh' is not 'Hải Thành'


async def test_menu_by_life_event(chat: Chat) -> None:
    [_top] = await chat.say("/menu")
    [events] = await chat.press(chat.button("Sự kiện"))
    assert events.flat_buttons
    [procedures] = await chat.press(events.flat_buttons[0].packed)
    assert all(b.packed.startswith("p:") for b in procedures.flat_buttons)


async def test_admin_commands_need_admin(chat: Chat) -> None:
    [reply] = await chat.say("/reload")
    assert "quản trị" in reply.text


async def test_duplicate_event_is_handled_once(chat: Chat) -> None:
    first = await chat.say("đăng ký kết hôn", event_id="u-1")
    again = await chat.say("đăng ký kết hôn", event_id="u-1")
    assert first and again == []
