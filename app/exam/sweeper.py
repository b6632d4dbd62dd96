"""The deadline, kept even when no browser is left: every attempt whose deadline has passed
is submitted and scored, by a thread in every server process (and by `cbt sweep`)."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from sqlalchemy import select

from ..db.writegate import write_gate
from ..extensions import db
from ..models import Attempt, utcnow
from .attempts import submit_attempt

log = logging.getLogger("cbt.exam")


def finalize_expired(now: datetime, batch: int = 50) -> int:
    """Submit and score every attempt whose deadline has passed; returns how many.
    Commits per batch so a long backlog after a mass deadline is not one transaction and
    saves and pages get their turn between batches. Several sweepers (one per server
    process) share the work: on PostgreSQL each takes rows the others have not locked
    (SKIP LOCKED), on SQLite they take turns through the write gate."""
    total = 0
    while True:
        with write_gate():
            due = list(db.session.scalars(
                select(Attempt).where(Attempt.submitted_at.is_(None), Attempt.deadline <= now,
                                      Attempt.paused_at.is_(None))
                .order_by(Attempt.id).limit(batch).with_for_update(skip_locked=True)))
            if not due:
                return total
            for attempt in due:
                total += submit_attempt(attempt, "deadline", now)
            db.session.commit()


def start_sweeper(app) -> None:
    """Background thread per server process: scores attempts at their deadline even when
    no browser is left. Several servers may run one each; the conditional update in
    submit_attempt lets exactly one of them submit a given attempt."""
    interval = app.config["SWEEP_INTERVAL_SECONDS"]

    def loop():
        while True:
            time.sleep(interval)
            try:
                with app.app_context():
                    n = finalize_expired(utcnow())
                    if n:
                        log.info("deadline sweeper submitted %d attempt(s)", n,
                                 extra={"event": "deadline_sweep", "submitted": n})
            except Exception:       # keep sweeping; the next round retries
                log.exception("deadline sweeper failed")
                with app.app_context():
                    db.session.rollback()

    threading.Thread(target=loop, name="deadline-sweeper", daemon=True).start()
