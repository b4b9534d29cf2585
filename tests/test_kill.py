"""kill -9 in the middle of a stream: every event the platform was told we received is handled
exactly once — none lost, none twice — on the Telegram webhook, Telegram polling and Zalo.

A real ``dvcbot serve`` (``dvcbot run`` for polling) subprocess talks to the fake Telegram and Zalo
servers over real HTTP.  Citizens in many chats ask a question, wait for the answer and press its
rating button, over and over; meanwhile the bot is killed with SIGKILL (twice) and started again.
A request that got no 200 is sent again, as the platforms do.  At the end:

- in the store: one inbox row per acknowledged event, all finished; as many logged questions and
  answers as questions acknowledged, as many ratings as presses — nothing lost, nothing twice;
- at the fake servers: every question got its answer and every press its thank-you; a message is
  sent twice only if the bot itself reported it unconfirmed at the restart (it was on the wire
  when the process died: the platforms take no idempotency key, so that one cannot be known).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from bot.config import DEFAULT_KNOWLEDGE_DIR
from tests import backend
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.fake_zalo import (
    APP_ID,
    APP_SECRET,
    OA_ID,
    OA_SECRET_KEY,
    FakeZalo,
    event,
    signed_request,
)

DATA = Path(__file__).resolve().parent / "data" / "telegram"
PROCEDURES = ["đăng ký kết hôn", "làm giấy khai sinh cho con", "cấp lại căn cước",
              "đăng ký thường trú", "đổi giấy phép lái xe", "làm hộ chiếu", "đăng ký tạm trú",
              "lý lịch tư pháp"]
THANKS = "Cảm ơn bạn đã đánh giá!"
CHATS = 30
ROUNDS = 4  # question + rating press per round: 240 events per channel
KILLS = (0.3, 0.65)  # kill -9 when this share of the events has been acknowledged
WAIT = 90.0
UNCONFIRMED = re.compile(r"inbox: (\w+): \d+ event\(s\) .*?; (\d+) reply message\(s\)")
IDS = itertools.count(700_000_001)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotProcess:
    """``dvcbot <command>`` as a subprocess: started, killed with SIGKILL, started again."""

    def __init__(self, command: str, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.command, self.env, self.cwd, self.log = command, env, cwd, log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        dvcbot = Path(sys.executable).parent / "dvcbot"
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                str(dvcbot), self.command, env=self.env, cwd=self.cwd, stderr=log,
                stdout=asyncio.subprocess.DEVNULL)
        self.starts += 1

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def unconfirmed(self, channel: str) -> int:
        """Reply messages the restarted bot reported it could not know were delivered."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return sum(int(n) for name, n in UNCONFIRMED.findall(text) if name == channel)


@dataclass
class Ledger:
    """What the platforms were told the bot received."""

    planned: int
    acked: int = 0
    questions: Counter[str] = field(default_factory=Counter)  # channel → acknowledged questions
    presses: Counter[str] = field(default_factory=Counter)
    events: dict[str, set[str]] = field(default_factory=lambda: {"telegram": set(), "zalo": set()})

    def ack(self, channel: str, event_id: str, kind: str) -> None:
        self.acked += 1
        self.events[channel].add(event_id)
        (self.questions if kind == "question" else self.presses)[channel] += 1


async def until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def killer(bot: BotProcess, ledger: Ledger) -> None:
    for share in KILLS:
        threshold = share * ledger.planned
        await until(lambda: ledger.acked >= threshold, "progress")  # noqa: B023
        await bot.kill()
        await bot.start()


# -- Telegram --------------------------------------------------------------------------------------


def recorded(name: str) -> dict[str, Any]:
    return dict(json.loads((DATA / f"{name}.json").read_text(encoding="utf-8")))


def tg_question(chat: int, text: str) -> dict[str, Any]:
    update = copy.deepcopy(recorded("message_text"))
    update["update_id"] = next(IDS)
    message = update["message"]
    message.update(text=text, message_id=update["update_id"])
    message["from"]["id"] = message["chat"]["id"] = chat
    return update


