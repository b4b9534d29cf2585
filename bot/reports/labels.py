"""Words and number formats shared by every report format (Vietnamese by default, or English)."""

from __future__ import annotations

import datetime as dt

from bot.reports.indicator import MIN_RATINGS, Group

_VI = {
    "title": "Báo cáo mức độ hài lòng của người dân",
    "period": "Kỳ báo cáo",
    "indicator": "Chỉ số hài lòng",
    "indicator_short": "Chỉ số",
    "indicator_note": ("Tỷ lệ đánh giá hài lòng trên tổng số đánh giá; khoảng tin cậy 95% "
                       f"(Wilson). Nhóm dưới {MIN_RATINGS} đánh giá: chưa đủ để kết luận."),
    "overall": "Toàn bộ",
    "procedure": "Theo thủ tục",
    "field": "Theo lĩnh vực",
    "office": "Theo trung tâm phục vụ hành chính công",
    "channel": "Theo kênh",
    "week": "Theo tuần",
    "month": "Theo tháng",
    "group": "Nhóm",
    "ratings": "Số đánh giá",
    "satisfied": "Hài lòng",
    "ci": "Khoảng tin cậy 95%",
    "too_few": "chưa đủ để kết luận",
    "no_ratings": "Chưa có đánh giá nào trong kỳ.",
    "reasons": "Lý do chưa hài lòng",
    "usage": "Tình hình sử dụng",
    "questions": "Số câu hỏi",
    "per_day": "Câu hỏi mỗi ngày",
    "answered": "Trả lời được",
    "clarified": "Hỏi lại để làm rõ",
    "declined": "Chưa trả lời được",
    "other": "Khác (tin nhắn trống)",
    "top_entries": "Thủ tục được hỏi nhiều nhất",
    "top_unanswered": "Câu hỏi chưa trả lời được nhiều nhất",
    "times": "lần",
    "none": "Không có.",
    "chart_trend": "Chỉ số hài lòng theo tuần (khoảng tin cậy 95%)",
    "chart_field": "Chỉ số hài lòng theo lĩnh vực (khoảng tin cậy 95%)",
    "chart_days": "Số câu hỏi mỗi ngày",
    "chat_title": "Mức độ hài lòng 30 ngày qua",
    "chat_image": "Biểu đồ: chỉ số hài lòng theo tuần (điểm rỗng: dưới {n} đánh giá).",
    "generated": "Lập lúc",
}

_EN = {
    "title": "Citizen satisfaction report",
    "period": "Period",
    "indicator": "Satisfaction indicator",
    "indicator_short": "Share",
    "indicator_note": ("Share of ratings that are satisfied; 95% confidence interval (Wilson). "
                       f"Groups with fewer than {MIN_RATINGS} ratings: too few to judge."),
    "overall": "Overall",
    "procedure": "By procedure",
    "field": "By field",
    "office": "By one-stop office",
    "channel": "By channel",
    "week": "By week",
    "month": "By month",
    "group": "Group",
    "ratings": "Ratings",
    "satisfied": "Satisfied",
    "ci": "95% interval",
    "too_few": "too few to judge",
    "no_ratings": "No ratings in this period.",
    "reasons": "Why citizens were not satisfied",
    "usage": "Usage",
    "questions": "Questions",
    "per_day": "Questions per day",
    "answered": "Answered",
    "clarified": "Asked to clarify",
    "declined": "Not answered",
    "other": "Other (empty messages)",
    "top_entries": "Most asked procedures",
    "top_unanswered": "Most frequent unanswered questions",
    "times": "times",
    "none": "None.",
    "chart_trend": "Satisfaction indicator by week (95% interval)",
    "chart_field": "Satisfaction indicator by field (95% interval)",
    "chart_days": "Questions per day",
    "chat_title": "Satisfaction, last 30 days",
    "chat_image": "Chart: satisfaction indicator by week (hollow points: fewer than {n} ratings).",
    "generated": "Generated",
}

DECISION_LABELS = {"answer": "answered", "clarify": "clarified", "decline": "declined",
                   "other": "other"}


def labels(lang: str = "vi") -> dict[str, str]:
    return _EN if lang == "en" else _VI


def fmt_pct(value: float | None, lang: str = "vi") -> str:
    """0.7778 → '77,8%' (Vietnamese decimal comma) or '77.8%' in English; None → '–'."""
    if value is None:
        return "–"
    text = f"{value * 100:.1f}%"
    return text if lang == "en" else text.replace(".", ",")


def interval_text(group: Group, lang: str) -> str:
    if group.interval is None:
        return "–"
    low, high = group.interval
    return f"{fmt_pct(low, lang)}–{fmt_pct(high, lang)}"


def date_text(day: dt.date, lang: str) -> str:
    return day.isoformat() if lang == "en" else day.strftime("%d/%m/%Y")


def period_text(start: dt.date, end: dt.date, lang: str) -> str:
    return f"{date_text(start, lang)} – {date_text(end, lang)}"
