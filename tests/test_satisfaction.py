"""The satisfaction indicator and usage figures on a seeded dataset, checked against hand-computed
values.  Wilson bounds use z = 1.96:

    centre = (p + z²/2n) / (1 + z²/n)      half = z / (1 + z²/n) · √(p(1−p)/n + z²/4n²)

e.g. 7 of 9: p = 0.7778, 1 + 3.8416/9 = 1.426844, centre = (0.777778 + 0.213422) / 1.426844
= 0.694680, half = 1.96 / 1.426844 · √(0.019204 + 0.011857) = 0.242096 → [0.4526, 0.9368].
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.app import build_dialog, build_services
from bot.config import Settings
from bot.conversation.dialog import Services
from bot.reports.indicator import (
    GENERAL_FIELD,
    Group,
    Names,
    Period,
    Summary,
    local_today,
    names_from,
    summarise,
    week_of,
    wilson,
)
from bot.store.store import StoreDatabase
from tests.conftest import Chat

JAN_FEB = Period(dt.date(2026, 1, 1), dt.date(2026, 2, 28))
OFFICE = "pvhcc-phuong-dong-hoi"
KHAI_SINH = "Đăng ký khai sinh"
CAP_SO_DO = ("Đăng ký đất đai, cấp Giấy chứng nhận quyền sử dụng đất lần đầu "
             "(hộ gia đình, cá nhân)")


def at(day: str, hour: int = 9, minute: int = 0) -> str:
    """A Vietnam local time as the UTC ISO string the store writes (UTC+7)."""
    local = dt.datetime.fromisoformat(f"{day}T{hour:02d}:{minute:02d}:00+07:00")
    return local.astimezone(dt.UTC).isoformat(timespec="seconds")


def rate(db: StoreDatabase, ts: str, channel: str, entry: str | None, field: str, value: int,
         satisfied: bool, office: str | None = None, reason: str | None = None) -> int:
    """An answer and its rating at ``ts``, the way the feedback handler stores them."""
    answer_id = db.table("answers").insert({
        "ts": ts, "user_ref": f"u{ts}", "channel": channel, "entry_id": entry,
        "office_id": office, "decision": "answer" if entry else "service", "question_id": None,
    }).last_rowid
    assert answer_id is not None
    db.table("ratings").insert({
        "answer_id": answer_id, "ts": ts, "user_ref": f"u{ts}", "channel": channel,
        "value": value, "satisfied": int(satisfied), "scale_size": 3, "entry_id": entry,
        "field": field, "office_id": office,
    })
    if reason:
        db.table("reasons").insert({"answer_id": answer_id, "reason": reason, "ts": ts})
    return answer_id


def ask(db: StoreDatabase, ts: str, text: str, decision: str, entry: str | None = None) -> None:
    db.table("questions").insert({
        "ts": ts, "user_ref": "u", "channel": "telegram", "text": text, "decision": decision,
        "entry_id": entry, "confidence": None, "section": None, "candidates": "[]",
    })


def seed(db: StoreDatabase) -> None:
    """The dataset every figure below is computed from by hand.

    A  khai-sinh, Hộ tịch, telegram, 5–9 Jan (W02): 9 ratings, 7 satisfied (2 × reason "sai")
    B  cap-so-do, Đất đai, zalo, 12–16 Jan (W03): 10 ratings, 10 satisfied
    D  office answer, telegram, 20 Jan (W04): 2 ratings, 1 satisfied (reason "khac")
    C  /feedback, web, 31 Jan 18:30 UTC = 1 Feb 01:30 local (W05, February): 1 rating, 0 satisfied
    E  khai-sinh, telegram, 20 Dec 2025: 1 rating, 0 satisfied — outside every period below
    """
    values = [3, 3, 2, 2, 3, 2, 3, 1, 1]
    for i, value in enumerate(values):
        day = f"2026-01-{5 + i % 5:02d}"
        rate(db, at(day, 8 + i), "telegram", "khai-sinh", "Hộ tịch", value, value > 1,
             reason="sai" if value == 1 else None)
    for i in range(10):
        rate(db, at(f"2026-01-{12 + i % 5:02d}", 8 + i), "zalo", "cap-so-do", "Đất đai",
             3 - i % 2, True)
    rate(db, at("2026-01-20", 10), "telegram", None, GENERAL_FIELD, 3, True, office=OFFICE)
    rate(db, at("2026-01-20", 11), "telegram", None, GENERAL_FIELD, 1, False, office=OFFICE,
         reason="khac")
    rate(db, "2026-01-31T18:30:00+00:00", "web", None, "Đánh giá chung", 1, False)
    rate(db, at("2025-12-20"), "telegram", "khai-sinh", "Hộ tịch", 1, False, reason="sai")
    # usage: 9 questions in January; one more in December (outside)
    for hour in (8, 9, 10):
        ask(db, at("2026-01-05", hour), "làm giấy khai sinh", "answer", "khai-sinh")
    ask(db, at("2026-01-05", 11), "giấy phép lái xe", "clarify")
    ask(db, at("2026-01-06", 10), "Giá xăng hôm nay?", "decline")
    ask(db, at("2026-01-06", 11), "gia xang hom nay", "decline")
    ask(db, at("2026-01-06", 12), "???", "empty")
    ask(db, at("2026-01-07", 9), "số điện thoại người yêu cũ", "decline")
    ask(db, "2026-01-07T20:00:00+00:00", "đăng ký kết hôn", "answer", "ket-hon")  # 8 Jan local
    ask(db, at("2025-12-20"), "giá xăng", "decline")
    db.table("answers").insert({"ts": at("2026-01-08", 3), "user_ref": "u", "channel": "zalo",
                                "entry_id": "ket-hon", "office_id": None, "decision": "answer",
                                "question_id": None})


@pytest.fixture
def db(services: Services) -> StoreDatabase:
    seed(services.store.db)
    return services.store.db


@pytest.fixture
def summary(db: StoreDatabase, services: Services) -> Summary:
    return summarise(db, JAN_FEB, names_from(services.knowledge.kb))


def figures(group: Group) -> tuple[int, int, float | None, float | None, float | None]:
    low, high = group.interval or (None, None)
    rounded = [None if v is None else round(v, 4) for v in (group.indicator, low, high)]
    return (group.ratings, group.satisfied, *rounded)  # type: ignore[return-value]


def by_key(summary: Summary, kind: str) -> dict[str, tuple[int, int, float | None, float | None,
                                                           float | None]]:
    return {g.key: figures(g) for g in summary.groups[kind]}


def test_wilson_bounds_by_hand() -> None:
    assert wilson(0, 0) is None
    low, high = wilson(7, 9) or (0, 0)
    assert (round(low, 4), round(high, 4)) == (0.4526, 0.9368)
    # 10 of 10: low = n / (n + z²) = 10 / 13.8416 = 0.7225; high is 1
    assert tuple(round(v, 4) for v in wilson(10, 10) or ()) == (0.7225, 1.0)
    # 0 of 1: centre = half = (1.9208 / 4.8416) = 0.3967 → [0, 0.7935]
    assert tuple(round(v, 4) for v in wilson(0, 1) or ()) == (0.0, 0.7935)
    # 1 of 2: centre 0.5, half = 1.96 / 2.9208 · √(0.125 + 0.2401) = 0.4055 → [0.0945, 0.9055]
    assert tuple(round(v, 4) for v in wilson(1, 2) or ()) == (0.0945, 0.9055)


def test_overall_indicator_counts_only_the_period(summary: Summary) -> None:
    # 9 + 10 + 2 + 1 = 22 ratings, 7 + 10 + 1 + 0 = 18 satisfied; 18/22 = 0.8182
    # centre = (0.818182 + 0.087309) / 1.174618 = 0.770881, half = 0.156051
    assert figures(summary.overall) == (22, 18, 0.8182, 0.6148, 0.9269)
    assert not summary.overall.too_few


def test_per_channel(summary: Summary) -> None:
    # telegram: A 9/7 + D 2/1 = 11/8 = 0.7273 → [0.4343, 0.9025]
    assert by_key(summary, "channel") == {
        "telegram": (11, 8, 0.7273, 0.4343, 0.9025),
        "zalo": (10, 10, 1.0, 0.7225, 1.0),
        "web": (1, 0, 0.0, 0.0, 0.7935),
    }


def test_per_procedure_with_titles_and_the_ten_ratings_threshold(summary: Summary) -> None:
    groups = summary.groups["procedure"]
    assert [(g.key, g.label) for g in groups] == [("cap-so-do", CAP_SO_DO),
                                                  ("khai-sinh", KHAI_SINH)]
    assert figures(groups[1]) == (9, 7, 0.7778, 0.4526, 0.9368)
    assert groups[1].too_few and not groups[0].too_few  # 9 ratings: too few; 10: enough


def test_per_field_and_office(summary: Summary) -> None:
    assert by_key(summary, "field") == {
        "Đất đai": (10, 10, 1.0, 0.7225, 1.0),
        "Hộ tịch": (9, 7, 0.7778, 0.4526, 0.9368),
        GENERAL_FIELD: (2, 1, 0.5, 0.0945, 0.9055),
        "Đánh giá chung": (1, 0, 0.0, 0.0, 0.7935),
    }
    [office] = summary.groups["office"]
    assert office.label == "Trung tâm phục vụ hành chính công phường Đồng Hới"
    assert figures(office) == (2, 1, 0.5, 0.0945, 0.9055)


def test_weeks_and_months_use_vietnam_time(summary: Summary) -> None:
    # C was given on 31 Jan 18:30 UTC, that is 1 Feb 01:30 in Vietnam: W05 and February
    assert by_key(summary, "week") == {
        "2026-W02": (9, 7, 0.7778, 0.4526, 0.9368),
        "2026-W03": (10, 10, 1.0, 0.7225, 1.0),
        "2026-W04": (2, 1, 0.5, 0.0945, 0.9055),
        "2026-W05": (1, 0, 0.0, 0.0, 0.7935),
    }
    # January: 21/18 = 0.8571; centre = (0.857143 + 0.091467) / 1.182933 = 0.801913,
    # half = 0.148278 → [0.6536, 0.9502]
    assert by_key(summary, "month") == {
        "2026-01": (21, 18, 0.8571, 0.6536, 0.9502),
        "2026-02": (1, 0, 0.0, 0.0, 0.7935),
    }


def test_period_boundary_is_the_local_day(db: StoreDatabase) -> None:
    january = summarise(db, Period(dt.date(2026, 1, 1), dt.date(2026, 1, 31)))
    assert (january.overall.ratings, january.overall.satisfied) == (21, 18)
    first_of_feb = summarise(db, Period(dt.date(2026, 2, 1), dt.date(2026, 2, 1)))
    assert first_of_feb.overall.ratings == 1


def test_reasons_among_dissatisfied_ratings(summary: Summary) -> None:
    # A's two "sai" and D's "khac"; E's "sai" is from December
    assert summary.reasons == (("Thông tin sai", 2), ("Khác", 1))


def test_usage_figures(summary: Summary) -> None:
    usage = summary.usage
    assert usage.questions == 9  # the December question is outside
    per_day = dict(usage.per_day)
    assert len(per_day) == 59  # every day of January and February, zeros included
    assert per_day[dt.date(2026, 1, 5)] == 4 and per_day[dt.date(2026, 1, 6)] == 3
    assert per_day[dt.date(2026, 1, 7)] == 1 and per_day[dt.date(2026, 1, 8)] == 1  # 20:00 UTC
    assert per_day[dt.date(2026, 1, 9)] == 0
    # 4 answered, 1 clarified, 3 declined, 1 empty of 9
    assert [round(usage.share(d) or 0, 4) for d in ("answer", "clarify", "decline", "other")] \
        == [0.4444, 0.1111, 0.3333, 0.1111]
    # answers given: cap-so-do 10 (B), khai-sinh 9 (A), ket-hon 1
    assert usage.top_entries == ((CAP_SO_DO, 10), (KHAI_SINH, 9), ("Đăng ký kết hôn", 1))
    # the two spellings of "giá xăng hôm nay" count as one question, shown as last typed
    assert usage.top_unanswered == (("gia xang hom nay", 2), ("số điện thoại người yêu cũ", 1))


def test_empty_period(db: StoreDatabase) -> None:
    march = summarise(db, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    assert figures(march.overall) == (0, 0, None, None, None)
    assert march.overall.too_few
    assert all(not groups for groups in march.groups.values())
    assert march.reasons == ()
    assert march.usage.questions == 0 and march.usage.share("answer") is None
    assert len(march.usage.per_day) == 31 and {n for _, n in march.usage.per_day} == {0}
    assert march.usage.top_entries == () and march.usage.top_unanswered == ()


def test_without_knowledge_names_ids_are_shown(db: StoreDatabase) -> None:
    plain = summarise(db, JAN_FEB, Names())
    assert [g.label for g in plain.groups["procedure"]] == ["cap-so-do", "khai-sinh"]


def test_period_helpers() -> None:
    period = Period.last_days(30, dt.date(2026, 3, 10))
    assert period.start == dt.date(2026, 2, 9) and len(period.days()) == 30
    # local midnight of 9 Feb is 17:00 UTC on 8 Feb
    assert period.utc_bounds() == ("2026-02-08T17:00:00+00:00", "2026-03-10T17:00:00+00:00")
    assert week_of(dt.date(2026, 1, 1)) == "2026-W01" and week_of(dt.date(2025, 12, 29)) \
        == "2026-W01"
    assert Period(dt.date(2026, 1, 1), dt.date(2026, 1, 12)).weeks() == [
        "2026-W01", "2026-W02", "2026-W03"]


# -- through the dialog: what a citizen's taps turn into ------------------------------------------


async def test_rating_changed_twice_counts_once_with_the_last_value(chat: Chat,
                                                                    services: Services) -> None:
    [answer] = await chat.say("làm giấy khai sinh cho con")
    answer_id = answer.answer_id
    for value in ("1", "3", "1"):  # dissatisfied, very satisfied, dissatisfied again
        await chat.press(f"r:{answer_id}:{value}")
    await chat.press(chat.button("Khó hiểu"))
    today = summarise(services.store.db, Period.last_days(1), names_from(services.knowledge.kb))
    assert figures(today.overall) == (1, 0, 0.0, 0.0, 0.7935)
    assert today.groups["procedure"][0].label == KHAI_SINH
    assert today.groups["field"][0].key == "Hộ tịch"
    assert today.groups["channel"][0].key == "console"
    assert today.groups["week"][0].key == week_of(local_today())
    assert today.reasons == (("Khó hiểu", 1),)
    await chat.press(f"r:{answer_id}:2")  # a third change: satisfied; the reason goes
    today = summarise(services.store.db, Period.last_days(1), names_from(services.knowledge.kb))
    assert figures(today.overall) == (1, 1, 1.0, 0.2065, 1.0)  # 1 of 1: low = 1/4.8416
    assert today.reasons == ()


FIVE_LEVELS = """\
question: Bạn đánh giá câu trả lời này thế nào?
question_en: How would you rate this answer?
scale:
  - {value: 5, label: "Rất hài lòng", label_en: "Very satisfied", satisfied: true}
  - {value: 4, label: "Hài lòng", label_en: "Satisfied", satisfied: true}
  - {value: 3, label: "Bình thường", label_en: "Neutral", satisfied: false}
  - {value: 2, label: "Không hài lòng", label_en: "Dissatisfied", satisfied: false}
  - {value: 1, label: "Rất không hài lòng", label_en: "Very dissatisfied", satisfied: false}
