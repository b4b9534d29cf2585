"""How the bot reads a conversation, rule by rule, judged on what the replies present: the
procedure that joins what is asked with the focus, the action named before the thing it acts
on, a bare object asked back, the message's own words over a side match, longer follow-ups,
a turn to the neighbour of the focus, and letters whose backstory tells what was done already.
The phrasings here are not those of the evaluation files."""

from __future__ import annotations

from typing import Any

from bot.conversation import cues, evaluation
from bot.conversation.replies import Reply
from bot.retrieval.engine import Engine
from tests.conftest import Chat


def shown(replies: list[Reply]) -> dict[str, Any]:
    return evaluation.presented(replies)


async def test_a_joining_procedure_of_the_focus_and_what_is_asked_answers(chat: Chat) -> None:
    await chat.say("đăng ký khai sinh cho con")
    both = shown(await chat.say("làm kèm thẻ bảo hiểm y tế với nhập khẩu cho cháu luôn được không"))
    assert both["answers"] == ["lien-thong-khai-sinh"] and not both["clarify"]


async def test_related_entries_alone_do_not_join(chat: Chat) -> None:
    """'sổ đỏ' is first issue, renewal or sale: still asked back, though they are related."""
    reply = shown(await chat.say("so do"))
    assert {"cap-so-do", "cap-doi-so-do"} <= set(reply["clarify"]) and not reply["answers"]


async def test_the_action_named_before_its_object_is_what_is_asked(chat: Chat) -> None:
    reply = shown(await chat.say("công chứng sổ đỏ hết bao nhiêu"))
    assert reply["answers"] == ["chung-thuc-ban-sao"] and reply["sections"] == ["fee"]
    where = shown(await chat.say("sao y giấy khai sinh ở đâu"))
    assert where["answers"] == ["chung-thuc-ban-sao"]


async def test_a_bare_object_of_several_procedures_is_asked_back(chat: Chat) -> None:
    copy = shown(await chat.say("bản sao"))
    assert {"chung-thuc-ban-sao", "trich-luc-ho-tich"} <= set(copy["clarify"])
    household = shown(await chat.say("ho khau"))
    assert {"thuong-tru", "tach-ho", "xoa-thuong-tru"} <= set(household["clarify"])
    chosen = shown(await chat.press(chat.button("Tách hộ")))
    assert chosen["answers"] == ["tach-ho"]


async def test_household_book_with_an_action_names_the_procedure(chat: Chat) -> None:
    assert shown(await chat.say("tách hộ khẩu ra ở riêng"))["answers"] == ["tach-ho"]
    assert shown(await chat.say("nhập hộ khẩu cho con"))["answers"] == ["thuong-tru"]


async def test_the_messages_own_words_pick_among_candidates(chat: Chat) -> None:
    await chat.say("muốn phản ánh về thủ tục thì gửi ở đâu")
    reply = shown(await chat.say("thế còn chấm điểm cán bộ một cửa thì làm ở đâu"))
    assert reply["answers"] == ["danh-gia-hai-long"]


async def test_a_side_match_does_not_take_the_focus_that_explains_it(chat: Chat) -> None:
    await chat.say("sang tên sổ đỏ cần những gì")
    reply = shown(await chat.say("hợp đồng chuyển nhượng có phải công chứng trước không"))
    assert reply["answers"] == ["chuyen-nhuong-dat"]


async def test_a_longer_follow_up_the_focus_explains_stays_on_it(chat: Chat) -> None:
    await chat.say("đăng ký kết hôn cần giấy tờ gì")
    reply = shown(await chat.say(
        "nếu một trong hai người đã ly hôn thì cần thêm giấy tờ gì nữa không ạ"))
    assert reply["answers"] == ["ket-hon"] and not reply["decline"]


