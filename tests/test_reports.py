"""`dvcbot report` in every format, and /report in the officials' chat."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from bot.cli.main import main
from bot.config import Settings
from bot.conversation.dialog import Dialog, Services
from bot.reports.as_csv import to_csv
from bot.reports.as_html import to_html
from bot.reports.chart_png import ACCENT, trend_png
from bot.reports.indicator import Names, Period, summarise
from tests.conftest import Chat
from tests.test_satisfaction import JAN_FEB, ask, at, seed

HEADER = "group_type,group,ratings,satisfied,indicator,ci_low,ci_high"


@pytest.fixture
def seeded(services: Services) -> Services:
    seed(services.store.db)
    ask(services.store.db, at("2026-01-09"), "<script>alert(1)</script> & co", "decline")
    return services


def run(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *args: str) -> Result:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {"DATA_DIR": str(settings.data_dir), "PSEUDONYM_KEY": "test-key-123456"}
    return CliRunner().invoke(main, ["report", *args], env=env, catch_exceptions=False)


def test_csv_has_the_exact_header_and_one_row_per_group(
        seeded: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    result = run(settings, monkeypatch, tmp_path, "--from", "2026-01-01", "--to", "2026-02-28",
                 "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == HEADER
    # 22 ratings, 18 satisfied: 0.8182 [0.6148, 0.9269] (see test_satisfaction)
    assert lines[1] == "overall,Tất cả,22,18,0.8182,0.6148,0.9269"
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    kinds = [r["group_type"] for r in rows]
    # overall 1, procedure 2, field 4, office 1, channel 3, week 4, month 2
    assert {k: kinds.count(k) for k in dict.fromkeys(kinds)} == {
        "overall": 1, "procedure": 2, "field": 4, "office": 1, "channel": 3, "week": 4,
        "month": 2}
    khai_sinh = next(r for r in rows if r["group"] == "Đăng ký khai sinh")
    assert khai_sinh == {"group_type": "procedure", "group": "Đăng ký khai sinh", "ratings": "9",
                         "satisfied": "7", "indicator": "0.7778", "ci_low": "0.4526",
                         "ci_high": "0.9368"}


def test_csv_of_an_empty_period(seeded: Services) -> None:
    march = summarise(seeded.store.db, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    assert to_csv(march) == f"{HEADER}\noverall,Tất cả,0,0,,,\n"


def test_text_report(seeded: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch,
                     tmp_path: Path) -> None:
    result = run(settings, monkeypatch, tmp_path, "--from", "2026-01-01", "--to", "2026-02-28")
    assert result.exit_code == 0
    text = result.stdout
    assert "Chỉ số hài lòng: 81,8% (18/22; Khoảng tin cậy 95%: 61,5%–92,7%)" in text
    khai_sinh = next(line for line in text.splitlines() if line.startswith("Đăng ký khai sinh"))
    assert "77,8%" in khai_sinh and "chưa đủ để kết luận" in khai_sinh  # 9 ratings
    cap_so_do = next(line for line in text.splitlines() if line.startswith("Đăng ký đất đai"))
    assert "100,0%" in cap_so_do and "chưa đủ" not in cap_so_do  # 10 ratings
    assert "1. gia xang hom nay — 2 lần" in text
    assert "Trả lời được 40,0%" in text  # 4 of 10 questions (the seed's 9 + one here)


def test_html_is_self_contained_with_svg_charts(seeded: Services) -> None:
    html = to_html(summarise(seeded.store.db, JAN_FEB, Names()))
    assert html.count("<svg") == 3  # trend by week, by field, questions per day
    assert "@page { size: A4" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?!#|data:)""", html, re.I)
    assert not re.search(r"https?://|@import|url\(", html)
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "81,8%" in html and "chưa đủ để kết luận" in html
    # the week chart: four weeks with ratings → four points (circles) and four n= labels
    trend = html[html.index("<svg"):html.index("</svg>")]
    assert trend.count("<circle") == 4 and "n=10" in trend


def test_html_of_an_empty_period_still_renders(seeded: Services, settings: Settings,
                                               monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    out = tmp_path / "march.html"
    result = run(settings, monkeypatch, tmp_path, "--from", "2026-03-01", "--to", "2026-03-31",
                 "--format", "html", "--out", str(out))
    assert result.exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert "Chưa có đánh giá nào trong kỳ." in html and html.count("<svg") == 2


def test_xlsx_workbook(seeded: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch,
                       tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    result = run(settings, monkeypatch, tmp_path, "--from", "2026-01-01", "--to", "2026-02-28",
                 "--format", "xlsx", "--out", str(out))
    assert result.exit_code == 0
    with zipfile.ZipFile(out) as book:
        names = book.namelist()
        strings = book.read("xl/sharedStrings.xml").decode()
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "xl/worksheets/sheet2.xml" in names
    assert all(column in strings for column in HEADER.split(","))
    assert "Đăng ký khai sinh" in strings
    assert "<v>22</v>" in sheet and "<v>18</v>" in sheet  # the overall row
    assert re.search(r"<v>0\.81818181818181\d*</v>", sheet)  # 18/22, kept exact


def test_bad_dates_and_missing_database(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    result = run(settings, monkeypatch, tmp_path, "--from", "2026-02-01", "--to", "2026-01-01")
    assert result.exit_code == 2 and "is after --to" in result.output
    result = run(settings, monkeypatch, tmp_path, "--from", "2026-13-01")
    assert result.exit_code == 2
    result = run(settings, monkeypatch, tmp_path, "--format", "csv")  # no database yet
    assert result.exit_code == 1 and "no database" in result.output


def test_unwritable_out_file_is_a_clear_error(seeded: Services, settings: Settings,
                                              monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    out = tmp_path / "missing-folder" / "r.csv"
    result = run(settings, monkeypatch, tmp_path, "--format", "csv", "--out", str(out))
    assert result.exit_code == 1 and f"cannot write {out}" in result.output


def test_trend_png_marks_the_weeks_with_ratings(seeded: Services) -> None:
    summary = summarise(seeded.store.db, JAN_FEB)
    png = trend_png(JAN_FEB.weeks(), summary.groups["week"])
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (960, 480)
    colours = {colour for _, colour in image.convert("RGB").getcolors(1 << 20) or []}
    assert ACCENT in colours


async def test_report_in_chat_for_officials_only(dialog: Dialog) -> None:
    citizen = Chat(dialog, user="7")
    [answer] = await citizen.say("đăng ký kết hôn")
    await citizen.press(f"r:{answer.answer_id}:3")
    [refused] = await citizen.say("/report")
    only = dialog.services.renderer.t("vi", "admin.only")
    assert refused.text == only and refused.image is None
    official = Chat(dialog, user="1", admin=True)
    summary, chart = await official.say("/report")
    assert summary.kind == "admin" and "30 ngày" in summary.text
    # 1 of 1 satisfied: 100% [20.7%, 100%] (low = 1 / (1 + 3.8416)), too few to judge
    assert "100,0% (1/1; Khoảng tin cậy 95%: 20,7%–100,0%)" in summary.text
    assert "chưa đủ để kết luận" in summary.text
    assert chart.image is not None and chart.image.startswith(b"\x89PNG\r\n\x1a\n")
    assert chart.image_name and chart.image_name.endswith(".png")


async def test_report_in_chat_with_no_ratings_sends_no_chart(dialog: Dialog) -> None:
    replies = await Chat(dialog, user="1", admin=True).say("/report")
    assert len(replies) == 1 and "Chưa có đánh giá nào" in replies[0].text
