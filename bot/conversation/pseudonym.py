"""Pseudonymous user references: HMAC-SHA256 of channel + platform id under PSEUDONYM_KEY."""

from __future__ import annotations

import hashlib
import hmac


def user_ref(key: str, channel: str, platform_id: str | int) -> str:
    digest = hmac.new(key.encode(), f"{channel}:{platform_id}".encode(), hashlib.sha256)
    return f"{channel[:2]}-{digest.hexdigest()[:24]}"
