"""Logging set-up: secrets from the settings and citizens' personal data masked in every line.

The bot never logs what a citizen wrote or a platform's payload; as a second line of defence
every record (its message and any traceback) goes through ``bot.privacy.mask`` (phone, ID,
e-mail and bank account numbers) and has the secrets of the settings replaced by ``***``.
Python warnings (a library printing a payload it did not expect) go through the same filter
instead of straight to stderr.
"""

from __future__ import annotations

import logging
import sys

from bot.config import Settings
from bot.privacy import mask


class SecretFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 6]
        self._formatter = logging.Formatter()

    def clean(self, text: str) -> str:
        masked = mask(text)
        for secret in self.secrets:
            masked = masked.replace(secret, "***")
        return masked

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.clean(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.clean(self._formatter.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


def secrets_of(settings: Settings) -> list[str]:
    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            values.append(value.get_secret_value())
    return values


def setup(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets_of(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.captureWarnings(True)  # warnings become log records: through the filter above
