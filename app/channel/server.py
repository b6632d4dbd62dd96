"""The channel's server (aiohttp): `GET <prefix>/attempts/<id>` is an event stream of the
attempt's state for its owner's page. See the package's docstring for why."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select

from ..extensions import db
from ..models import Attempt, SessionDetail, User, parse_session_id

log = logging.getLogger("cbt.channel")

WATCH_SECONDS = 0.25        # how often the open rooms' numbers are read (one query)
HEARTBEAT_SECONDS = 15      # a comment line, so that proxies and dead peers are noticed
RETRY_MS = 3000             # the browser's reconnection delay after a lost stream
SHUTDOWN_SECONDS = 2        # the grace open streams get when the channel stops


@dataclass(eq=False)
class Listener:
    attempt_id: int
    user_id: int
    epoch: int
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=8))


class Channel:
    def __init__(self, app, allowed_origins: tuple[str, ...] = ()):
        self.app = app
        self.allowed_origins = allowed_origins
        self.rooms: dict[int, set[Listener]] = {}     # session id -> open pages
        self.seqs: dict[int, int] = {}                # session id -> the number last seen
        self.pushed = 0

    # ---- who may listen ------------------------------------------------------------------

    def _cookie_user(self, cookie: str | None) -> tuple[int, int] | None:
        """(user id, epoch) from the app's signed session cookie, as the app reads it."""
        if not cookie:
            return None
        serializer = self.app.session_interface.get_signing_serializer(self.app)
        try:
            data = serializer.loads(cookie, max_age=int(
                self.app.permanent_session_lifetime.total_seconds()))
        except Exception:      # itsdangerous' BadSignature and friends: not signed in
            return None
        return parse_session_id(data.get("_user_id")) if isinstance(data, dict) else None

    def _admit(self, cookie: str | None, attempt_id: int) -> tuple[int, int, int, int] | None:
        """(session id, user id, epoch, the room's number) for the attempt's owner, signed in
        with a live session; None for anyone else."""
        principal = self._cookie_user(cookie)
        if principal is None:
            return None
        uid, epoch = principal
        with self.app.app_context():
            row = db.session.execute(
                select(Attempt.session_id, User.session_epoch, User.active, SessionDetail.control_seq)
                .join(User, User.id == Attempt.user_id)
                .outerjoin(SessionDetail, SessionDetail.session_id == Attempt.session_id)
                .where(Attempt.id == attempt_id, Attempt.user_id == uid)).first()
            db.session.remove()
        if row is None or not row.active or (row.session_epoch or 0) != epoch:
            return None
        return row.session_id, uid, epoch, row.control_seq or 0

    def _cors(self, request: web.Request) -> dict:
        """The page is on the app's origin; the channel may be on another port of the same
        host (cookies do not tell ports apart) or behind the same proxy."""
        origin = request.headers.get("Origin")
        if not origin:
            return {}
        host = urlsplit(origin).hostname
        if origin in self.allowed_origins or host == request.url.host:
            return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
                    "Vary": "Origin"}
        return {}

    # ---- the stream ----------------------------------------------------------------------

    async def stream(self, request: web.Request) -> web.StreamResponse:
        try:
            attempt_id = int(request.match_info["attempt_id"])
        except ValueError:
            raise web.HTTPNotFound()
        cors = self._cors(request)
        if request.headers.get("Origin") and not cors:
            log.warning("channel refused: origin %s", request.headers.get("Origin"),
                        extra={"reason": "origin", "attempt_id": attempt_id})
            return web.Response(status=403, headers={"Cache-Control": "no-store"})
        cookie = request.cookies.get(self.app.config.get("SESSION_COOKIE_NAME", "session"))
        admitted = await asyncio.to_thread(self._admit, cookie, attempt_id)
        if admitted is None:
            log.warning("channel refused: not the attempt's signed-in owner",
                        extra={"reason": "not_owner", "attempt_id": attempt_id})
            return web.Response(status=403, headers={"Cache-Control": "no-store", **cors})
        session_id, uid, epoch, seq = admitted
        resp = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store",
            "X-Accel-Buffering": "no", **cors})
        await resp.prepare(request)
        me = Listener(attempt_id, uid, epoch)
        self.rooms.setdefault(session_id, set()).add(me)
        self.seqs.setdefault(session_id, seq)
        try:
            # The number as of now: a page that missed a change since it loaded reads its state.
            await resp.write(f"retry: {RETRY_MS}\ndata: {json.dumps({'v': seq})}\n\n".encode())
            while True:
                try:
                    message = await asyncio.wait_for(me.queue.get(), HEARTBEAT_SECONDS)
                except asyncio.TimeoutError:
                    await resp.write(b": \n\n")
                    continue
                if message is None:          # the user's session ended: the page is told so
                    await resp.write(b"event: ended\ndata: {}\n\n")
                    break
                await resp.write(message)
        except ConnectionResetError:        # the page went away between two messages
            pass
        finally:
            room = self.rooms.get(session_id)
            if room is not None:
                room.discard(me)
                if not room:
                    del self.rooms[session_id]
                    self.seqs.pop(session_id, None)
        return resp

    # ---- the watch -----------------------------------------------------------------------

    def _read(self, session_ids: list[int], pages: dict[int, list[Listener]]) -> tuple[dict, dict]:
        """The rooms' numbers, and for the rooms that changed, each open page's state."""
        from ..exam.lobby import attempt_state, forget_room
        from ..models import utcnow
        with self.app.app_context():
            seqs = dict(db.session.execute(select(SessionDetail.session_id, SessionDetail.control_seq)
                                           .where(SessionDetail.session_id.in_(session_ids))).all())
            changed = [s for s in session_ids if seqs.get(s, 0) != self.seqs.get(s, 0)]
            states: dict[int, tuple[int, str]] = {}
            ids = [listener.attempt_id for s in changed for listener in pages.get(s, ())]
            if ids:
                for s in changed:
                    forget_room(s)
                for i in range(0, len(ids), 500):
                    rows = db.session.execute(select(Attempt, User.session_epoch)
                                              .join(User, User.id == Attempt.user_id)
                                              .where(Attempt.id.in_(ids[i:i + 500]))).all()
                    for attempt, epoch in rows:
                        # Each state's own moment: a page counts starts_in_ms from when it
                        # gets it, so a moment taken before the room's batches were read
                        # would start the last pages of a large room late by that reading.
                        body = json.dumps(attempt_state(attempt, utcnow()), separators=(",", ":"))
                        states[attempt.id] = (epoch or 0, f"data: {body}\n\n")
            db.session.remove()
        return seqs, states

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            if not self.rooms:
                continue
            pages = {s: list(room) for s, room in self.rooms.items()}
            try:
                seqs, states = await asyncio.to_thread(self._read, list(pages), pages)
            except Exception:       # the database away: the pages' pulses take over
                log.exception("channel: reading the rooms failed")
                await asyncio.sleep(1)
                continue
            for session_id, listeners in pages.items():
                seq = seqs.get(session_id, 0)
                if seq == self.seqs.get(session_id, seq) or session_id not in self.rooms:
                    continue
                self.seqs[session_id] = seq
                for listener in listeners:
                    epoch, message = states.get(listener.attempt_id, (None, None))
                    if message is None:
                        continue
                    item = None if epoch != listener.epoch else message.encode()
                    try:
                        listener.queue.put_nowait(item)
                        self.pushed += 1
                    except asyncio.QueueFull:    # a page that reads nothing: it pulses
                        pass


