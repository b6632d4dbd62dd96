"""The room's channel (app/channel): each open exam page's event stream, held by an asyncio
server beside the app, pushed the page's own state when the room's number changes, and
only to the attempt's signed-in owner. In Chromium: the lobby hears the signal with no
request of its own, and the page pulses again while the stream is lost."""
from __future__ import annotations

import asyncio
import http.client
import json
import re
import threading
import time

import pytest
from aiohttp import web
from playwright.sync_api import expect
from sqlalchemy import select

from app.channel.server import SHUTDOWN_SECONDS, make_web_app
from app.extensions import db
from app.models import Attempt, User
from scoring.timing import CHANNEL_SIGNAL_LEAD_SECONDS
from tests.test_browser import (beginner_card, browser, context, enter_lobby,  # noqa: F401
                                live_server, page, sign_in)
from tests.test_room import act, beginner, enter, room, running, settings, signed_in  # noqa: F401

LIMIT = 30          # seconds: generous, the suite runs with the cores busy


class ChannelServer:
    """The channel on a free loopback port, on its own event loop in a thread."""

    def __init__(self, app):
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(make_web_app(app), access_log=None,
                                    shutdown_timeout=SHUTDOWN_SECONDS, handler_cancellation=True)
        ready = threading.Event()

        def serve():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.runner.setup())
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()
        self.thread = threading.Thread(target=serve, name="channel", daemon=True)
        self.thread.start()
        assert ready.wait(LIMIT)

    def stop(self):
        if self.loop.is_closed():
            return
        async def shutdown():
            await self.runner.cleanup()
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(LIMIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(LIMIT)
        self.loop.close()


@pytest.fixture
def channel(app):
    server = ChannelServer(app)
    yield server
    server.stop()


class Stream:
    """An event stream read as EventSource reads it: `data:` lines, events between blanks."""

    def __init__(self, port: int, attempt_id: int, cookie: str | None, origin: str | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=LIMIT)
        headers = {"Accept": "text/event-stream"}
        if cookie:
            headers["Cookie"] = f"session={cookie}"
        if origin:
            headers["Origin"] = origin
        self.conn.request("GET", f"/channel/attempts/{attempt_id}", headers=headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status

    def next(self) -> tuple[str, dict]:
        """(event name, data) of the next event, comments (the heartbeat) skipped."""
        name, data = "message", []
        while True:
            line = self.resp.readline().decode()
            assert line, "the stream ended"
            line = line.rstrip("\n")
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
            elif line == "" and data:
                return name, json.loads("\n".join(data))

    def close(self):
        self.conn.close()


def refused(port: int, attempt_id: int, cookie: str | None, origin: str | None = None) -> int:
    stream = Stream(port, attempt_id, cookie, origin)
    stream.close()
    return stream.status


def cookie_of(client) -> str:
    return client.http.get_cookie("session").value


def test_the_stream_is_pushed_the_pages_state_when_the_room_changes(app, room, channel):
    sid, candidate, proctor, uid = room
    attempt_id = running(app, candidate, sid)
    stream = Stream(channel.port, attempt_id, cookie_of(candidate))
    assert stream.status == 200 and stream.resp.getheader("Content-Type") == "text/event-stream"
    _, first = stream.next()
    v = first["v"]
    assert set(first) == {"v"}                       # the number only: the page has its state
    assert act(proctor, f"/room/{sid}/seats/{uid}/pause", reason="体調不良の申し出").status_code == 200
    _, paused = stream.next()
    assert paused["phase"] == "paused" and paused["pause_reason"] == "体調不良の申し出"
    assert paused["v"] > v and paused["key"]
    assert act(proctor, f"/room/{sid}/seats/{uid}/resume", reason="回復").status_code == 200
    _, resumed = stream.next()
    assert resumed["phase"] == "running" and resumed["v"] > paused["v"]
    stream.close()


def test_the_signal_reaches_the_lobby_with_the_key(app, room, channel):
    sid, candidate, proctor, _uid = room
    app.config["SIGNAL_LEAD_SECONDS"] = CHANNEL_SIGNAL_LEAD_SECONDS
    settings(app, sid, start_mode="signal")
    resp = enter(candidate, sid)
    attempt_id = int(re.search(r"/attempts/(\d+)", resp.location).group(1))
    stream = Stream(channel.port, attempt_id, cookie_of(candidate))
    stream.next()
    pressed = time.monotonic()
    signalled = act(proctor, f"/room/{sid}/signal")
    assert 0 < signalled.json["starts_in_ms"] <= CHANNEL_SIGNAL_LEAD_SECONDS * 1000
    _, state = stream.next()
    assert state["phase"] == "running" and state["key"] and state["starts_in_ms"] > 0
    assert time.monotonic() - pressed < LIMIT
    stream.close()


def test_only_the_attempts_signed_in_owner_listens(app, room, channel):
    sid, candidate, proctor, uid = room
    attempt_id = running(app, candidate, sid)
    other = signed_in(app, "candidate2")
    assert refused(channel.port, attempt_id, None) == 403
    assert refused(channel.port, attempt_id, cookie_of(other)) == 403
    assert refused(channel.port, attempt_id, cookie_of(candidate)[:-2] + "xx") == 403
    assert refused(channel.port, attempt_id + 999, cookie_of(candidate)) == 403
    assert refused(channel.port, attempt_id, cookie_of(candidate), origin="http://evil.example") == 403
    cors = Stream(channel.port, attempt_id, cookie_of(candidate), origin="http://127.0.0.1:5000")
    assert cors.status == 200
    assert cors.resp.getheader("Access-Control-Allow-Origin") == "http://127.0.0.1:5000"
    assert cors.resp.getheader("Access-Control-Allow-Credentials") == "true"
    cors.close()
    # Signed out elsewhere (a move to another PC ends the session): the open stream is told
    # at the next change and gets no state; a new stream is refused.
    stream = Stream(channel.port, attempt_id, cookie_of(candidate))
    stream.next()
    cookie = cookie_of(candidate)
    with app.app_context():
        db.session.get(User, uid).end_sessions()
        db.session.commit()
    assert act(proctor, f"/room/{sid}/seats/{uid}/pause", reason="本人確認").status_code == 200
    name, data = stream.next()
    assert name == "ended" and "key" not in data
    assert refused(channel.port, attempt_id, cookie) == 403
    stream.close()


@pytest.mark.browser
def test_the_page_listens_instead_of_pulsing_and_pulses_while_the_stream_is_lost(
        app, live_server, page, channel):
    sid = beginner(app)
    settings(app, sid, start_mode="signal")
    app.config.update(CHANNEL_PORT=channel.port, SIGNAL_LEAD_SECONDS=CHANNEL_SIGNAL_LEAD_SECONDS)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/pulse") else None)
    sign_in(page, live_server)
    attempt_id = enter_lobby(page, beginner_card(page))
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline and not page.evaluate("window.cbtChannelLive && window.cbtChannelLive()"):
        page.wait_for_timeout(100)
    assert page.evaluate("window.cbtChannelLive()")
    proctor = signed_in(app, "proctor1")
    proctor.get(f"/room/{sid}")
    assert act(proctor, f"/room/{sid}/signal").status_code == 200
    expect(page.locator("section.question")).to_have_count(40, timeout=LIMIT * 1000)
    expect(page.locator("#lobby")).to_be_hidden()
    assert asked == []                       # heard with no request of its own
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).started_at is not None
        db.session.remove()
    # The stream is lost: the page pulses again (Chromium logs the cut stream and each
    # refused reconnection).
    page.problems.allowed += ["ERR_INCOMPLETE_CHUNKED_ENCODING", "ERR_CONNECTION_REFUSED"]
    channel.stop()
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline and not asked:
        page.wait_for_timeout(100)
    assert asked and not page.evaluate("window.cbtChannelLive()")
    page.problems.check()
