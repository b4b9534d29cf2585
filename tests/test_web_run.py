"""`dvcbot run` with nothing configured: the console chat, and beside it the web chat and the
dashboard on 127.0.0.1, with both addresses and how to make the first account printed."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import aiohttp

from bot.config import env_names
from tests.web_support import free_port

ROOT = Path(__file__).resolve().parent.parent


async def test_run_with_nothing_configured_serves_the_web_chat_beside_the_console(
        tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in env_names()}
    env.update({"DATA_DIR": str(tmp_path / "data"), "PORT": str(port), "PYTHONPATH": str(ROOT)})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli.main", "run", cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert process.stdin and process.stdout and process.stderr
    try:
        told = ""
        while "/admin" not in told:
            line = await asyncio.wait_for(process.stderr.readline(), 60)
            assert line, f"dvcbot run stopped early: {told}"
            told += line.decode()
        assert f"Web chat:  http://127.0.0.1:{port}/chat" in told  # words in DEFAULT_LOCALE (vi)
        assert f"Bảng điều khiển: http://127.0.0.1:{port}/admin" in told
        assert "dvcbot admin add-user" in told
        async with aiohttp.ClientSession() as http:
            page = await http.get(f"http://127.0.0.1:{port}/chat")
            assert page.status == 200 and 'role="log"' in await page.text()
            login = await http.get(f"http://127.0.0.1:{port}/admin", allow_redirects=False)
            assert login.status == 303
        process.stdin.write("làm giấy khai sinh\n".encode())
        await process.stdin.drain()
        process.stdin.close()
        out = (await asyncio.wait_for(process.stdout.read(), 60)).decode()
        assert "== Đăng ký khai sinh ==" in out
        assert await asyncio.wait_for(process.wait(), 30) == 0  # end of input stops both
        assert not re.search(r"Traceback|ERROR", (await process.stderr.read()).decode())
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
