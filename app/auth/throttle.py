"""Sign-in limits (ログイン試行の制限), kept in the database so that every app server
behind a load balancer counts the same failures.

Policy (defaults; each number is app config):

- A user name with LOGIN_USER_MAX_FAILURES (5) failed sign-ins within
  LOGIN_WINDOW_SECONDS (15 minutes) is locked for LOGIN_LOCK_SECONDS (15 minutes): every
  sign-in with it is refused, the right password too, with the time the lock ends.
- An address (the client's IP) with LOGIN_IP_MAX_FAILURES (30) failed sign-ins within the
  window is refused (429) for the lock time, whatever user name it tries.
- Attempts refused by a lock are not counted again (so a lock ends on time), and after a
  lock the count starts afresh. A successful sign-in clears its user name's failures.
- User names that do not exist are counted and locked exactly like real ones.

Everything is computed from `LoginFailure` rows (user name, address, time): no process
keeps state. LOGIN_RATE_LIMIT = False (or CBT_LOGIN_RATE_LIMIT=off) turns it all off.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from scoring.jpdate import to_jst

from ..extensions import db
from ..models import LoginFailure

DEFAULTS = {
    "LOGIN_RATE_LIMIT": True,
    "LOGIN_USER_MAX_FAILURES": 5,
    "LOGIN_IP_MAX_FAILURES": 30,
    "LOGIN_WINDOW_SECONDS": 15 * 60,
    "LOGIN_LOCK_SECONDS": 15 * 60,
}


@dataclass(frozen=True)
class Policy:
    enabled: bool
    user_max: int
    ip_max: int
    window: timedelta
    lock: timedelta

    @classmethod
    def current(cls) -> "Policy":
        c = current_app.config
        return cls(enabled=bool(c.get("LOGIN_RATE_LIMIT", True)),
                   user_max=int(c.get("LOGIN_USER_MAX_FAILURES", DEFAULTS["LOGIN_USER_MAX_FAILURES"])),
                   ip_max=int(c.get("LOGIN_IP_MAX_FAILURES", DEFAULTS["LOGIN_IP_MAX_FAILURES"])),
                   window=timedelta(seconds=int(c.get("LOGIN_WINDOW_SECONDS",
                                                      DEFAULTS["LOGIN_WINDOW_SECONDS"]))),
                   lock=timedelta(seconds=int(c.get("LOGIN_LOCK_SECONDS",
                                                    DEFAULTS["LOGIN_LOCK_SECONDS"]))))

    @property
    def horizon(self) -> timedelta:
        """How far back a failure can still matter (a lock started by it, or its count)."""
        return self.window + 2 * self.lock


def lock_end(times: list[datetime], limit: int, window: timedelta, lock: timedelta) -> datetime | None:
    """When the last lock earned by these failure times ends (None: never locked).

    Failures are replayed in order: `limit` of them within `window` start a lock of
    `lock`; failures during a lock do not count; after a lock the count starts afresh."""
    end = None
    counted: list[datetime] = []
    for t in sorted(times):
        if end is not None and t < end:
            continue
        counted = [x for x in counted if x > t - window]
        counted.append(t)
        if len(counted) >= limit:
            end = t + lock
            counted = []
    return end


def _times(column, value: str, now: datetime, policy: Policy) -> list[datetime]:
    return list(db.session.scalars(select(LoginFailure.at).where(
        column == value, LoginFailure.at > now - policy.horizon)))


def user_locked_until(username: str, now: datetime, policy: Policy) -> datetime | None:
    end = lock_end(_times(LoginFailure.username, username, now, policy), policy.user_max,
                   policy.window, policy.lock)
    return end if end is not None and end > now else None


def ip_locked_until(ip: str, now: datetime, policy: Policy) -> datetime | None:
    end = lock_end(_times(LoginFailure.ip, ip, now, policy), policy.ip_max, policy.window,
                   policy.lock)
    return end if end is not None and end > now else None


def add_failure(username: str, ip: str, now: datetime, policy: Policy) -> None:
    """Count one failure (the caller commits); prune rows too old to matter to anyone."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < now - policy.horizon))
    db.session.add(LoginFailure(username=username[:64], ip=(ip or "")[:64], at=now))
    db.session.flush()


def clear_user(username: str) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username))


def retry_after(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def jst_label(until: datetime) -> str:
    """The end of a lock as people read it: Japan time, rounded up to the minute."""
    t = to_jst(until)
    if t.second or t.microsecond:
        t = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return f"{t.year}年{t.month}月{t.day}日 {t.hour}時{t.minute:02d}分"


def user_lock_message(until: datetime) -> str:
    return (f"ログインの失敗が続いたため、このユーザーIDは{jst_label(until)}（日本時間）まで"
            "ロックされています。その時刻を過ぎてから、もう一度ログインしてください。"
            "お急ぎの場合は、検定の庶務担当に連絡してください。")


def ip_lock_message(until: datetime) -> str:
    return (f"この端末からのログインの失敗が多すぎるため、{jst_label(until)}（日本時間）まで"
            "ログインを受け付けません。しばらく待ってから、もう一度お試しください。"
            "お急ぎの場合は、検定の庶務担当に連絡してください。")