def tg_press(chat: int, data: str) -> dict[str, Any]:
    update = copy.deepcopy(recorded("callback_query"))
    update["update_id"] = next(IDS)
    query = update["callback_query"]
    query.update(id=f"cb{update['update_id']}", data=data)
    query["from"]["id"] = query["message"]["chat"]["id"] = chat
    return update


def tg_rating(call_params: dict[str, Any]) -> int | None:
    markup = call_params.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = str(button.get("callback_data") or "")
            if data.startswith("r:"):
                return int(data.split(":")[1])
    return None


def tg_new_answer(fake: FakeTelegram, chat: int, seen: set[int]) -> int | None:
    for call in fake.messages(chat):
        answer = tg_rating(call.params)
        if answer is not None and answer not in seen:
            return answer
    return None


async def tg_citizen(fake: FakeTelegram, chat: int, ledger: Ledger,
                     deliver: Callable[[dict[str, Any]], Awaitable[bool]]) -> None:
    seen: set[int] = set()
    for n in range(ROUNDS):
        question = tg_question(chat, PROCEDURES[(chat + n) % len(PROCEDURES)])
        await until_delivered(deliver, question)
        ledger.ack("telegram", str(question["update_id"]), "question")
        answer = await until(lambda: tg_new_answer(fake, chat, seen), f"answer in {chat}")
        seen.add(answer)
        press = tg_press(chat, f"r:{answer}:3")
        await until_delivered(deliver, press)
        ledger.ack("telegram", str(press["update_id"]), "press")


async def until_delivered(deliver: Callable[[dict[str, Any]], Awaitable[bool]],
                          update: dict[str, Any]) -> None:
    """Send until the bot answers 200 — as the platform retries a webhook."""
    while True:
        try:
            if await deliver(update):
                return
        except (aiohttp.ClientError, OSError, TimeoutError):
            pass  # the bot is down (killed): try again
        await asyncio.sleep(0.05)


def tg_duplicates(fake: FakeTelegram, chats: range) -> int:
    """Messages sent more than once: in a chat every answer is to another procedure, so two
    equal answers are one answer twice; thank-yous beyond one per press are repeats."""
    repeats = 0
    for chat in chats:
        sent = [c.params for c in fake.messages(chat)]
        answers = Counter(json.dumps([p.get("text"), p.get("reply_markup")], ensure_ascii=False)
                          for p in sent if p.get("text") != THANKS)
        repeats += sum(n - 1 for n in answers.values())
        repeats += sum(p.get("text") == THANKS for p in sent) - ROUNDS
    return repeats


# -- Zalo ------------------------------------------------------------------------------------------


def zl_rating(message: dict[str, Any]) -> int | None:
    buttons = message.get("attachment", {}).get("payload", {}).get("buttons", [])
    for button in buttons:
        payload = str(button.get("payload") or "")
        if payload.startswith("#dvc:r:"):
            return int(payload.split(":")[2])
    return None


async def zl_citizen(fake: FakeZalo, url: str, user: str, index: int, ledger: Ledger,
                     http: aiohttp.ClientSession) -> None:
    seen: set[int] = set()

    async def post(payload: dict[str, Any]) -> bool:
        body, headers = signed_request(payload)
        async with http.post(url, data=body, headers=headers) as resp:
            await resp.read()
            return resp.status == 200

    def new_answer() -> int | None:
        for message in fake.to(user):
            answer = zl_rating(message)
            if answer is not None and answer not in seen:
                return answer
        return None

    for n in range(ROUNDS):
        question = event("user_send_text", user, text=PROCEDURES[(index + n) % len(PROCEDURES)])
        await until_delivered(post, question)
        ledger.ack("zalo", question["message"]["msg_id"], "question")
        answer = await until(new_answer, f"answer to {user}")
        seen.add(answer)
        press = event("user_send_text", user, text=f"#dvc:r:{answer}:3")
        await until_delivered(post, press)
        ledger.ack("zalo", press["message"]["msg_id"], "press")


def zl_duplicates(fake: FakeZalo, users: list[str]) -> int:
    repeats = 0
    for user in users:
        sent = fake.to(user)
        messages = Counter(json.dumps(m, ensure_ascii=False, sort_keys=True) for m in sent
                           if m.get("text") != THANKS)
        repeats += sum(n - 1 for n in messages.values())
        repeats += sum(m.get("text") == THANKS for m in sent) - ROUNDS
    return repeats


