"""An attempt's clock: when it ends, with extra time, pauses and the time a proctor gives.

Deadlines are naive UTC datetimes, as stored. The arithmetic is here, apart from the
database, so that the start, a resume and the time given all agree."""
from __future__ import annotations

from datetime import datetime, timedelta

# The room starts this long after the proctor's 開始: every page in the room learns the
# moment before it comes (it asks every few seconds) and starts at that same moment,
# as a paper exam starts on 「始め」.
SIGNAL_LEAD_SECONDS = 5
# The same where the room's channel pushes the signal to every page (app/channel) within
# a fraction of a second: the lead only has to cover the push and the page's own start.
CHANNEL_SIGNAL_LEAD_SECONDS = 1.5


def extra_seconds(duration_minutes: int, extra_minutes: int = 0, extra_percent: int = 0) -> int:
    """Extra time (合理的配慮) in whole seconds: minutes, and a percentage of the duration."""
    return extra_minutes * 60 + duration_minutes * 60 * extra_percent // 100


def deadline_at(start: datetime, duration_minutes: int, closes_at: datetime,
                extra: int = 0) -> datetime:
    """The end of an attempt that starts at `start`: the duration, cut at the end of the
    session's window, then the candidate's extra time on top (an accommodation is not
    taken back by a late start)."""
    return min(start + timedelta(minutes=duration_minutes), closes_at) + timedelta(seconds=extra)


def resumed_deadline(deadline: datetime, paused_at: datetime, now: datetime) -> datetime:
    """After a pause: the deadline moves on by the time the clock stood still."""
    return deadline + max(timedelta(0), now - paused_at)


def remaining_ms(deadline: datetime, now: datetime, paused_at: datetime | None = None) -> int:
    """Milliseconds left; while paused, as they were when the pause began."""
    at = paused_at if paused_at is not None else now
    return max(0, int((deadline - at).total_seconds() * 1000))
