"""A whole conversation, as a citizen types it: follow-ups, places, several sections, English,
long letters, complaints, asking for a person, off-topic; state that survives a restart and
expires after a quiet spell.  Judged on what the replies present (``Reply.presents``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from bot.app import build_dialog, build_services
from bot.config import Settings
from bot.conversation import evaluation
from bot.conversation.replies import Reply
from tests.conftest import Chat


def shown(replies: list[Reply]) -> dict[str, Any]:
    return evaluation.presented(replies)


async def test_follow_ups_without_diacritics_stay_on_the_procedure(chat: Chat) -> None:
    first = shown(await chat.say("mất căn cước rồi làm lại thế nào"))
    assert first["answers"] == ["can-cuoc"]
    fee = shown(await chat.say("con le phi thi sao"))
    assert fee["answers"] == ["can-cuoc"] and fee["sections"] == ["fee"]
    where = shown(await chat.say("the con nop o dau"))
    assert where["answers"] == ["can-cuoc"] and where["sections"] == ["where"]


async def test_a_new_procedure_named_with_confidence_switches_the_focus(chat: Chat) -> None:
    await chat.say("đăng ký thường trú cho vợ")
    switched = shown(await chat.say("còn tách hộ thì làm sao"))
    assert switched["answers"] == ["tach-ho"]
    fee = shown(await chat.say("cái đó có mất phí không"))
    assert fee["answers"] == ["tach-ho"] and fee["sections"] == ["fee"]


async def test_former_commune_without_cue_words_gets_its_office(chat: Chat) -> None:
    reply = shown(await chat.say("xa hai thanh cu gio la phuong nao"))
    assert reply["offices"] == ["pvhcc-phuong-dong-hoi"]


async def test_place_names_that_are_common_words(chat: Chat) -> None:
    assert shown(await chat.say("/office quan hau"))["offices"] == ["pvhcc-xa-quang-ninh"]
    assert shown(await chat.say("mot cua xa thanh trach"))["offices"] == ["pvhcc-xa-bac-trach"]
    money = shown(await chat.say("còn tiền mai táng thì làm sao"))
    assert not money["offices"] and money["answers"] == ["mai-tang-phi"]


async def test_procedure_and_place_in_one_message(chat: Chat) -> None:
    reply = shown(await chat.say("lam khai sinh cho con o xa trieu ai cu thi nop o dau"))
    assert reply["answers"] == ["khai-sinh"] and reply["offices"] == ["pvhcc-xa-ai-tu"]


async def test_every_section_asked_in_one_phone_sized_reply(chat: Chat) -> None:
    replies = await chat.say("tách hộ cần giấy gì, lệ phí bao nhiêu, làm online được không")
    assert len(replies) == 1
    assert shown(replies)["sections"] == ["documents", "fee", "online"]
    assert len(replies[0].text) < 4096


async def test_central_dialect_question_words(chat: Chat) -> None:
    await chat.say("đăng ký kết hôn")
    reply = shown(await chat.say("nop o mo rua"))
    assert reply["answers"] == ["ket-hon"] and reply["sections"] == ["where"]


async def test_an_english_message_gets_english_content(chat: Chat) -> None:
    replies = await chat.say("how do I apply for a passport")
    assert shown(replies)["answers"] == ["ho-chieu"] and shown(replies)["lang"] == "en"
    kb = chat.dialog.services.knowledge.kb
    entry = kb.entries["ho-chieu"]
    assert entry.en is not None and entry.en.agency in replies[0].text  # type: ignore[union-attr]
    fee = await chat.say("how much is it")
    assert shown(fee)["sections"] == ["fee"] and shown(fee)["lang"] == "en"


async def test_a_long_letter_is_answered_on_its_question(chat: Chat) -> None:
    letter = ("Chào anh chị, em là công nhân ở khu công nghiệp, quê ngoài Bắc vào đây làm việc "
              "được ba năm rồi. Em thuê phòng trọ gần công ty, chủ nhà nói phải khai báo với "
              "công an. Xin hỏi em phải đăng ký tạm trú thế nào và cần mang giấy tờ gì ạ?")
    reply = shown(await chat.say(letter))
    assert reply["answers"] == ["tam-tru"] and "documents" in reply["sections"]


async def test_complaint_is_acknowledged_with_the_feedback_route(chat: Chat) -> None:
    replies = await chat.say("gọi tổng đài cả sáng không ai nghe máy, bực quá")
    reply = shown(replies)
    assert reply["act"] == "complaint" and not reply["decline"]
    assert "dichvucong.gov.vn" in replies[0].text


async def test_asking_for_a_person_offers_the_hand_over(chat: Chat) -> None:
    assert shown(await chat.say("cho mình gặp cán bộ"))["handoff"] is True
    assert shown(await chat.say("I want to talk to a real person"))["handoff"] is True


async def test_two_declines_in_a_row_offer_a_person(chat: Chat) -> None:
    first = shown(await chat.say("xin giấy phép khai thác khoáng sản"))
    second = await chat.say("cấp phép nuôi trồng thủy sản ven biển")
    assert first["decline"] and not first["handoff"]
    assert shown(second)["decline"] and shown(second)["handoff"]
    assert any("cán bộ" in b.label for b in second[0].flat_buttons)


async def test_off_topic_is_not_a_decline(chat: Chat) -> None:
    reply = shown(await chat.say("tối nay xem bóng đá kênh nào"))
    assert reply["act"] == "offtopic" and not reply["decline"]


async def test_focus_survives_a_restart(settings: Settings) -> None:
    services = build_services(settings)
    await Chat(build_dialog(services)).say("đăng ký kết hôn")
    services.store.close()
    again = build_services(settings)
    try:
        reply = shown(await Chat(build_dialog(again)).say("mất bao lâu"))
    finally:
        again.store.close()
    assert reply["answers"] == ["ket-hon"] and reply["sections"] == ["time"]


async def test_focus_expires_after_a_quiet_spell(chat: Chat) -> None:
    await chat.say("đăng ký kết hôn")
    store = chat.dialog.services.store
    row = store.user(chat.user)
    state = json.loads(row["state"])
    state["seen"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    store.save_user(chat.user, "console", state=json.dumps(state))
    reply = shown(await chat.say("mất bao lâu"))
    assert reply["answers"] != ["ket-hon"]


async def test_eval_runs_a_conversation_file(tmp_path: Path, settings: Settings) -> None:
    convs = evaluation.parse([
        {"id": "one", "tags": ["follow-up"], "turns": [
            {"say": "đăng ký kết hôn", "expect": {"answer": "ket-hon"}},
            {"press": "Lệ phí", "expect": {"answer": "ket-hon", "section": "fee"}},
            {"say": "giá vàng hôm nay", "expect": {"answer": "ket-hon"}},
        ]},
    ])
    services = build_services(settings)
    try:
        report = await evaluation.run(build_dialog(services), convs)
    finally:
        services.store.close()
    assert [t.right for t in report.turns] == [True, True, False]
    line = report.last_line()
    assert line.startswith("turns=0.667 conversations=0.000 n_turns=3 n=1 p50_ms=")
    row = report.turns[1].as_json()
    assert row["press"] == "Lệ phí" and row["presented"]["sections"] == ["fee"]
    assert set(row) == {"conversation", "turn", "press", "expect", "presented", "right", "ms"}


async def test_every_curated_answer_fits_one_message(chat: Chat) -> None:
    from bot.conversation.dialog import Turn
    from bot.conversation.replies import Incoming
    from bot.conversation.state import ChatState
    from bot.knowledge.schema import SECTIONS, Procedure
    from handlers.views import entry_reply, section_reply

    services = chat.dialog.services
    for lang in ("vi", "en"):
        turn = Turn(Incoming("console", "u", text="x"), services, lang, ChatState())
        for entry in services.knowledge.kb.entries.values():
            replies = [entry_reply(turn, entry, (), 1)]
            if isinstance(entry, Procedure):
                replies += [section_reply(turn, entry, SECTIONS)]
            assert all(len(r.text) + len(r.title or "") < 4000 for r in replies), entry.id


async def test_a_long_imported_section_is_shortened_with_a_link(chat: Chat) -> None:
    from bot.conversation.dialog import Turn
    from bot.conversation.replies import Incoming
    from bot.conversation.state import ChatState
    from handlers.views import section_reply

    services = chat.dialog.services
    entry = services.knowledge.kb.entries["khai-sinh"]
    long = entry.model_copy(update={"steps": [f"Bước {i}: " + "nộp hồ sơ " * 30
                                              for i in range(60)]})
    turn = Turn(Incoming("console", "u", text="x"), services, "vi", ChatState())
    reply = section_reply(turn, long, ("steps",))  # type: ignore[arg-type]
    assert len(reply.text) < 4000 and entry.sources[0] in reply.text
    assert "Bước 0:" in reply.text and "Bước 59:" not in reply.text


def test_the_language_of_a_message_itself() -> None:
    from bot.conversation.cues import language

    short = frozenset({"ko", "dc", "ad", "lm", "v"})
    assert language("I want to talk to a real person", "vi", short) == "en"
    assert language("can I do it online", "vi", short) == "en"
    assert language("lam onl dc ko ad", "en", short | {"onl"}) == "vi"
    assert language("ad oi lm ho chieu o dau v", "en", short) == "vi"
    assert language("Cho em hỏi làm hộ chiếu", "en", short) == "vi"
    assert language("passport", "en", short) == "en"  # one word: the chat's language stays
