"""Ticket codes a citizen can read out on the phone: ``DVC-`` and four characters.

The alphabet leaves out what is easily misread or misheard (0/O, 1/I/L, U/V, S/5, Z/2): 25
characters, about 390,000 codes.  A code is unique among all tickets (the store retries on a
clash).  Codes are found in typed text in any case and with or without the hyphen
(``dvc 7k3f``, ``DVC7K3F``).
"""

from __future__ import annotations

import re
import secrets

PREFIX = "DVC"
ALPHABET = "346789ABCDEFGHJKMNPQRTWXY"
LENGTH = 4
_FIND = re.compile(rf"\b{PREFIX}[\s\-–_]?([{ALPHABET}]{{{LENGTH}}})\b", re.IGNORECASE)
_LEADING = re.compile(rf"^\s*{PREFIX}[\s\-–_]?([{ALPHABET}]{{{LENGTH}}})\b[\s:,.\-–—]*",
                      re.IGNORECASE)


def new_code() -> str:
    return f"{PREFIX}-" + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def find_code(text: str) -> str | None:
    """The first ticket code in ``text``, written the canonical way; None if there is none."""
    match = _FIND.search(text or "")
    return f"{PREFIX}-{match.group(1).upper()}" if match else None


def leading_code(text: str) -> tuple[str | None, str]:
    """A message that starts with a ticket code: (the code, the rest); else (None, the text)."""
    match = _LEADING.match(text or "")
    if not match:
        return None, text
    return f"{PREFIX}-{match.group(1).upper()}", text[match.end():]
