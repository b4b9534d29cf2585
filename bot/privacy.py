"""Personal data: what citizens type is masked before it is stored or logged; private files.

Citizens paste their phone number, ID-card number, e-mail address or bank account into a
question ("sdt em 0912 345 678, cccd 001203004567 …").  None of it is needed to answer, so
``mask`` replaces it with a label before a question text, a comment or a hand-over text is
stored, and the log filter (``bot.logs``) applies it to every log line:

==========================  ===================================================  =================
what                        how it is recognised                                 replaced by
==========================  ===================================================  =================
e-mail address              ``name@domain.tld``                                  ``[email]``
bank account number         6–19 digits after "stk", "số tài khoản", "account"   ``[số tài khoản]``
phone number                10 digits from 0, 11 from 02 (landline), +84/84 + 9  ``[số điện thoại]``
ID number (CMND / CCCD)     9 or 12 digits                                       ``[số CCCD/CMND]``
other long number           10–19 digits (bank accounts typed without a cue)     ``[số tài khoản]``
==========================  ===================================================  =================

Digits may be grouped by single spaces, dots or dashes ("0912.345.678", "+84 912 345 678").
Amounts are not personal data: thousands groups ("100.000.000") and numbers followed by a
currency word ("150000000 đồng") are left alone, and so are procedure codes ("1.001193"),
dates, hotlines (8 digits) and anything shorter than 9 digits without an account cue.

This module imports nothing from the bot, so that the store (which masks what it stores),
the logs and the channels can all use it.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

PHONE = "[số điện thoại]"
ID_NUMBER = "[số CCCD/CMND]"
EMAIL = "[email]"
ACCOUNT = "[số tài khoản]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_CUE = re.compile(
    r"(?i)(\b(?:stk|s[ốo]\s*tk|s[ốo]\s*t[àa]i\s*kho[ảa]n|t[àa]i\s*kho[ảa]n(?:\s*ng[âa]n\s*h[àa]ng)?"
    r"|tk\s*ng[âa]n\s*h[àa]ng|account(?:\s*(?:number|no\.?))?|acc)\s*[:#.\-]?\s*)"
    r"(\d(?:[ .\-]?\d){5,18})(?![\d])"
)
# A run of digits, maybe with a leading + or (+84), grouped by single spaces, dots or dashes.
_NUMBER = re.compile(r"(?<![\w+])(?<!\d[.\-])((?:\(\+?84\)\s?|\+)?\d(?:[ .\-]?\d){7,21})(?!\w)")
_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+$|^\d{1,3}(?:,\d{3})+$")
_CURRENCY = re.compile(
    r"\s*(?:đ|₫|đồng|dong|vnd|vnđ|k|nghìn|ngàn|nghin|ngan|triệu|trieu|tr|tỷ|tỉ|ty|ti)\b",
    re.IGNORECASE,
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(text: str) -> str:
    """Text that can be encoded: lone UTF-16 surrogates (valid in JSON, not in UTF-8) become
    U+FFFD.  Everything a platform sends goes through this at the edge."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _label(match: re.Match[str]) -> str:
    raw = match.group(1)
    text = match.string
    if _THOUSANDS.match(raw) or _CURRENCY.match(text, match.end()):
        return match.group(0)  # an amount of money, not a person's number
    digits = re.sub(r"\D", "", raw)
    count = len(digits)
    if count > 19:
        return match.group(0)
    international = raw.startswith(("+", "(")) or (digits.startswith("84") and count == 11)
    if (count == 10 and digits[0] == "0") or (count == 11 and digits.startswith("02")) or (
            international and digits.startswith("84") and count == 11):
        return PHONE
    if count in (9, 12):
        return ID_NUMBER
    if count >= 10:
        return ACCOUNT
    return match.group(0)


def mask(text: str) -> str:
    """``text`` with phone, ID, e-mail and bank account numbers replaced by labels (see the
    module's table); also ``scrub``bed, so the result can always be stored."""
    if not text:
        return text
    text = scrub(text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL, text)
    if not any(ch.isdigit() for ch in text):
        return text
    text = _CUE.sub(lambda m: m.group(1) + ACCOUNT, text)
    return _NUMBER.sub(_label, text)


# -- private files -------------------------------------------------------------------------------

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it readable by the bot's own user only
    (0700).  The working folder, the home folder and a folder the bot does not own are left as
    they are."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    resolved = path.resolve()
    if resolved in (Path.cwd().resolve(), Path.home().resolve(), Path(resolved.anchor)):
        return path
    with contextlib.suppress(PermissionError):
        if (path.stat().st_mode & 0o777) != DIR_MODE:
            path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist (SQLite then gives its -wal and
    -shm files the same mode); an existing file is set to 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        with contextlib.suppress(PermissionError):
            path.chmod(FILE_MODE)
    else:
        os.close(fd)
    return path
