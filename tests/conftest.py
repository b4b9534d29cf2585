"""Shared fixtures: real knowledge base, real SQLite (in a temp folder), real renderer."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot import app as app_module
from bot.app import build_dialog, build_services
from bot.config import DEFAULT_KNOWLEDGE_DIR, Settings, load_settings
from bot.conversation import actions
from bot.conversation.dialog import Dialog, Services
from bot.conversation.pseudonym import user_ref
from bot.conversation.replies import Incoming, Reply
from bot.knowledge.loader import KnowledgeBase, load_knowledge
from bot.retrieval.engine import Engine
from bot.store.shared import RedisShared
from bot.store.store import Store
from tests import backend

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge(DEFAULT_KNOWLEDGE_DIR)


@pytest.fixture(scope="session")
def engine(kb: KnowledgeBase) -> Engine:
    return Engine(kb)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the sample knowledge base, to break and to edit."""
    target = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, target)
    return target


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(environ={}, dotenv=None, data_dir=tmp_path / "data",
                         pseudonym_key="test-key-123456")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    yield built
    built.store.close()


@pytest.fixture
def dialog(services: Services) -> Dialog:
    return build_dialog(services)


class Chat:
    """One citizen talking to the dialog, the way a channel adapter would call it."""

    def __init__(self, dialog: Dialog, user: str = "42", channel: str = "console",
                 locale: str | None = None, admin: bool = False) -> None:
        self.dialog = dialog
        key = dialog.services.settings.pseudonym_key.get_secret_value()
        self.user = user_ref(key, channel, user)
        self.channel = channel
        self.locale = locale
        self.admin = admin
        self.last: list[Reply] = []

    async def say(self, text: str, **extra: object) -> list[Reply]:
        inc = Incoming(self.channel, self.user, text=text, locale=self.locale,
                       is_admin=self.admin, **extra)  # type: ignore[arg-type]
        self.last = await self.dialog.dispatch(inc)
        return self.last

    async def press(self, packed: str) -> list[Reply]:
        """Press a button by the string the platform sends back for it."""
        inc = Incoming(self.channel, self.user, action=actions.parse(packed), locale=self.locale,
                       is_admin=self.admin)
        self.last = await self.dialog.dispatch(inc)
        return self.last

    def button(self, label_part: str) -> str:
        for reply in self.last:
            for button in reply.flat_buttons:
                if label_part.lower() in button.label.lower():
                    return button.packed
        raise AssertionError(f"no button {label_part!r} in {self.last}")


@pytest.fixture
def chat(dialog: Dialog) -> Chat:
    return Chat(dialog)


@pytest.fixture
async def anyio_backend() -> AsyncIterator[str]:  # pragma: no cover - not used, keeps plugins quiet
    yield "asyncio"


@pytest.fixture(autouse=True)
def _store_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """With DATABASE_URL set, every store of the test lives on PostgreSQL (tests/backend.py)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)  # settings the tests build never see it
    monkeypatch.delenv("REDIS_URL", raising=False)
    if backend.SERVER is None:
        return
    schemas = backend.Schemas()
    original = Store.__init__

    def init(self: Store, path: Path | str) -> None:
        original(self, schemas.target(path))

    monkeypatch.setattr(Store, "__init__", init)
    monkeypatch.setattr(Settings, "store_missing",
                        property(lambda self: not schemas.has(self.db_path)))
    if backend.REDIS is not None:  # several workers' mode: what they share lives in Redis
        prefix = backend.fresh_prefix()
        monkeypatch.setattr(app_module, "open_shared",
                            lambda settings: RedisShared(backend.REDIS or "", prefix=prefix))


# --- real servers (tests/servers.py) ------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """One Redis server for the session: REDIS_URL if set, else a throwaway one."""
    from tests import servers

    with servers.redis_server() as url:
        yield url


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The session's Redis server, its database emptied for this test (a REDIS_URL given to the
    tests must be one they may empty)."""
    import redis

    client = redis.Redis.from_url(redis_server_url)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server_url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One PostgreSQL server for the session: DATABASE_URL if set, else a throwaway cluster."""
    from tests import servers

    with servers.postgres_server() as url:
        yield url