reason_question: Vì sao bạn chưa hài lòng?
reason_question_en: What was wrong?
reasons:
  - {id: sai, label: Thông tin sai, label_en: Wrong information}
  - {id: khac, label: Khác, label_en: Other}
"""


async def test_five_level_survey_by_editing_survey_yaml_alone(kb_copy: Path,
                                                              settings: Settings) -> None:
    (kb_copy / "survey.yaml").write_text(FIVE_LEVELS, encoding="utf-8")
    services = build_services(settings.model_copy(update={"knowledge_dir": kb_copy}))
    try:
        dialog = build_dialog(services)
        labels = ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng",
                  "Rất không hài lòng"]
        for i, label in enumerate(labels):
            chat = Chat(dialog, user=f"citizen-{i}")
            [answer] = await chat.say("đăng ký kết hôn")
            rating = [b for b in answer.flat_buttons if b.packed.startswith("r:")]
            assert [b.label for b in rating] == labels
            assert len(answer.buttons[-1]) <= 3  # five options: two rows on a phone
            action = next(b.packed for b in rating if b.label == label)
            await chat.press(action)
        rows = list(services.store.db["ratings"].rows)
        assert sorted(r["value"] for r in rows) == [1, 2, 3, 4, 5]
        assert {r["scale_size"] for r in rows} == {5}
        # satisfied + very satisfied: 2 of 5 = 0.4; centre = (0.4 + 0.3842) / 1.76832 = 0.443449,
        # half = 1.96 / 1.76832 · √(0.048 + 0.038416) = 0.325831 → [0.1176, 0.7693]
        today = summarise(services.store.db, Period.last_days(1))
        assert figures(today.overall) == (5, 2, 0.4, 0.1176, 0.7693)
    finally:
        services.store.close()
