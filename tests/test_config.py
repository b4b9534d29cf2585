from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, read_dotenv
from bot.logs import SecretFilter, secrets_of


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text('# comment\nPORT=9000\nexport LOG_LEVEL="DEBUG"\nTELEGRAM_ADMIN_IDS=1, 2\n')
    assert read_dotenv(env)["LOG_LEVEL"] == "DEBUG"
    settings = load_settings(environ={"PORT": "9100", "DATA_DIR": str(tmp_path)}, dotenv=env)
    assert settings.port == 9100 and settings.log_level == "DEBUG"
    assert settings.telegram_admin_ids == (1, 2)


def test_invalid_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DEFAULT_LOCALE"):
        load_settings(environ={"DEFAULT_LOCALE": "fr", "DATA_DIR": str(tmp_path)}, dotenv=None)


def test_pseudonym_key_is_created_once_and_kept(tmp_path: Path) -> None:
    first = load_settings(environ={"DATA_DIR": str(tmp_path)}, dotenv=None)
    second = load_settings(environ={"DATA_DIR": str(tmp_path)}, dotenv=None)
    assert first.pseudonym_key == second.pseudonym_key
    assert (tmp_path / "pseudonym.key").stat().st_mode & 0o077 == 0


def test_secrets_never_reach_the_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token = "123456:ABC-very-secret-token"
    settings = load_settings(environ={"TELEGRAM_BOT_TOKEN": token, "DATA_DIR": str(tmp_path)},
                             dotenv=None)
    logger = logging.getLogger("test.secret")
    logger.addFilter(SecretFilter(secrets_of(settings)))
    with caplog.at_level(logging.INFO):
        logger.info("calling https://api.telegram.org/bot%s/getMe", token)
    assert token not in caplog.text and "***" in caplog.text
    assert token not in repr(settings)