async def _orphan_watch(parent: int) -> None:
    """Ends the process when the server that started it is gone (killed included)."""
    while True:
        await asyncio.sleep(1)
        if os.getppid() != parent:
            log.warning("channel: the parent server is gone; stopping")
            os._exit(0)


CHANNEL = web.AppKey("channel", Channel)


def make_web_app(app, prefix: str = "/channel", allowed_origins: tuple[str, ...] = (),
                 parent: int | None = None) -> web.Application:
    channel = Channel(app, allowed_origins)
    web_app = web.Application()
    web_app[CHANNEL] = channel
    web_app.router.add_get(prefix + "/attempts/{attempt_id}", channel.stream)

    async def health(_request):
        return web.json_response({"status": "ok", "rooms": len(channel.rooms),
                                  "pages": sum(len(r) for r in channel.rooms.values()),
                                  "pushed": channel.pushed})
    web_app.router.add_get(prefix + "/healthz", health)

    async def background(_app):
        tasks = [asyncio.ensure_future(channel.watch())]
        if parent is not None:
            tasks.append(asyncio.ensure_future(_orphan_watch(parent)))
        yield
        for t in tasks:
            t.cancel()
    web_app.cleanup_ctx.append(background)
    return web_app


def run(host: str, port: int, prefix: str = "/channel", parent: int | None = None) -> None:
    from .. import create_app
    app = create_app()
    started = time.monotonic()
    web_app = make_web_app(app, prefix, tuple(app.config.get("CHANNEL_ALLOWED_ORIGINS") or ()), parent)
    log.info("channel on %s:%s%s (%.1f s to start)", host, port, prefix, time.monotonic() - started)
    # Streams never end by themselves: on SIGTERM they are cut after a short grace, and the
    # pages pulse until they reconnect.
    # A closed page cancels its stream's handler at once (handler_cancellation), so 2,000
    # pages leaving free their place without waiting for the next heartbeat.
    web.run_app(web_app, host=host, port=port, print=None, access_log=None,
                handle_signals=True, backlog=4096, shutdown_timeout=SHUTDOWN_SECONDS,
                handler_cancellation=True)
