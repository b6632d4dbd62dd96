"""What every model module shares: the one way a time is stored."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Naive UTC: the one form every database stores the same way."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
