"""The command line as staff and developers use it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import main

LAST_LINE = re.compile(
    r"^top1=\d\.\d{3} top3=\d\.\d{3} decline=\d\.\d{3} false_decline=\d\.\d{3} "
    r"section=\d\.\d{3} p50_ms=\d+\.\d{2} p99_ms=\d+\.\d{2} n=\d+$"
)


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's folder
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def test_kb_check_passes_on_the_sample(runner: CliRunner) -> None:
    result = runner.invoke(main, ["kb", "check", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 52 entries")


def test_kb_check_fails_with_file_and_line(runner: CliRunner, kb_copy: Path) -> None:
    path = kb_copy / "procedures" / "ho-chieu.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("level: ", "level: huyen #", 1),
                    encoding="utf-8")
    result = runner.invoke(main, ["kb", "check", str(kb_copy), "--lang", "en"])
    assert result.exit_code == 1
    assert re.search(r"^knowledge/procedures/ho-chieu\.yaml:\d+: level: ", result.output, re.M)
    assert "the bot keeps serving the last good version" in result.output


def test_eval_prints_the_figures_last(runner: CliRunner, tmp_path: Path) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text(
        '- {q: "lam ho chieu o dau", expect: ho-chieu, section: where}\n'
        '- {q: "giá vàng hôm nay", expect: null}\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.json"
    result = runner.invoke(main, ["eval", str(questions), "--json", str(out)])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert LAST_LINE.match(last), last
    assert last.startswith("top1=1.000 top3=1.000 decline=1.000 false_decline=0.000 section=1.000")
    assert '"top1_ok": true' in out.read_text(encoding="utf-8")


def test_ask_shows_decision_top5_and_section(runner: CliRunner) -> None:
    result = runner.invoke(main, ["ask", "le phi doi bang lai xe"])
    assert result.exit_code == 0, result.output
    assert "decision: answer" in result.output and "section: fee" in result.output
    assert re.search(r"^  1\. doi-gplx ", result.output, re.M)


def test_invalid_setting_is_reported(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "not-a-port")
    result = runner.invoke(main, ["kb", "check"])
    assert result.exit_code != 0 and "PORT" in result.output