# -- the store -------------------------------------------------------------------------------------


def query(target: Path | str, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Rows from the bot's store: its SQLite file, or its PostgreSQL schema (a URL)."""
    if isinstance(target, str):
        with psycopg.connect(target) as pg:
            return [tuple(r) for r in pg.execute(sql.replace("?", "%s"), params).fetchall()]
    with sqlite3.connect(target) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def store_counts(db: Path | str, channel: str) -> dict[str, Any]:
    rows = query(db, "SELECT event_id, state FROM inbox WHERE channel = ?", [channel])
    journal = query(db, "SELECT count(*) FROM inbox_journal", [])[0][0]

    def count(table: str, where: str = "") -> int:
        sql = f"SELECT count(*) FROM {table} WHERE channel = ? {where}"
        return int(query(db, sql, [channel])[0][0])

    return {"events": {e for e, _ in rows}, "states": Counter(s for _, s in rows),
            "questions": count("questions"), "answers": count("answers", "AND decision = "
                                                              "'answer'"),
            "ratings": count("ratings"), "journal": journal}


def store_of(env: dict[str, str]) -> Path | str:
    return env.get("DATABASE_URL") or Path(env["DATA_DIR"]) / "dvcbot.sqlite3"


def assert_exactly_once(db: Path | str, channel: str, ledger: Ledger) -> None:
    found = store_counts(db, channel)
    assert found["events"] == ledger.events[channel]  # every acknowledged event, nothing else
    assert found["states"] == Counter({"sent": len(ledger.events[channel])})  # all finished
    assert found["questions"] == found["answers"] == ledger.questions[channel]
    assert found["ratings"] == ledger.presses[channel]
    assert found["journal"] == 0


def environment(tmp_path: Path, **more: str) -> dict[str, str]:
    knowledge = tmp_path / "knowledge"
    if not knowledge.exists():
        shutil.copytree(DEFAULT_KNOWLEDGE_DIR, knowledge)  # a snapshot: others may edit the KB
    return {"PATH": os.environ.get("PATH", ""), "DATA_DIR": str(tmp_path / "data"),
            "KNOWLEDGE_DIR": str(knowledge), "PSEUDONYM_KEY": "test-key-123456",
            "LOG_LEVEL": "WARNING", "WEB_ENABLED": "false", **backend.child_env(), **more}


async def both_channels(telegram: FakeTelegram, zalo: FakeZalo, tg_chats: range,
                        zl_users: list[str], webhook: str, ledger: Ledger,
                        http: aiohttp.ClientSession) -> None:
    """Every citizen of both channels asks and rates, ``ROUNDS`` times, over the webhooks."""

    async def deliver(update: dict[str, Any]) -> bool:
        return await telegram.deliver(update) == 200

    await asyncio.gather(
        *(tg_citizen(telegram, chat, ledger, deliver) for chat in tg_chats),
        *(zl_citizen(zalo, webhook, user, i, ledger, http) for i, user in enumerate(zl_users)))


async def every_thank_you(telegram: FakeTelegram, zalo: FakeZalo, tg_chats: range,
                          zl_users: list[str]) -> None:
    """Wait until every rating press on both channels got its thank-you."""
    await until(lambda: all(
        sum(c.params.get("text") == THANKS for c in telegram.messages(chat)) >= ROUNDS
        for chat in tg_chats), "every thank-you on Telegram")
    await until(lambda: all(
        sum(m.get("text") == THANKS for m in zalo.to(user)) >= ROUNDS
        for user in zl_users), "every thank-you on Zalo")


# -- the tests -------------------------------------------------------------------------------------


async def test_kill_9_on_the_telegram_webhook_and_zalo(tmp_path: Path) -> None:
    port = free_port()
    zalo = FakeZalo()
    await zalo.start()
    async with FakeTelegram() as telegram, aiohttp.ClientSession() as http:
        env = environment(
            tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=telegram.url,
            PUBLIC_URL=f"http://127.0.0.1:{port}", TELEGRAM_WEBHOOK_SECRET="s3cret-Kill_9",
            HOST="127.0.0.1", PORT=str(port), ZALO_APP_ID=APP_ID, ZALO_APP_SECRET=APP_SECRET,
            ZALO_OA_ID=OA_ID, ZALO_OA_SECRET_KEY=OA_SECRET_KEY, ZALO_ACCESS_TOKEN="at-0",
            ZALO_REFRESH_TOKEN="rt-0", ZALO_API_URL=zalo.url, ZALO_OAUTH_URL=zalo.url)
        bot = BotProcess("serve", env, tmp_path, tmp_path / "bot.log")
        await bot.start()
        try:
            await telegram.wait_for("setWebhook", timeout=60)
            ledger = Ledger(planned=2 * 2 * CHATS * ROUNDS)
            tg_chats = range(6_100_000_001, 6_100_000_001 + CHATS)
            zl_users = [f"8{index:017d}" for index in range(CHATS)]
            webhook = f"http://127.0.0.1:{port}/zalo/webhook"
            kills = asyncio.create_task(killer(bot, ledger))
            await both_channels(telegram, zalo, tg_chats, zl_users, webhook, ledger, http)
            await kills
            await every_thank_you(telegram, zalo, tg_chats, zl_users)
        finally:
            await bot.stop()
            await zalo.close()
    assert bot.starts == 1 + len(KILLS)
    db = store_of(env)
    assert_exactly_once(db, "telegram", ledger)
    assert_exactly_once(db, "zalo", ledger)
    assert ledger.questions["telegram"] == ledger.presses["telegram"] == CHATS * ROUNDS
    assert ledger.questions["zalo"] == ledger.presses["zalo"] == CHATS * ROUNDS
    print(f"kill -9 ×{len(KILLS)}: telegram repeats {tg_duplicates(telegram, tg_chats)} of "
          f"{bot.unconfirmed('telegram')} unconfirmed; zalo repeats "
          f"{zl_duplicates(zalo, zl_users)} of {bot.unconfirmed('zalo')} unconfirmed replies")
    assert 0 <= tg_duplicates(telegram, tg_chats) <= bot.unconfirmed("telegram")
    # a Zalo reply is a few messages (text, then button groups): counted per reply at restart
    assert 0 <= zl_duplicates(zalo, zl_users) <= 4 * bot.unconfirmed("zalo")
    assert "Traceback" not in (tmp_path / "bot.log").read_text(encoding="utf-8")


async def test_kill_9_while_polling_telegram(tmp_path: Path) -> None:
    async with FakeTelegram() as telegram:
        env = environment(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=telegram.url)
        bot = BotProcess("run", env, tmp_path, tmp_path / "bot.log")
        await bot.start()
        try:
            await telegram.wait_for_arrival("getUpdates", timeout=60)

            async def push(update: dict[str, Any]) -> bool:
                telegram.push(update)  # polling: delivered (again) until the offset confirms it
                return True

            ledger = Ledger(planned=2 * CHATS * ROUNDS)
            chats = range(6_200_000_001, 6_200_000_001 + CHATS)
            kills = asyncio.create_task(killer(bot, ledger))
            await asyncio.gather(*(tg_citizen(telegram, chat, ledger, push) for chat in chats))
            await kills
            await until(lambda: all(
                sum(c.params.get("text") == THANKS for c in telegram.messages(chat)) >= ROUNDS
                for chat in chats), "every thank-you")
        finally:
            await bot.stop()
    assert bot.starts == 1 + len(KILLS)
    pushed = {int(e) for e in ledger.events["telegram"]}
    assert pushed <= set(telegram.delivered_at)  # every update was handed to the bot
    assert_exactly_once(store_of(env), "telegram", ledger)
    print(f"kill -9 ×{len(KILLS)} while polling: repeats {tg_duplicates(telegram, chats)} of "
          f"{bot.unconfirmed('telegram')} unconfirmed")
    assert 0 <= tg_duplicates(telegram, chats) <= bot.unconfirmed("telegram")
    assert "Traceback" not in (tmp_path / "bot.log").read_text(encoding="utf-8")