async def test_a_longer_new_question_outside_the_focus_is_still_declined(chat: Chat) -> None:
    await chat.say("đăng ký kết hôn cần giấy tờ gì")
    reply = shown(await chat.say(
        "con gái tôi muốn xin học bổng du học nước ngoài thì hồ sơ gửi cho cơ quan nào ạ"))
    assert reply["decline"] and not reply["answers"]


async def test_turning_to_the_neighbour_of_the_focus_answers_the_neighbour(chat: Chat) -> None:
    await chat.say("cấp sổ đỏ lần đầu cần gì")
    turned = shown(await chat.say("còn sổ đỏ bị mất thì xin cấp lại ở đâu"))
    assert turned["answers"] == ["cap-doi-so-do"] and turned["sections"] == ["where"]


async def test_the_neighbour_ranked_above_the_focus_is_not_a_follow_up(chat: Chat) -> None:
    await chat.say("cấp sổ đỏ lần đầu cần gì")
    reply = shown(await chat.say("sổ đỏ bị mất thì xin cấp lại ở đâu"))
    assert "cap-doi-so-do" in reply["answers"] + reply["clarify"]


async def test_a_letter_is_not_taken_for_a_follow_up(chat: Chat) -> None:
    await chat.say("mất căn cước làm lại thế nào")
    reply = shown(await chat.say(
        "Nhà tôi có mấy sào ruộng trồng lúa, năm nay bị lũ cuốn mất trắng cả vụ. Hàng xóm "
        "bảo có thể xin hỗ trợ thiệt hại do thiên tai của nhà nước nhưng không rõ thế nào. "
        "Cho tôi hỏi làm ở đâu, cần những gì?"))
    assert "can-cuoc" not in reply["answers"]


async def test_a_letter_asks_what_was_not_done_yet(chat: Chat) -> None:
    reply = shown(await chat.say(
        "Tôi đã làm giấy khai sinh cho con rồi. Giờ muốn nhập hộ khẩu cho cháu về nhà ông bà "
        "nội. Thủ tục thế nào?"))
    assert reply["answers"] == ["thuong-tru"]


async def test_a_letter_whose_question_names_nothing_is_read_for_its_story(chat: Chat) -> None:
    reply = shown(await chat.say(
        "Mẹ tôi năm nay 82 tuổi, sống một mình ở quê, không có lương hưu. Hàng xóm nói người "
        "cao tuổi được nhà nước hỗ trợ tiền hàng tháng. Vậy tôi phải làm giấy tờ gì, nộp cho ai?"))
    assert reply["answers"] == ["tro-cap-xa-hoi"]


def test_sentences_that_tell_what_was_done() -> None:
    assert cues.tells_done("toi da dang ky ho kinh doanh duoc ba nam")
    assert cues.tells_done("lam giay khai sinh cho con roi a")
    assert not cues.tells_done("da em muon lam khai sinh cho con")  # a leading 'dạ' is 'yes'
    assert not cues.tells_done("phai cong chung hop dong roi moi sang ten duoc")  # 'rồi' = then


def test_messages_that_turn_to_something_else() -> None:
    assert cues.turns_to_other("con so do bi mat thi sao")
    assert cues.turns_to_other("the con tam vang")
    assert cues.turns_to_other("what about the fee")
    assert not cues.turns_to_other("so do bi mat con lam lai duoc khong")


def test_names_are_read_as_written(engine: Engine) -> None:
    """'sao' of 'bản sao' is a syllable of the name, not the question word typed plain."""
    best = engine.ask("ban sao").best
    assert best is not None and best.explained == 1.0
    assert engine.ask("mat cccd lam lai sao").decision == "answer"


def test_where_names_occur_whole(engine: Engine) -> None:
    found = engine.spans("sao y cccd", ["chung-thuc-ban-sao", "can-cuoc", "khai-sinh"])
    assert found["chung-thuc-ban-sao"] and found["can-cuoc"] and not found["khai-sinh"]
    head = min(found["chung-thuc-ban-sao"])
    assert any(start == head[1] for start, _ in found["can-cuoc"])  # named right after
