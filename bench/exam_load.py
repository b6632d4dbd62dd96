#!/usr/bin/env python3
"""Load benchmark: simulated candidates sit one exam against `cbt serve`, as in production.

    python bench/exam_load.py --candidates 2000 --think 10 --duration 300 --db sqlite
    python bench/exam_load.py --candidates 2000 --think 10 --duration 300 --db postgresql --servers 2
    python bench/exam_load.py ... --db postgresql --servers 2 --kill-every 5
    python bench/exam_load.py ... --start self     # each candidate's own 開始 at T0, for comparison
    python bench/exam_load.py ... --no-channel     # no room's channel: the pages pulse throughout

What happens (every address is on loopback; every loop is bounded in count and time):

1. Set-up: a temporary instance folder; the database (a SQLite file, or a throw-away
   PostgreSQL from scripts/pg-throwaway.sh on a free port, stopped at the end); the bundled
   banks; N candidate users inserted directly with one precomputed password hash; one exam
   session (初級, 40 questions) whose time limit is --duration, its room set to start on the
   proctor's signal (--start signal, the default) or on each candidate's own 開始 (--start
   self); a proctor user assigned to it; a second session (own start) used only for the
   saturation measurement; registrations.
2. K app servers: `python -m app.cli serve` (gunicorn gthread workers, the deadline
   sweeper on) on free loopback ports, each with its room's channel (app/channel, a child
   of the gunicorn master, in its process group) on another free port (--channel-port;
   --no-channel: none), all with the same SECRET_KEY, so any server accepts any session
   cookie. Every request of every candidate goes to a random server; a page's stream goes
   to the channel its page's state names (urls.events: the server that served it). K > 1
   servers share this machine's cores as K machines would not: each gets its share of
   workers (app.cli.default_workers(K)) unless --workers says otherwise.
3. The lobby. Generator processes (asyncio + aiohttp) sign the candidates in (spread over
   the time before the start, as real candidates arrive) and each enters the lobby: POST
   start (the form is drawn, the clock waits), GET the lobby page (its `exam-state` JSON,
   its CSRF token and the questions sealed, kept as the page keeps them). Then, as
   exam.js's openChannel, the page opens its event stream (`urls.events`, when the state
   has it: aiohttp GET with the session cookie, Accept: text/event-stream) and parses the
   server-sent events (`data:` lines, a blank line ends an event, `retry:`, `event: ended`
   = signed out). The first message is `{"v": N}`, the room's number as the stream opened:
   if it differs from the page's, the page GETs `urls.state`. While the stream is open the
   page sends nothing and waits for a pushed state. Without a stream (--no-channel), or
   while it is lost, the page GETs `urls.pulse` every 3 s (+-20%, one at a time) and, when
   the room's number `v` changes, `urls.state`; a lost stream is opened again 3 s later (a
   refused one, not 200, never: EventSource gives up and the page pulses on). Everyone
   waits --lobby-seconds once all are in (the lobby's steady cost is measured meanwhile).
4. The start. --start signal: the run signs in as the proctor and POSTs
   /room/<sid>/signal once; the app starts every waiting attempt the signal's lead after
   the press, at one moment: CHANNEL_SIGNAL_LEAD_SECONDS (1.5 s) with the channel,
   SIGNAL_LEAD_SECONDS (5 s) without. Each page learns it from the state its stream pushes
   (or from its next pulse and state read): the state brings the key and `starts_in_ms`;
   the page opens the sealed questions with the key at once and waits until the start
   moment on its own monotonic clock. Its first
   question is usable at max(the start moment, the moment it had the key). --start self:
   every candidate POSTs begin at T0 (the old storm's shape); the reply brings the key.
   The session closes --duration after the start, so every candidate's deadline is the
   same instant (the harshest case for the deadline scoring).
5. Each candidate follows the exam page's protocol (app/static/exam.js): saves every
   answer as JSON with `base_seq` (the last acknowledged seq) and a fresh `client_id`,
   retries a transport error or 5xx with the same client_id (1 s doubling to 8 s, like the
   page), re-reads the page on 409 stale, reads the state on 409 paused / not_started and
   waits, pings the position 15 s after moving to a question unless a save has stored it by
   then (every save carries its position), re-reads the remaining time when no save reply
   has refreshed it for 60 s, and while its stream is open takes each pushed state (the
   remaining time, `v`, a pause) and pulses not at all; without an open stream it pulses
   every 5 s (+-20%) and reads the state when `v` changes. At its deadline it reads the
   state and opens the done page (its stream closes). It answers the
   questions in order with a think time around --think, changes about 10% of its answers,
   and is cut off by the deadline (a 409 deadline is expected, not an error).
6. After the deadline the database is polled until every attempt is submitted and scored
   (`scored_after_deadline_s`), then every candidate's latest step per position is
   compared with the last answer the server acknowledged for it (`answers_lost`).
7. Saturation, same servers, same run: --savers closed-loop connections hammer the
   answer-save path (`save_rps_max`), then the same number hammer /healthz
   (`bare_rps_max`, the ceiling of the server and generator on this machine); the two
   phases (--sat-seconds each, after 2 s of warm-up) alternate --sat-rounds times and the
   figures are over all rounds, so a drift of the machine's speed falls on both alike.

The start's figures (bench/README.md, "The exam room's start"): `start_p50_ms` /
`start_p99_ms` from the announced start moment (the press + the lead; T0 with --start
self) to each page's first question usable, `start_from_press_*` the same from the press,
`key_from_press_*` when each page had the key, `server_cpu_ms_per_start` the servers' CPU
from the press until every candidate had started (sampled every 0.1 s), less the waiting
room's steady cost over as long (measured for --lobby-seconds before the press), divided
by the candidates; `_gross` without that subtraction; both against
`server_cpu_ms_per_bare` of the same run (`start_to_bare`, `start_gross_to_bare`).

--kill-every S: from the start until every attempt is scored, every ~S seconds (uniform
0.5S..1.5S) one random app server gets kill -9: either the whole server (gunicorn master,
workers and its channel, as a crash of the machine's app process would) which is then
started again on the same ports (`channel_back_after_kill_s_max`: until its channel
answered again; its pages pulse meanwhile and reconnect), or one worker (never the
channel), which gunicorn replaces. Kills stop before the saturation phase.

The channel's figures: `streams_opened` (reconnections included), `streams_lost` (a stream
that ended while its page was open), `pushed_states` (by where the page was: lobby, exam),
`pulses_while_streaming` (0: the page does not pulse while its stream is open).

The last line of output is one JSON object with the figures (see bench/README.md).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import importlib.util
import json
import math
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-2025"
POSITION_PING_S = 15.0         # exam.js POSITION_PING_MS
LOBBY_PULSE_S = 3.0            # the page's pulse while waiting in the lobby
EXAM_PULSE_S = 5.0             # the page's pulse while sitting
STREAM_RETRY_S = 3.0           # EventSource's reconnection delay (the channel's `retry:`)
STREAM_READ_S = 45.0           # the channel sends a heartbeat every 15 s: silence this long is a lost stream
PULSE_JITTER = 0.2             # each pulse interval +-20%, so pages do not ask in step
PROCTOR = "benchproctor"
START_WINDOW_S = 120.0         # CPU is sampled this long after the press (start figures)
TEXT_ANSWERS = ["443", "ＴＣＰ", "dns", "8080", "SMTP", "ログ"]


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, math.ceil(p / 100 * len(v)) - 1))
    return round(v[k], 1)


# ==== the generator (runs in child processes) =========================================

STATE_RE = re.compile(r'<script type="application/json" id="exam-state">(.*?)</script>', re.S)
SEALED_RE = re.compile(r'<script type="application/json" id="sealed-questions">(.*?)</script>', re.S)
CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SECTION_RE = re.compile(r'<section class="question" id="q-\d+" data-position="(\d+)"\s+'
                        r'data-qid="([^"]+)" data-type="([^"]+)"')
VALUE_RE = re.compile(r'<input type="(?:radio|checkbox)" name="r\d+" value="([^"]+)"')


def parse_items(html: str):
    """position -> (question id, type, the choices' values) of the question sections."""
    items = {}
    parts = html.split('<section class="question"')[1:]
    for part in parts:
        m = SECTION_RE.match('<section class="question"' + part[:400])
        pos, qid, qtype = int(m.group(1)), m.group(2), m.group(3)
        body = part.split("</section>", 1)[0]
        # A choice's value is its shown position; it is posted as a number.
        items[pos] = (qid, qtype, [int(v) if v.isdigit() else v for v in VALUE_RE.findall(body)])
    return items


def parse_exam_page(html: str):
    """(state, CSRF token, items, sealed): a started attempt's page holds its questions
    (items); the lobby's holds them sealed (items empty, `sealed` the JSON text, kept as the
    page keeps it until the start brings the key)."""
    state = json.loads(STATE_RE.search(html).group(1))
    csrf = CSRF_RE.search(html).group(1)
    m = SEALED_RE.search(html)
    return state, csrf, parse_items(html), (m.group(1) if m else None)


def unseal(sealed: str, key: str) -> str:
    """What the page does with the key the start brings: AES-GCM open the questions' HTML."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    box = json.loads(sealed)
    raw = AESGCM(base64.b64decode(key)).decrypt(base64.b64decode(box["iv"]),
                                                base64.b64decode(box["data"]), None)
    return raw.decode("utf-8")


def jittered(seconds, rng):
    return seconds * rng.uniform(1 - PULSE_JITTER, 1 + PULSE_JITTER)


def as_sent(order, response):
    """A stored response as the page sent it: a choice question's keys (its order is not
    empty) as positions in the order shown."""
    if not order:
        return response
    if isinstance(response, list):
        return sorted(order.index(k) + 1 for k in response)
    return order.index(response) + 1


def random_response(qtype, values, rng, avoid=None):
    for _ in range(8):
        if qtype == "single":
            r = rng.choice(values)
        elif qtype == "multiple":
            r = sorted(rng.sample(values, rng.randint(1, len(values))))
        elif qtype == "true_false":
            r = rng.random() < 0.5
        else:
            r = rng.choice(TEXT_ANSWERS)
        if r != avoid:
            return r
    return r


class Cand:
    __slots__ = ("username", "cookies", "csrf", "attempt", "urls", "seq", "items", "deadline",
                 "acked", "unacked", "give_up_at", "done", "rng", "current", "stored_pos", "synced",
                 "sealed", "v", "phase", "key_at", "starts_at", "usable_at", "heard_at",
                 "live", "flip", "inbox", "stream")

    def __init__(self, username, seed):
        self.username = username
        self.cookies = {}
        self.csrf = None
        self.attempt = None
        self.urls = None
        self.seq = 0
        self.items = None
        self.deadline = None         # local estimate from the server's remaining_ms
        self.acked = {}              # position -> (seq, client_id, response): last acknowledged
        self.unacked = {}            # position -> [client_id sent after the last ack, never acked]
        self.give_up_at = float("inf")
        self.done = False
        self.rng = random.Random(seed)
        self.current = 1             # the question on screen
        self.stored_pos = 1          # the position the server last stored (save or ping)
        self.synced = 0.0            # when the remaining time was last read from the server
        self.sealed = None           # the lobby page's sealed questions (JSON text)
        self.v = None                # the room's control sequence the page last acted on
        self.phase = "signin"        # signin, lobby, exam (started), after (the deadline), sat
        self.key_at = None           # wall clock: when the page had the key
        self.starts_at = None        # wall clock: the start moment as this page computed it
        self.usable_at = None        # wall clock: max(starts_at, key_at)
        self.heard_at = 0.0          # when a pulse or a save's reply last gave the room's number
        self.live = False            # the room's channel stream is open (no pulses meanwhile)
        self.flip = None             # asyncio.Event: `live` changed
        self.inbox = None            # asyncio.Queue of states the stream brought
        self.stream = None           # the stream's task

    def cookie_header(self):
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def take_cookies(self, resp):
        for name, morsel in resp.cookies.items():
            if not morsel.value or morsel["max-age"] == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


class Generator:
    """One process's share of the candidates, on one asyncio loop and one aiohttp session."""

    def __init__(self, cfg, usernames):
        self.cfg = cfg
        self.bases = cfg["bases"]
        self.cands = [Cand(u, zlib.crc32(f"{cfg['seed']}:{u}".encode())) for u in usernames]
        self.errors = Counter()          # kind:status -> failed tries (5xx or transport)
        self.errors_retried_ok = 0       # failed tries whose request later succeeded on retry
        self.counts = Counter()
        self.save_lat = []
        self.lobby_lat = []              # POST start + GET the lobby page, ms
        self.pulse_lobby = []            # (wall clock at the reply, ms) of each lobby pulse
        self.pulse_exam = []             # ms of each pulse while sitting
        self.by_phase = {}               # phase -> Counter(kind -> responses)
        self.nreq = 0                    # responses received (any status)
        self.http = None
        self.t0 = None                   # --start self: when every candidate presses 開始
        self.t0_set = None               # asyncio.Event, set when t0 is known
        self.lives = []                  # each candidate's task: sign in, lobby, start, sit
        self.lobby_known = 0             # candidates in the lobby, or failed to get there
        self.lobby_done = None           # asyncio.Event: every candidate is accounted for

    async def open(self):
        import aiohttp
        conn = aiohttp.TCPConnector(limit=0, keepalive_timeout=1.0, ttl_dns_cache=None,
                                    force_close=False)
        # Which requests went out on a kept-alive connection (see `call`: resent as a
        # browser resends them).
        reuse = aiohttp.TraceConfig()

        async def reused(_session, ctx, _params):
            if ctx.trace_request_ctx is not None:
                ctx.trace_request_ctx["reused"] = True
        reuse.on_connection_reuseconn.append(reused)
        self.http = aiohttp.ClientSession(connector=conn, cookie_jar=aiohttp.DummyCookieJar(),
                                          timeout=aiohttp.ClientTimeout(total=120),
                                          trace_configs=[reuse])
        self.aiohttp = aiohttp
        self.t0_set = asyncio.Event()
        self.lobby_done = asyncio.Event()

    async def close(self):
        await self.http.close()

    async def call(self, c: Cand, method, path, *, kind, json_body=None, form=None, retry=True,
                   base=None):
        """One logical request; transport errors and 5xx are counted and retried like the
        page does (1 s doubling to 8 s) until the candidate's give-up time."""
        delay, failed, resent = 1.0, 0, False
        while True:
            url = (base or random.choice(self.bases)) + path
            headers = {"Cookie": c.cookie_header()} if c.cookies else {}
            if json_body is not None:
                headers["X-CSRFToken"] = c.csrf
                headers["Accept"] = "application/json"
            trace = {}
            try:
                async with self.http.request(method, url, json=json_body, data=form, headers=headers,
                                             allow_redirects=False, trace_request_ctx=trace) as resp:
                    trace["headers"] = True
                    text = await resp.text()
                    c.take_cookies(resp)
                    status, location = resp.status, resp.headers.get("Location")
            except (self.aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                if (not resent and trace.get("reused") and not trace.get("headers")
                        and isinstance(exc, (self.aiohttp.ServerDisconnectedError,
                                             self.aiohttp.ClientOSError))):
                    # A kept-alive connection the server closed as the request went out:
                    # Chromium sends any request again at once (POST too: aiohttp does it
                    # for GET only), once, when the connection was reused and no response
                    # header came (HttpNetworkTransaction::ShouldResendRequest).
                    resent = True
                    self.counts["resent_on_reused_connection"] += 1
                    continue
                self.errors[f"{kind}:transport"] += 1
                self.counts[f"transport:{type(exc).__name__}"] += 1
            else:
                self.nreq += 1
                self.by_phase.setdefault(c.phase, Counter())[kind] += 1
                if status < 500:
                    self.errors_retried_ok += failed
                    return status, text, location
                self.errors[f"{kind}:{status}"] += 1
            failed += 1
            if not retry or time.time() + delay > c.give_up_at:
                self.counts[f"{kind}:given_up"] += 1
                return None, "", None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 8.0)

    # ---- sign-in and the lobby ----------------------------------------------------------
    async def sign_in(self, c: Cand):
        c.give_up_at = time.time() + 600
        st, html, _ = await self.call(c, "GET", "/login", kind="login_page")
        m = CSRF_RE.search(html or "")
        if st != 200 or not m:
            raise RuntimeError(f"login page: {st}")
        st, _, loc = await self.call(c, "POST", "/login", kind="login",
                                     form={"username": c.username, "password": PASSWORD,
                                           "csrf_token": m.group(1)})
        if st != 302:
            raise RuntimeError(f"login {c.username}: {st}")
        st, html, _ = await self.call(c, "GET", "/exam/", kind="home")
        m = CSRF_RE.search(html or "")
        if st != 200 or not m:
            raise RuntimeError(f"candidate home: {st}")
        c.csrf = m.group(1)

    def start_lives(self, session_id, concurrency):
        """Every candidate's life as its own task: sign in and enter the lobby (at most
        `concurrency` at a time, as candidates arrive over the time before the start),
        wait there pulsing, start (on the signal, or on their own at T0), sit."""
        sem = asyncio.Semaphore(concurrency)
        self.lives = [asyncio.ensure_future(self.life(c, session_id, sem)) for c in self.cands]

    def _accounted(self):
        self.lobby_known += 1
        if self.lobby_known == len(self.cands):
            self.lobby_done.set()

    async def life(self, c: Cand, session_id, sem):
        try:
            async with sem:
                await self.sign_in(c)
                entered = await self.enter_lobby(c, session_id)
        except RuntimeError as exc:
            self.counts[f"signin_failed:{exc}"[:60]] += 1
            entered = False
        self._accounted()
        try:
            if not entered or not await self.wait_start(c):
                c.done = True
                return
            await self.sit(c)
        finally:
            if c.stream is not None:        # the page is left: its stream closes
                c.stream.cancel()

    async def enter_lobby(self, c: Cand, session_id, record=True):
        """POST start (the form is drawn, the clock waits) and GET the lobby page: its state,
        its CSRF token, the questions sealed."""
        t = time.perf_counter()
        st, _, loc = await self.call(c, "POST", f"/exam/sessions/{session_id}/start", kind="start",
                                     form={"csrf_token": c.csrf})
        if st != 302 or not loc or "/attempts/" not in loc:
            self.counts[f"start_refused:{st}"] += 1
            return False
        st, _ = await self.open_page(c, urlsplit(loc).path, kind="lobby_page")
        if st != 200:
            self.counts[f"lobby_page:{st}"] += 1
            return False
        if record:
            self.lobby_lat.append((time.perf_counter() - t) * 1000)
        c.phase = "lobby"
        if record and self.cfg.get("channel", True) and c.urls.get("events"):
            c.flip, c.inbox = asyncio.Event(), asyncio.Queue()
            c.stream = asyncio.ensure_future(self.channel_stream(c))
        return True

    # ---- the room's channel (exam.js openChannel) --------------------------------------
    async def channel_stream(self, c: Cand):
        """The page's EventSource on `urls.events`, for as long as the page is open: every
        state it brings goes to `c.inbox`; `c.live` says whether it is open (the page does
        not pulse meanwhile). A lost stream is opened again after the `retry:` delay (3 s);
        a refusal (not 200) ends it for good, as EventSource does, and the page pulses on."""
        aiohttp = self.aiohttp
        retry = STREAM_RETRY_S
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=STREAM_READ_S)
        while not c.done:
            opened = False
            try:
                async with self.http.get(c.urls["events"], timeout=timeout, headers={
                        "Cookie": c.cookie_header(), "Accept": "text/event-stream"}) as resp:
                    if resp.status != 200 or not resp.headers.get(
                            "Content-Type", "").startswith("text/event-stream"):
                        self.counts[f"stream_refused:{resp.status}"] += 1
                        return
                    opened = True
                    self.counts["streams_opened"] += 1
                    self._set_live(c, True)
                    event, data = "message", []
                    async for raw in resp.content:
                        line = raw.decode("utf-8").rstrip("\r\n")
                        if line:
                            name, _, value = line.partition(":")
                            value = value[1:] if value.startswith(" ") else value
                            if name == "data":
                                data.append(value)
                            elif name == "event":
                                event = value
                            elif name == "retry" and value.isdigit():
                                retry = int(value) / 1000
                            continue                     # a comment (heartbeat) or a field
                        if data and event == "ended":    # signed out: the page is blocked
                            self.counts["stream_signed_out"] += 1
                            return
                        if data:
                            at = (time.monotonic(), time.time())     # the page has it now
                            await self.on_message(c, json.loads("\n".join(data)), at)
                        event, data = "message", []
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
                self.counts[f"stream_error:{type(exc).__name__}"] += 1
            finally:
                if opened:
                    self._set_live(c, False)
                    if not c.done:
                        self.counts["streams_lost"] += 1
            if not c.done:
                await asyncio.sleep(retry)

    def _set_live(self, c: Cand, live: bool):
        c.live = live
        c.flip.set()

    async def on_message(self, c: Cand, s, at):
        if "phase" not in s:
            # The number as the stream opened: if the page missed a change, it reads its state.
            if isinstance(s.get("v"), int) and s["v"] != c.v:
                state = await self.read_state(c, "state_on_stream_open")
                if state is not None:
                    c.inbox.put_nowait(state)
            return
        self.counts[f"pushed_state:{c.phase}"] += 1
        s["_at"] = at
        c.inbox.put_nowait(s)

    async def news(self, c: Cand, timeout, also=None):
        """Wait up to `timeout` s (None: no limit) for a state from the stream (returned),
        the stream opening or closing ("flip"), or the event `also` ("also"); None when the
        time is up. Without a stream only the time or `also` can end the wait."""
        if c.inbox is not None and not c.inbox.empty():
            return c.inbox.get_nowait()
        waits = {}
        if c.inbox is not None:
            c.flip.clear()
            waits[asyncio.ensure_future(c.inbox.get())] = "state"
            waits[asyncio.ensure_future(c.flip.wait())] = "flip"
        if also is not None:
            waits[asyncio.ensure_future(also.wait())] = "also"
        if not waits:
            await asyncio.sleep(timeout)
            return None
        try:
            done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        for w, what in waits.items():
            if w in done and what == "state":
                return w.result()
        for w, what in waits.items():
            if w in done:
                return what
        return None

    def take_state(self, c: Cand, state):
        """A state the stream brought, while sitting: as a state read after a pulse."""
        if isinstance(state.get("v"), int):
            c.v = state["v"]
        at = state.get("_at", (None, time.time()))[1]         # the time left as it came
        c.deadline = at + state["remaining_ms"] / 1000
        c.synced = time.time()
        if state.get("phase") == "paused":
            self.counts["pushed_pause"] += 1

    async def open_page(self, c: Cand, path, kind="page"):
        st, html, loc = await self.call(c, "GET", path, kind=kind)
        if st != 200:
            return st, loc
        state, c.csrf, items, sealed = parse_exam_page(html)
        if items:
            c.items = items
        if sealed:
            c.sealed = sealed
        c.attempt, c.urls, c.seq = state["attempt"], state["urls"], state["seq"]
        if c.v is None:
            c.v = state.get("v")
        c.deadline = time.time() + state["remaining_ms"] / 1000
        c.synced = time.time()
        c.stored_pos = state.get("position", 1)
        return st, None

    async def pulse(self, c: Cand):
        """GET the pulse once (not retried: the next one comes a few seconds later); the
        room's control sequence, or None."""
        if c.live:                  # never, if the page is followed (counted to be sure)
            self.counts["pulses_while_streaming"] += 1
        t = time.perf_counter()
        st, text, _ = await self.call(c, "GET", c.urls["pulse"], kind="pulse", retry=False)
        ms = (time.perf_counter() - t) * 1000
        self.counts[f"pulse:{st}"] += 1
        if st != 200:
            return None
        if c.phase == "lobby":
            self.pulse_lobby.append((time.time(), ms))
        else:
            self.pulse_exam.append(ms)
        return json.loads(text).get("v")

    async def read_state(self, c: Cand, kind):
        st, text, _ = await self.call(c, "GET", c.urls["state"], kind=kind)
        self.counts[f"{kind}:{st}"] += 1
        if st != 200:
            return None
        b = json.loads(text)
        b["_at"] = (time.monotonic(), time.time())
        c.deadline = time.time() + b["remaining_ms"] / 1000
        c.synced = time.time()
        return b

    async def wait_start(self, c: Cand):
        """The lobby: while the page's stream is open, wait for the state it pushes; while
        not, pulse every 3 s (+-20%), one at a time, and when the room's number changes read
        the state. Once a state brings the key, wait for the start moment it gives.
        --start self: at T0, POST begin instead (the candidate's own 開始). True once the
        first question is usable."""
        rng = c.rng
        c.give_up_at = time.time() + 3600                  # bounded wait in the lobby
        also = self.t0_set if self.cfg["start"] == "self" else None
        while time.time() < c.give_up_at:
            if self.cfg["start"] == "self" and self.t0 is not None:
                await asyncio.sleep(max(0.0, self.t0 - time.time()))
                return await self.begin(c)
            # The stream open: no pulse (exam.js clears its timer); a stream opened or lost
            # meanwhile ends the wait, and a lost one starts a fresh beat.
            news = await self.news(c, max(0.0, c.give_up_at - time.time()) if c.live
                                   else jittered(LOBBY_PULSE_S, rng), also)
            if news in ("also", "flip"):
                continue
            if news is None:
                if c.live:
                    continue
                v = await self.pulse(c)
                if v is None or v == c.v:
                    continue
                state = await self.read_state(c, "state_on_pulse")
                if state is None:
                    continue
                c.v = v
            else:
                state = news                            # pushed, or read as the stream opened
                if isinstance(state.get("v"), int):
                    c.v = state["v"]
            if state["finished"]:
                return False
            if state["key"]:
                return await self.started(c, state)
        self.counts["lobby_given_up"] += 1
        return False

    async def begin(self, c: Cand):
        st, text, _ = await self.call(c, "POST", c.urls["begin"], kind="begin", json_body={})
        self.counts[f"begin:{st}"] += 1
        if st != 200:
            return False
        state = json.loads(text)
        c.deadline = time.time() + state["remaining_ms"] / 1000
        c.synced = time.time()
        return await self.started(c, state)

    async def started(self, c: Cand, state):
        """The page has the key: it opens the sealed questions at once, and shows the first
        at the start moment (now, or starts_in_ms from now on its own clock)."""
        # When the reply or the pushed message came, not when this task got to it: pushed
        # keys come all at once, and this process's pages wait their turn on one loop.
        key_mono, key_wall = state.get("_at") or (time.monotonic(), time.time())
        # The state's number can lag the pulse's by up to a second (each process reads the
        # room once a second): keep the newer, or the next pulse would read the state again.
        if state.get("v") is not None and (c.v is None or state["v"] > c.v):
            c.v = state["v"]
        lead = state["starts_in_ms"] / 1000
        c.key_at, c.starts_at = key_wall, key_wall + lead
        c.usable_at = max(c.starts_at, c.key_at)
        await asyncio.sleep(max(0.0, key_mono + lead - time.monotonic()))
        # Opened here, after the wait, though the page opens them at once (in its own tab,
        # off its main thread): done at once, this process's ~1,000 pages' decryptions
        # (~0.5 ms each) would delay the reading of the later pages' keys, which no page has.
        c.items = parse_items(unseal(c.sealed, state["key"]))
        if not c.items:
            self.counts["no_items_after_key"] += 1
            return False
        c.phase = "exam"
        return True

    # ---- the exam ---------------------------------------------------------------------
    async def save(self, c: Cand, pos, response, record=True):
        """Save one answer until the server acknowledges it or refuses it for good.
        Returns 'ok', 'deadline' or 'refused'."""
        qid = c.items[pos][0]
        t = time.perf_counter()
        for _ in range(5):                     # bounded: stale re-reads, clock not running
            cid = uuid.uuid4().hex
            body = {"base_seq": c.seq, "client_id": cid, "position": pos, "question_id": qid,
                    "response": response, "flagged": False}
            c.unacked.setdefault(pos, []).append(cid)
            c.stored_pos = pos               # a save stores its position (exam.js)
            st, text, _ = await self.call(c, "POST", c.urls["save"], kind="save", json_body=body)
            if st == 200:
                ack = json.loads(text)
                c.seq = ack["seq"]
                c.acked[pos] = (ack["seq"], cid, response)
                c.unacked.pop(pos, None)
                c.deadline = time.time() + ack["remaining_ms"] / 1000
                c.synced = c.heard_at = time.time()    # the next pulse waits a full beat
                if ack.get("v") is not None and ack["v"] != c.v and c.phase == "exam":
                    asyncio.ensure_future(self.heard_change(c, ack["v"]))
                if record:
                    self.save_lat.append((time.perf_counter() - t) * 1000)
                self.counts["saves_acked"] += 1
                if ack.get("duplicate"):
                    self.counts["saves_acked_duplicate"] += 1
                return "ok"
            err = ""
            if st is not None:
                try:
                    err = json.loads(text).get("error", "")
                except ValueError:
                    err = "?"
            if st == 409 and err in ("deadline", "finished"):
                self.counts["saves_refused_deadline"] += 1
                return "deadline"
            if st == 409 and err == "stale":
                self.counts["saves_stale_reread"] += 1
                await self.open_page(c, f"/exam/attempts/{c.attempt}")
                continue
            if st == 409 and err in ("paused", "not_started"):
                # The clock stands still (a pause) or has not started yet on the server: read
                # the state, as the page does, and wait before sending again.
                self.counts[f"saves_refused_{err}"] += 1
                state = await self.read_state(c, f"state_on_{err}")
                wait = jittered(EXAM_PULSE_S, c.rng)
                if state and state["phase"] == "running":
                    wait = state["starts_in_ms"] / 1000
                await asyncio.sleep(wait)
                continue
            if st is None:
                self.counts["saves_given_up"] += 1
                return "refused"
            self.counts[f"saves_refused:{st}:{err}"] += 1
            return "refused"
        return "refused"

    def ping_position(self, c: Cand, pos):
        """Move to question `pos`; like exam.js, ping its position 15 s later unless a save
        has stored it by then (every save carries its position)."""
        c.current = pos
        if not self.cfg.get("pings", True) or pos == c.stored_pos:
            return asyncio.ensure_future(asyncio.sleep(0))

        async def ping():
            await asyncio.sleep(POSITION_PING_S)
            if c.done or c.current != pos or c.stored_pos == pos:
                return
            c.stored_pos = pos
            st, _, _ = await self.call(c, "POST", c.urls["position"], kind="position",
                                       json_body={"position": pos}, retry=False)
            self.counts[f"position:{st}"] += 1
        return asyncio.ensure_future(ping())

    async def poll_state(self, c: Cand):
        """Like exam.js: every 15 s, re-read the remaining time if no save reply has
        refreshed it for a minute."""
        while not c.done:
            await asyncio.sleep(15)
            if c.done or time.time() - c.synced < 60:
                continue
            c.synced = time.time()
            st, text, _ = await self.call(c, "GET", c.urls["state"], kind="state", retry=False)
            self.counts[f"state:{st}"] += 1
            if st == 200:
                b = json.loads(text)
                c.deadline = time.time() + b["remaining_ms"] / 1000

    async def heard_change(self, c: Cand, v):
        if await self.read_state(c, "state_on_save") is not None:
            c.v = v

    async def pulse_exam_loop(self, c: Cand):
        """While sitting, with the stream open, the page takes each state it pushes and asks
        nothing. Without it, it asks for the pulse 5 s (+-20%) after it last heard the room's
        number (from a pulse or a save's reply, as exam.js) and reads its state when the
        number changes (a proctor acted); a lost stream starts a fresh beat."""
        c.heard_at = time.time()
        while not c.done:
            wait = jittered(EXAM_PULSE_S, c.rng)
            while not c.done:
                if c.live:
                    news = await self.news(c, None)
                    if isinstance(news, dict):
                        self.take_state(c, news)
                    elif not c.live:
                        c.heard_at, wait = time.time(), jittered(EXAM_PULSE_S, c.rng)
                    continue
                left = c.heard_at + wait - time.time()
                if left <= 0:
                    break
                news = await self.news(c, left)
                if isinstance(news, dict):
                    self.take_state(c, news)
            if c.done:
                return
            v = await self.pulse(c)
            c.heard_at = time.time()
            if v is not None and v != c.v and not c.done:
                if await self.read_state(c, "state_on_pulse") is not None:
                    c.v = v

    async def think(self, c: Cand, seconds):
        """Sleep `seconds`, or until the candidate's deadline; False if the deadline came."""
        left = c.deadline - time.time()
        if left <= seconds:
            await asyncio.sleep(max(0.0, left))
            return False
        await asyncio.sleep(seconds)
        return True

    async def sit(self, c: Cand):
        c.give_up_at = self.cfg["give_up_at"]
        poller = asyncio.ensure_future(self.poll_state(c))
        pulser = asyncio.ensure_future(self.pulse_exam_loop(c))
        pings = []
        rng, think_s = c.rng, self.cfg["think"]
        n = len(c.items)
        outcome = "ok"
        for pos in range(1, n + 1):
            if not await self.think(c, think_s * rng.uniform(0.5, 1.5)):
                break
            qid, qtype, values = c.items[pos]
            outcome = await self.save(c, pos, random_response(qtype, values, rng))
            if outcome == "deadline":
                break
            if rng.random() < 0.1 and pos > 1:
                # Go back to an earlier question and change the answer.
                back = rng.randint(1, pos - 1)
                pings.append(self.ping_position(c, back))
                if not await self.think(c, think_s * rng.uniform(0.2, 0.6)):
                    break
                _, btype, bvalues = c.items[back]
                prev = c.acked.get(back, (None, None, None))[2]
                outcome = await self.save(c, back, random_response(btype, bvalues, rng, avoid=prev))
                self.counts["answers_changed"] += 1
                if outcome == "deadline":
                    break
            if pos < n:
                if not await self.think(c, rng.uniform(0.3, 1.5)):   # reading, then "next"
                    break
                pings.append(self.ping_position(c, pos + 1))
        # Every question answered (or cut off): wait for the deadline like the page does.
        if outcome != "deadline":
            await asyncio.sleep(max(0.0, c.deadline - time.time()))
        c.phase = "after"
        st, _, _ = await self.call(c, "GET", c.urls["state"], kind="state_at_deadline")
        self.counts[f"state_at_deadline:{st}"] += 1
        c.done = True
        poller.cancel()
        pulser.cancel()
        await asyncio.sleep(1.5)
        st, _, loc = await self.call(c, "GET", c.urls["done"], kind="done")
        self.counts[f"done_page:{st}"] += 1
        for p in pings:
            p.cancel()

    # ---- saturation -------------------------------------------------------------------
    async def prepare_savers(self, session_id, savers):
        """Each saver enters the saturation session's lobby and starts at once (its room
        starts on the candidate's own 開始)."""
        ok = 0
        for c in savers:
            c.give_up_at = time.time() + 300
            c.acked, c.unacked, c.items, c.sealed, c.v = {}, {}, None, None, None
            c.done = False
            if await self.enter_lobby(c, session_id, record=False):
                ok += await self.begin(c)
            c.phase = "sat"
        return ok

    async def saturate(self, savers, what, t_start, warm, dur):
        window = (t_start + warm, t_start + warm + dur)
        done, lat = [0], []

        async def loop_save(c):
            if not c.items:
                return
            rng = c.rng
            n = len(c.items)
            while time.time() < window[1]:
                pos = rng.randint(1, n)
                _qid, qtype, values = c.items[pos]
                t = time.perf_counter()
                r = await self.save(c, pos, random_response(qtype, values, rng), record=False)
                now = time.time()
                if r == "ok" and window[0] <= now <= window[1]:
                    done[0] += 1
                    lat.append((time.perf_counter() - t) * 1000)
                elif r != "ok":
                    return

        async def loop_bare(c, base):
            while time.time() < window[1]:
                t = time.perf_counter()
                st, _, _ = await self.call(c, "GET", "/healthz", kind="healthz", base=base)
                now = time.time()
                if st == 200 and window[0] <= now <= window[1]:
                    done[0] += 1
                    lat.append((time.perf_counter() - t) * 1000)

        await asyncio.sleep(max(0.0, t_start - time.time()))
        if what == "save":
            await asyncio.gather(*(loop_save(c) for c in savers))
        else:
            # Same number of connections, each to a fixed server, as the savers spread.
            await asyncio.gather(*(loop_bare(c, self.bases[i % len(self.bases)])
                                   for i, c in enumerate(savers)))
        return done[0], lat


def generator_main(cfg, usernames, conn):
    """Child process: take orders over the pipe, answer with results."""
    import gc
    gc.freeze()

    async def run():
        g = Generator(cfg, usernames)
        await g.open()
        loop = asyncio.get_running_loop()
        try:
            while True:
                msg = await loop.run_in_executor(None, conn.recv)
                op = msg["op"]
                if op == "lobby":
                    # Sign in, enter the lobby; answered once every candidate is there (or
                    # failed to get there). Their lives go on: pulses while they wait.
                    t = time.time()
                    g.start_lives(msg["session_id"], msg["concurrency"])
                    await g.lobby_done.wait()
                    conn.send({"ok": sum(c.phase == "lobby" for c in g.cands),
                               "seconds": time.time() - t, "cpu_s": cpu_self_s()})
                elif op == "exam":
                    # Sent just before the proctor's press (or with T0 for --start self);
                    # answered when every candidate's exam is over.
                    g.cfg["give_up_at"] = msg["give_up_at"]
                    g.nreq = 0
                    cpu0 = cpu_self_s()
                    if msg.get("t0") is not None:
                        g.t0 = msg["t0"]
                        g.t0_set.set()
                    await asyncio.gather(*g.lives)
                    results = {c.attempt: (c.username, c.acked, c.unacked) for c in g.cands
                               if c.attempt is not None}
                    conn.send({"starts": [(c.usable_at, c.key_at, c.starts_at) for c in g.cands
                                          if c.usable_at is not None],
                               "lobby_lat": g.lobby_lat, "pulse_lobby": g.pulse_lobby,
                               "pulse_exam": g.pulse_exam, "by_phase": g.by_phase,
                               "save_lat": g.save_lat,
                               "errors": dict(g.errors), "errors_retried_ok": g.errors_retried_ok,
                               "counts": dict(g.counts), "results": results,
                               "started": sum(1 for c in g.cands if c.usable_at is not None),
                               "nreq": g.nreq, "cpu_s": cpu_self_s() - cpu0})
                elif op == "prepare":
                    savers = g.cands[:msg["savers"]]
                    ok = await g.prepare_savers(msg["session_id"], savers)
                    conn.send({"ok": ok})
                elif op == "saturate":
                    savers = g.cands[:msg["savers"]]
                    g.nreq = 0
                    n, lat = await g.saturate(savers, msg["what"], msg["t_start"], msg["warm"],
                                              msg["dur"])
                    conn.send({"n": n, "lat": lat, "nreq": g.nreq})
                elif op == "results":
                    savers = g.cands[:msg["savers"]]
                    conn.send({"results": {c.attempt: (c.username, c.acked, c.unacked)
                                           for c in savers if c.attempt is not None},
                               "errors": dict(g.errors), "errors_retried_ok": g.errors_retried_ok,
                               "counts": dict(g.counts), "cpu_s": cpu_self_s()})
                elif op == "quit":
                    return
        finally:
            for t in g.lives:
                t.cancel()
            await g.close()

    asyncio.run(run())


def cpu_self_s() -> float:
    return sum(resource.getrusage(resource.RUSAGE_SELF)[:2])


# ==== the orchestrator ==================================================================

def pids_cpu_s(pids) -> float:
    """CPU seconds (user + system) used so far by these live processes."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                f = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(f[11]) + int(f[12])) / tick
    return total


class Servers:
    """K `cbt serve` processes on loopback, each in its own process group, each with its
    room's channel (a child of the gunicorn master, in its group) unless channel=False."""

    def __init__(self, k, env, workers, threads, logdir, channel=True):
        self.env, self.workers, self.threads, self.logdir = env, workers, threads, logdir
        ports = set()
        while len(ports) < (2 * k if channel else k):   # distinct: free_port may say one twice
            ports.add(free_port())
        ports = list(ports)
        self.ports = ports[:k]
        self.channel_ports = ports[k:] if channel else []
        self.procs = [None] * k
        self.starts = 0
        self.lock = threading.Lock()
        self.retired_cpu = 0.0       # of killed servers, read just before the kill
        self.channel_back_s = []     # after each whole-server kill: seconds until its channel answered
        self.channel_not_back = 0

    def start(self, i):
        cmd = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1",
               "--port", str(self.ports[i])]
        cmd += ["--channel-port", str(self.channel_ports[i])] if self.channel_ports \
            else ["--no-channel"]
        if self.workers:
            cmd += ["--workers", str(self.workers)]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        out = open(os.path.join(self.logdir, f"server{i}.log"), "ab")
        self.procs[i] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        self.starts += 1

    def start_all(self):
        for i in range(len(self.ports)):
            self.start(i)
        self.wait_all(60)

    def wait_all(self, seconds):
        for port in self.ports:
            wait_healthy(port, seconds)
        for port in self.channel_ports:
            wait_healthy(port, seconds, "/channel/healthz")

    def _channel_back(self, i, t_kill):
        try:
            wait_healthy(self.channel_ports[i], 60, "/channel/healthz")
            self.channel_back_s.append(round(time.time() - t_kill, 2))
        except RuntimeError:
            self.channel_not_back += 1

    @property
    def bases(self):
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def kill_server(self, i):
        """kill -9 the master and every worker of server i, then start it again."""
        with self.lock:
            p = self.procs[i]
            self.retired_cpu += self.cpu_s({p.pid})
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
            t_kill = time.time()
            self.start(i)
        if self.channel_ports:            # the channel comes back with its server
            threading.Thread(target=self._channel_back, args=(i, t_kill), daemon=True).start()

    def kill_worker(self, i):
        """kill -9 one gunicorn worker of server i (the master starts another); never the
        room's channel, the master's other child (`app.cli channel`), which nobody restarts."""
        with self.lock:
            # The subcommand as an argument of its own: the workers' `--channel-port` is not.
            kids = [k for k in children(self.procs[i].pid) if "channel" not in cmdline(k)]
            if not kids:
                return False
            try:
                os.kill(random.choice(kids), signal.SIGKILL)
            except ProcessLookupError:
                return False
            return True

    def cpu_s(self, groups=None):
        """CPU seconds used so far by every server: live processes of each server's process
        group, plus the workers their masters have reaped, plus servers killed earlier."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0 if groups else self.retired_cpu
        groups = groups or {p.pid for p in self.procs if p}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as fh:
                    f = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(f[2]) in groups:
                total += (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / tick
        return total

    def stop_all(self):
        for p in self.procs:
            if p and p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 30
        for p in self.procs:
            if p:
                try:
                    p.wait(max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()


def machine_cpu_s() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine so far, every core, from /proc/stat:
    what no process's own figure shows too (the kernel's threads and interrupts, e.g.
    writing the disk's journal for a database's commits)."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq = f[:7]
    return (user + nice + system + irq + softirq) / tick, (idle + iowait) / tick


def postgres_cpu_s(pgdir) -> float:
    """CPU seconds used so far by a PostgreSQL server: the postmaster, the children it has
    reaped (cutime, cstime) and its live ones (the backends). 0 without a server (SQLite
    works inside the app's processes, and is counted with them)."""
    if not pgdir:
        return 0.0
    try:
        with open(os.path.join(pgdir, "postmaster.pid")) as fh:
            pid = int(fh.readline())
        with open(f"/proc/{pid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return 0.0
    reaped = (int(f[13]) + int(f[14])) / os.sysconf("SC_CLK_TCK")
    return pids_cpu_s([pid, *children(pid)]) + reaped


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    kids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def cmdline(pid) -> list[str]:
    """A process's arguments ([] once it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().decode(errors="replace").split("\0")
    except OSError:
        return []


def wait_healthy(port, seconds, path="/healthz"):
    import urllib.request
    end = time.time() + seconds
    while time.time() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not become healthy ({path})")


def setup_database(url, instance, n, duration, fast_hash=False, start_mode="self"):
    """Tables, banks, N candidates (one precomputed hash), the exam session (its room set to
    start on the proctor's signal or on each candidate's own 開始), the saturation session
    (own start), and a proctor assigned to the exam session. Returns (candidate names, exam
    session, saturation session, questions per form, the proctor's user name)."""
    os.environ["DATABASE_URL"] = url
    os.environ["CBT_INSTANCE"] = instance
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from app import create_app
    from app.banks.versions import import_banks, snapshot
    from app.extensions import db
    from app.models import (ExamSession, Proctor, Registration, SessionDetail, User, UserRole,
                            utcnow)

    app = create_app({"SECRET_KEY": "unused-here"})
    with app.app_context():
        db.create_all()
        version = import_banks()
        blueprint, _ = snapshot(version)
        lv = blueprint.levels["beginner"]
        # One hash for everyone (never N scrypt runs here). --fast-signin: scrypt with
        # N=1024 instead of werkzeug's N=32768, so the sign-in before the start is quick;
        # nothing measured depends on it.
        pw = generate_password_hash(PASSWORD, "scrypt:1024:8:1" if fast_hash else "scrypt")
        now = utcnow()
        names = [f"bench{i:05d}" for i in range(n)]
        db.session.execute(insert(User), [
            {"username": u, "password_hash": pw, "display_name": f"負荷 {u}", "active": True,
             "created_at": now} for u in names + [PROCTOR]])
        ids = dict(db.session.execute(select(User.username, User.id)).all())
        db.session.execute(insert(UserRole), [{"user_id": ids[u], "role": "candidate"} for u in names]
                           + [{"user_id": ids[PROCTOR], "role": "proctor"}])
        try:                   # the staff register: a candidate must be on it to start (第3-2)
            from app.models import Staff
        except ImportError:
            Staff = None
        if Staff is not None:
            db.session.execute(insert(Staff), [
                {"staff_number": f"B{i:06d}", "name_kanji": f"負荷 {i}", "name_kana": f"フカ {i}",
                 "birth_date": date(1990, 1, 1), "post": "巡査", "employment_category": "警察官",
                 "user_id": ids[u], "created_at": now, "updated_at": now}
                for i, u in enumerate(names)])
        sessions = []
        for title, minutes in (("負荷試験（初級）", max(1, math.ceil(duration / 60))),
                               ("負荷試験（飽和測定）", 600)):
            s = ExamSession(title=title, level="beginner", fiscal_year=2025,
                            opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1),
                            duration_minutes=minutes, question_count=lv.questions,
                            bank_version_id=version.id)
            db.session.add(s)
            db.session.flush()
            sessions.append(s.id)
            db.session.execute(insert(Registration), [
                {"session_id": s.id, "user_id": ids[u], "created_at": now} for u in names])
        # The exam session's room; the saturation session keeps the default (own start).
        db.session.add(SessionDetail(session_id=sessions[0], format="cbt", start_mode=start_mode,
                                     control_seq=0))
        db.session.add(Proctor(session_id=sessions[0], user_id=ids[PROCTOR],
                               assigned_by=ids[PROCTOR], assigned_at=now))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return names, sessions[0], sessions[1], lv.questions, PROCTOR


class Db:
    """The orchestrator's own connection, for the deadline, the scoring poll and the check."""

    def __init__(self, url):
        import sqlalchemy as sa
        self.sa = sa
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

    def q(self, sql, **params):
        with self.engine.begin() as c:
            return c.execute(self.sa.text(sql), params).all()

    def set_closes_at(self, session_id, when: datetime):
        with self.engine.begin() as c:
            c.execute(self.sa.text("UPDATE exam_sessions SET closes_at = :t WHERE id = :s"),
                      {"t": when, "s": session_id})

    def unscored(self, session_id):
        return self.q("SELECT count(*) FROM attempts WHERE session_id = :s AND "
                      "(submitted_at IS NULL OR correct IS NULL)", s=session_id)[0][0]

    def attempts(self, session_id):
        return self.q("SELECT count(*) FROM attempts WHERE session_id = :s", s=session_id)[0][0]

    def latest(self, attempt_ids):
        """attempt -> position -> (seq, client_id, response), the response as it was sent
        (the stored keys of a choice question as the positions shown)."""
        out = {}
        ids = list(attempt_ids)
        for i in range(0, len(ids), 500):
            chunk = ",".join(str(int(a)) for a in ids[i:i + 500])
            orders = {a: [item.get("choice_order", []) for item in json.loads(form)] for a, form in
                      self.q(f"SELECT id, form_json FROM attempts WHERE id IN ({chunk})")}
            rows = self.q("SELECT attempt_id, position, seq, client_id, response_json FROM answer_steps "
                          f"WHERE attempt_id IN ({chunk})")
            for a, pos, seq, cid, resp in rows:
                cur = out.setdefault(a, {}).get(pos)
                if cur is None or seq > cur[0]:
                    out[a][pos] = (seq, cid, None if resp is None else
                                   as_sent(orders[a][pos - 1], json.loads(resp)))
        return out


def verify(dbh, results):
    """Every acknowledged answer must be the latest step of its position; a newer step is
    allowed only if it is a save the candidate sent and never saw acknowledged."""
    latest = dbh.latest(results.keys())
    acked = lost = unacked_stored = 0
    examples = []
    for attempt, (user, acks, unacked) in results.items():
        have = latest.get(attempt, {})
        for pos, (seq, cid, response) in acks.items():
            acked += 1
            got = have.get(pos)
            if got and got[1] == cid and got[2] == response:
                continue
            if got and got[0] > seq and got[1] in unacked.get(pos, ()):
                unacked_stored += 1
                continue
            lost += 1
            if len(examples) < 5:
                examples.append({"attempt": attempt, "user": user, "position": pos,
                                 "acked": [seq, cid, response], "db": list(got) if got else None})
    return acked, lost, unacked_stored, examples


class MachineLoad:
    """How busy the machine was: this benchmark shares it with whatever else runs."""

    def __init__(self):
        self.samples = []
        self.stop = threading.Event()
        self.cpu0 = self._cpu()
        self.t0 = time.time()
        threading.Thread(target=self._run, daemon=True).start()

    @staticmethod
    def _cpu():
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
        idle = f[3] + f[4]
        return sum(f) - idle, sum(f)

    def _run(self):
        while not self.stop.wait(5):
            with open("/proc/loadavg") as fh:
                self.samples.append(float(fh.read().split()[0]))

    def report(self, own_cpu_s):
        self.stop.set()
        busy0, all0 = self.cpu0
        busy1, all1 = self._cpu()
        tick = os.sysconf("SC_CLK_TCK")
        busy_s = (busy1 - busy0) / tick
        return {"machine_cpu_busy_pct": round(100 * (busy1 - busy0) / max(1, all1 - all0), 1),
                "machine_cpu_s": round(busy_s, 1),
                "own_cpu_s": round(own_cpu_s, 1),
                "loadavg_max": max(self.samples, default=None),
                "loadavg_mean": round(sum(self.samples) / len(self.samples), 2) if self.samples else None}


class Browser:
    """One signed-in user's browser tab on loopback, without asyncio (the proctor here;
    request_cpu.py's candidates): one keep-alive connection, its cookies."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies = {}
        self.csrf = None

    def call(self, method, path, form=None, body=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} \
            if self.cookies else {}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers.update({"Content-Type": "application/json", "X-CSRFToken": self.csrf,
                            "Accept": "application/json"})
        elif form is not None:
            data = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):      # the server closes idle keep-alive connections
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                text = resp.read().decode()
                break
            except (ConnectionError, http.client.RemoteDisconnected):
                self.conn.close()
                if attempt == 2:
                    raise
        for value in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            v = rest.split(";", 1)[0]
            if not v or "max-age=0" in value.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = v
        return resp.status, text, resp.headers.get("Location")

    def sign_in(self, username, password, page):
        """Sign in, then read the CSRF token from `page` (the token changes at sign-in)."""
        st, html, _ = self.call("GET", "/login")
        st, _, _ = self.call("POST", "/login", form={"username": username, "password": password,
                                                     "csrf_token": CSRF_RE.search(html).group(1)})
        if st != 302:
            raise RuntimeError(f"sign-in of {username}: {st}")
        st, html, _ = self.call("GET", page)
        if st != 200:
            raise RuntimeError(f"{page}: {st}")
        self.csrf = CSRF_RE.search(html).group(1)


def parse_utc(text: str) -> float:
    """'2026-12-06T13:00:05.123456Z' (the app's naive UTC, marked Z) -> epoch seconds."""
    return datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=timezone.utc).timestamp()


class CpuSampler:
    """CPU seconds used so far by the app servers, the generators and PostgreSQL, read every
    `step` seconds in a thread (at most `limit` samples): the CPU between two moments known
    only afterwards (the press and the last candidate's start) is read off by interpolation."""

    def __init__(self, servers, gen_pids, pgdir, step=0.1, limit=3000):
        self.servers, self.gen_pids, self.pgdir = servers, gen_pids, pgdir
        self.step, self.limit = step, limit
        self.samples = []            # (wall, servers, generators, postgres)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    until = float("inf")             # wall time after which sampling stops

    def _run(self):
        while len(self.samples) < self.limit and not self.stop.is_set() \
                and time.time() < self.until:
            self.samples.append((time.time(), self.servers.cpu_s(), pids_cpu_s(self.gen_pids),
                                 postgres_cpu_s(self.pgdir)))
            self.stop.wait(self.step)

    def at(self, t):
        """(servers, generators, postgres) CPU seconds at wall time t, or None outside."""
        s = self.samples
        if not s or t < s[0][0] or t > s[-1][0]:
            return None
        for a, b in zip(s, s[1:]):
            if a[0] <= t <= b[0]:
                f = 0.0 if b[0] == a[0] else (t - a[0]) / (b[0] - a[0])
                return tuple(x + f * (y - x) for x, y in zip(a[1:], b[1:]))
        return s[-1][1:]

    def between(self, t1, t2):
        a, b = self.at(t1), self.at(t2)
        return None if a is None or b is None else tuple(y - x for x, y in zip(a, b))


def merge_counts(dicts):
    total = Counter()
    for d in dicts:
        total.update(d)
    return dict(sorted(total.items()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--think", type=float, default=10.0, help="mean think time per question (s)")
    ap.add_argument("--duration", type=int, default=60, help="the session's time limit (s)")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--servers", type=int, default=1)
    ap.add_argument("--workers", type=int, default=None, help="gunicorn workers per server "
                    "(default: cbt serve's for this machine, shared out among the --servers "
                    "on it, as README says for servers that share a machine)")
    ap.add_argument("--threads", type=int, default=None, help="threads per worker (default: cbt serve's)")
    ap.add_argument("--kill-every", type=float, default=None, metavar="SECONDS")
    ap.add_argument("--generators", type=int, default=2, help="generator processes")
    ap.add_argument("--signin-concurrency", type=int, default=4, help="per generator")
    ap.add_argument("--fast-signin", action="store_true",
                    help="cheaper password hashes (scrypt N=1024) for quick runs; sign-in is "
                         "not measured, but then signin_s is not the production figure")
    ap.add_argument("--savers", type=int, default=200, help="connections in the saturation phase")
    ap.add_argument("--sat-seconds", type=float, default=5.0, help="length of each saturation phase")
    ap.add_argument("--sat-rounds", type=int, default=4,
                    help="save and bare phases, alternated this many times each")
    ap.add_argument("--no-position-pings", action="store_true",
                    help="what-if: candidates skip the page's position pings (POST .../position "
                         "when a question is left unanswered for 15 s); not the page's protocol")
    ap.add_argument("--start", choices=["signal", "self"], default="signal",
                    help="signal: the room starts on the proctor's signal, given once every "
                         "candidate is in the lobby; self: each candidate POSTs begin at T0")
    ap.add_argument("--lobby-seconds", type=float, default=10.0,
                    help="how long everyone waits in the lobby before the start (its pulses' "
                         "steady cost is measured over this time)")
    ap.add_argument("--channel", action=argparse.BooleanOptionalAction, default=True,
                    help="the room's channel beside each server (cbt serve's default); with "
                         "--no-channel the pages pulse throughout, as before it")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    args = ap.parse_args(argv)
    if args.db == "sqlite" and args.servers != 1:
        ap.error("--servers > 1 needs --db postgresql (one SQLite file per machine)")
    # The generators import aiohttp in their own processes; without it they would die there
    # and leave the run waiting on their pipes, so say so here before anything starts.
    if importlib.util.find_spec("aiohttp") is None:
        ap.error("the generator needs aiohttp: pip install -e '.[bench]'")
    random.seed(args.seed)
    t_begin = time.time()
    machine = MachineLoad()

    tmp = tempfile.mkdtemp(prefix="cbt-bench-")
    instance = os.path.join(tmp, "instance")
    os.makedirs(instance)
    pgdir = None
    servers = None
    procs = []
    out = None
    try:
        if args.db == "sqlite":
            url = "sqlite:///" + os.path.join(tmp, "cbt.sqlite")
        else:
            pgdir = tempfile.mkdtemp(prefix="cbt-bench-pg-")
            pg_port = free_port()
            url = subprocess.run(["bash", str(ROOT / "scripts/pg-throwaway.sh"), "start", pgdir,
                                  str(pg_port)], check=True, capture_output=True, text=True
                                 ).stdout.strip().splitlines()[-1]
            log("PostgreSQL", url)
        names, session_id, sat_session_id, nq, proctor = setup_database(
            url, instance, args.candidates, args.duration, args.fast_signin, start_mode=args.start)
        log(f"database ready: {len(names)} candidates, session {session_id} ({nq} questions, "
            f"starts {'on the signal' if args.start == 'signal' else 'on each own 開始'})")

        env = dict(os.environ, DATABASE_URL=url, CBT_INSTANCE=instance,
                   SECRET_KEY="bench-" + uuid.uuid4().hex, CBT_LOGIN_RATE_LIMIT="off",
                   PYTHONPATH=str(ROOT))
        for name in ("CBT_CHANNEL_PORT", "CBT_CHANNEL_URL"):    # cbt serve's own say only
            env.pop(name, None)
        if args.threads is None:
            from app.cli.server import DEFAULT_THREADS
            args.threads = DEFAULT_THREADS      # reported with the figures
        if args.workers is None and args.servers > 1:
            # K servers on this one machine stand for K machines: each gets its share of
            # the cores, as it would on its own (README, "Several app servers").
            from app.cli.server import default_workers
            args.workers = default_workers(args.servers)
        servers = Servers(args.servers, env, args.workers, args.threads, tmp, args.channel)
        servers.start_all()
        log("servers up on ports", servers.ports, "channels on", servers.channel_ports)

        cfg = {"bases": servers.bases, "think": args.think, "seed": args.seed,
               "give_up_at": float("inf"), "pings": not args.no_position_pings,
               "start": args.start, "channel": args.channel}
        ctx = mp.get_context("spawn")
        pipes = []
        g = max(1, min(args.generators, len(names)))
        for i in range(g):
            parent, child = ctx.Pipe()
            cfg_i = dict(cfg)
            p = ctx.Process(target=generator_main, args=(cfg_i, names[i::g], child), daemon=True)
            p.start()
            procs.append(p)
            pipes.append(parent)
        gen_pids = {p.pid for p in procs}

        def ask_all(msgs):
            for pipe, m in zip(pipes, msgs):
                pipe.send(m)
            return [pipe.recv() for pipe in pipes]

        # ---- sign-in and the lobby -----------------------------------------------------
        t = time.time()
        lobby = ask_all([{"op": "lobby", "session_id": session_id,
                          "concurrency": args.signin_concurrency}] * g)
        signin_s = time.time() - t
        in_lobby = sum(r["ok"] for r in lobby)
        log(f"{in_lobby} of {len(names)} candidates signed in and in the lobby in {signin_s:.1f} s")
        if args.start == "signal":
            proctor_browser = Browser(servers.ports[0])
            proctor_browser.sign_in(proctor, PASSWORD, "/room/")

        # Everyone waits in the lobby, pulsing, for --lobby-seconds: the room's steady cost
        # before the start, measured (and subtracted in server_cpu_ms_per_start).
        sampler = CpuSampler(servers, gen_pids, pgdir).start()
        t_lobby = time.time() + 0.2
        time.sleep(max(0.5, args.lobby_seconds))

        dbh = Db(url)
        cpu_exam0 = servers.cpu_s()
        if args.start == "signal":
            # The room's deadline: the start comes the signal's lead after the press (shorter
            # with the channel: app/__init__.py), and the session's window closes --duration
            # after that, so that every attempt's deadline is this one instant (the window
            # cuts the duration a few ms short).
            from scoring.timing import CHANNEL_SIGNAL_LEAD_SECONDS, SIGNAL_LEAD_SECONDS
            lead = CHANNEL_SIGNAL_LEAD_SECONDS if args.channel else SIGNAL_LEAD_SECONDS
            deadline = time.time() + lead + args.duration
            dbh.set_closes_at(session_id, datetime.fromtimestamp(deadline, timezone.utc)
                              .replace(tzinfo=None))
            for pipe in pipes:
                pipe.send({"op": "exam", "give_up_at": deadline + 120})
            t_press = time.time()
            st, text, _ = proctor_browser.call("POST", f"/room/{session_id}/signal", body={})
            t_signal_reply = time.time()
            if st != 200:
                raise SystemExit(f"the signal was refused: {st} {text[:300]}")
            reply = json.loads(text)
            t_announced = parse_utc(reply["start_at"])
            if abs(reply["starts_in_ms"] / 1000 - lead) > 0.5:
                log(f"the signal's lead is {reply['starts_in_ms']} ms, not the {lead} s expected: "
                    "the deadline is not the room's one instant")
            log(f"signal given: start in {reply['starts_in_ms']} ms, deadline at "
                f"start+{deadline - t_announced:.1f}s")
        else:
            t0 = time.time() + 3.0
            deadline = t0 + args.duration
            dbh.set_closes_at(session_id, datetime.fromtimestamp(deadline, timezone.utc)
                              .replace(tzinfo=None))
            for pipe in pipes:
                pipe.send({"op": "exam", "t0": t0, "give_up_at": deadline + 120})
            t_press = t_announced = t_signal_reply = t0
            log(f"every candidate begins at T0, deadline T0+{args.duration}s")
        t0 = t_press
        sampler.until = t_press + START_WINDOW_S

        kills = Counter()
        stop_kills = threading.Event()

        def killer():
            rnd = random.Random(args.seed + 7)
            time.sleep(max(0.0, t0 - time.time()))
            while not stop_kills.wait(args.kill_every * rnd.uniform(0.5, 1.5)):
                i = rnd.randrange(len(servers.ports))
                if rnd.random() < 0.5:
                    servers.kill_server(i)
                    kills["server"] += 1
                elif servers.kill_worker(i):
                    kills["worker"] += 1

        kt = None
        if args.kill_every:
            kt = threading.Thread(target=killer, daemon=True)
            kt.start()

        # Scoring: poll until every attempt is submitted and scored.
        time.sleep(max(0.0, deadline - time.time()))
        scored_after = None
        poll_end = deadline + 600
        next_progress = deadline
        while time.time() < poll_end:
            try:
                left = dbh.unscored(session_id)
                n_attempts = dbh.attempts(session_id)
            except Exception as exc:          # e.g. SQLite busy under the deadline burst
                log("poll:", exc)
                time.sleep(0.5)
                continue
            if left == 0 and n_attempts >= len(names):
                scored_after = time.time() - deadline
                break
            if time.time() >= next_progress:      # how the backlog drains, for the log
                log(f"unscored {left} at deadline+{time.time() - deadline:.1f}s")
                next_progress = time.time() + 2.0   # no burst of lines after a slow poll
            if left == 0 and n_attempts < len(names) and time.time() > deadline + 60:
                scored_after = time.time() - deadline
                break
            time.sleep(0.25)
        log(f"scored after deadline: {scored_after}")
        exam = [pipe.recv() for pipe in pipes]
        cpu_exam = servers.cpu_s() - cpu_exam0
        if not sum(r["started"] for r in exam):
            raise SystemExit("no candidate could start the exam: " +
                             json.dumps(merge_counts(r["counts"] for r in exam)))
        stop_kills.set()
        if kt:
            kt.join(args.kill_every * 2 + 30)
            servers.wait_all(60)
        log("exam phase done; kills:", dict(kills))
        sampler.stop.set()

        # ---- the start: from the press (or T0) to each page's first question usable -----
        starts = [s for r in exam for s in r["starts"]]
        usable = [u for u, _k, _s in starts]
        t_all = max(usable)
        from_announced = [(u - t_announced) * 1000 for u in usable]
        from_press = [(u - t_press) * 1000 for u in usable]
        key_from_press = [(k - t_press) * 1000 for _u, k, _s in starts]
        # Pages that had the key before the announced start: how far each one's own start
        # moment (its clock + starts_in_ms) fell from the announced one (the state reply's
        # time in transit): the spread of "one moment". The others start when the key comes.
        page_start = [(s - t_announced) * 1000 for _u, k, s in starts if k <= t_announced]
        late = sum(1 for _u, k, _s in starts if k > t_announced)
        lobby_cpu = sampler.between(t_lobby, t_press)
        start_cpu = sampler.between(t_press, t_all)
        if start_cpu is None:
            log(f"the last start came {t_all - t_press:.1f} s after the press, past the "
                f"{START_WINDOW_S:.0f} s sampled: no start CPU figure")
        pulses_lobby_window = sum(1 for r in exam for t, _ms in r["pulse_lobby"]
                                  if t_lobby <= t <= t_press)
        by_phase = {}
        for r in exam:
            for phase, kinds in r["by_phase"].items():
                by_phase.setdefault(phase, Counter()).update(kinds)
        exam_kinds = by_phase.get("exam", Counter())
        n_started = len(starts)

        results = {}
        for r in exam:
            results.update(r["results"])
        acked, lost, unacked_stored, examples = verify(dbh, results)
        n_attempts = dbh.attempts(session_id)
        n_unscored = dbh.unscored(session_id)
        log(f"verified: {acked} acknowledged, {lost} lost")

        # ---- saturation ----------------------------------------------------------------
        per = [len(names[i::g]) for i in range(g)]
        savers = [min(per[i], args.savers // g + (1 if i < args.savers % g else 0)) for i in range(g)]
        prep = ask_all([{"op": "prepare", "session_id": sat_session_id, "savers": s} for s in savers])
        log("saturation savers ready:", sum(p["ok"] for p in prep))
        # The two phases alternate --sat-rounds times: this machine's speed drifts by tens
        # of percent over seconds (shared cores), and the ratio of two phases taken once
        # each measured that drift as much as the server.
        # n, latencies, requests, server CPU s, generator CPU s, database server CPU s,
        # machine busy s, machine idle s
        totals = {what: [0, [], 0, 0.0, 0.0, 0.0, 0.0, 0.0] for what in ("save", "bare")}
        for _round in range(args.sat_rounds):
            for what in ("save", "bare"):
                t_start = time.time() + 1.0
                c0, g0, d0 = servers.cpu_s(), pids_cpu_s(gen_pids), postgres_cpu_s(pgdir)
                m0 = machine_cpu_s()
                got = ask_all([{"op": "saturate", "what": what, "savers": s, "t_start": t_start,
                                "warm": 2.0, "dur": args.sat_seconds} for s in savers])
                c1, g1, d1 = servers.cpu_s(), pids_cpu_s(gen_pids), postgres_cpu_s(pgdir)
                m1 = machine_cpu_s()
                t = totals[what]
                t[0] += sum(x["n"] for x in got)
                t[1] += [v for x in got for v in x["lat"]]
                t[2] += sum(x["nreq"] for x in got)
                t[3] += c1 - c0
                t[4] += g1 - g0
                t[5] += d1 - d0
                t[6] += m1[0] - m0[0]
                t[7] += m1[1] - m0[1]
                log(f"saturation {what}: {sum(x['n'] for x in got) / args.sat_seconds:.0f} req/s")
        span = args.sat_seconds * args.sat_rounds
        sat = {what: (n / span, lat, cpu * 1000 / max(1, nreq), gcpu * 1000 / max(1, nreq),
                      dcpu * 1000 / max(1, nreq), mbusy * 1000 / max(1, nreq),
                      midle / max(1e-9, mbusy + midle))
               for what, (n, lat, nreq, cpu, gcpu, dcpu, mbusy, midle) in totals.items()}
        final = ask_all([{"op": "results", "savers": s} for s in savers])
        sat_results = {}
        for r in final:
            sat_results.update(r["results"])
        s_acked, s_lost, s_unacked_stored, s_examples = verify(dbh, sat_results)
        for pipe in pipes:
            pipe.send({"op": "quit"})

        save_lat = [v for r in exam for v in r["save_lat"]]
        lobby_lat = [v for r in exam for v in r["lobby_lat"]]
        pulse_lobby = [ms for r in exam for _t, ms in r["pulse_lobby"]]
        pulse_exam = [ms for r in exam for ms in r["pulse_exam"]]
        window_s = t_all - t_press
        lobby_s = t_press - t_lobby
        per_bare = sat["bare"][2]

        def per_start(i):
            return None if start_cpu is None else round(start_cpu[i] * 1000 / n_started, 2)

        def per_start_net(i):
            # Less what the lobby's pulses cost over the same length of time before it.
            if start_cpu is None or lobby_cpu is None or lobby_s <= 0:
                return None
            return round((start_cpu[i] - lobby_cpu[i] / lobby_s * window_s) * 1000 / n_started, 2)
        errors = merge_counts(r["errors"] for r in final)
        counts = merge_counts(r["counts"] for r in final)
        out = {
            "candidates": len(names),
            "db": args.db, "servers": args.servers,
            "workers": args.workers, "threads": args.threads,
            "think_s": args.think, "duration_s": args.duration, "kill_every_s": args.kill_every,
            "position_pings": not args.no_position_pings,
            "start_mode": args.start,
            "in_lobby": in_lobby, "started": n_started, "attempts_in_db": n_attempts,
            "answers_acknowledged": acked + s_acked,
            "answers_lost": lost + s_lost,
            "answers_stored_unacknowledged": unacked_stored + s_unacked_stored,
            "exam_answers_acknowledged": acked,
            "errors": sum(errors.values()),
            "errors_retried_ok": sum(r["errors_retried_ok"] for r in final),
            "errors_by_kind": errors,
            # The start (see bench/README, "The exam room's start"): from the announced start
            # moment (the press + SIGNAL_LEAD_SECONDS; T0 with --start self) to each page's
            # first question usable, max(its start moment, the moment it had the key).
            "start_p50_ms": pct(from_announced, 50), "start_p99_ms": pct(from_announced, 99),
            "start_max_ms": pct(from_announced, 100),
            # The same from the proctor's press (the lead by design included).
            "start_from_press_p50_ms": pct(from_press, 50),
            "start_from_press_p99_ms": pct(from_press, 99),
            "start_from_press_max_ms": pct(from_press, 100),
            "start_lead_ms": round((t_announced - t_press) * 1000, 1),
            "signal_reply_ms": round((t_signal_reply - t_press) * 1000, 1),
            "key_from_press_p50_ms": pct(key_from_press, 50),
            "key_from_press_p99_ms": pct(key_from_press, 99),
            "key_from_press_max_ms": pct(key_from_press, 100),
            "key_after_start": late,
            "on_time_start_p50_ms": pct(page_start, 50),
            "on_time_start_p99_ms": pct(page_start, 99),
            "on_time_start_max_ms": pct(page_start, 100),
            "start_window_s": round(window_s, 2),
            # The servers' CPU the start costs, per started candidate: from the press until
            # every candidate had started, less what the waiting room costs anyway over as
            # long (its steady pulses, measured before the press: lobby_server_cpu_pct).
            # _gross: everything in that time, the waiting room's pulses included.
            "server_cpu_ms_per_start": per_start_net(0),
            "server_cpu_ms_per_start_gross": per_start(0),
            "start_to_bare": None if per_start_net(0) is None or not per_bare
            else round(per_start_net(0) / per_bare, 2),
            "start_gross_to_bare": None if start_cpu is None or not per_bare
            else round(start_cpu[0] * 1000 / n_started / per_bare, 2),
            "generator_cpu_ms_per_start": per_start(1),
            "db_cpu_ms_per_start": per_start(2),
            "lobby_seconds": round(lobby_s, 1),
            "lobby_server_cpu_pct": None if lobby_cpu is None or lobby_s <= 0
            else round(100 * lobby_cpu[0] / lobby_s, 1),
            "lobby_pulses_per_s": round(pulses_lobby_window / lobby_s, 1) if lobby_s > 0 else None,
            "server_cpu_ms_per_lobby_pulse": None if lobby_cpu is None or not pulses_lobby_window
            else round(lobby_cpu[0] * 1000 / pulses_lobby_window, 2),
            "lobby_enter_p50_ms": pct(lobby_lat, 50), "lobby_enter_p99_ms": pct(lobby_lat, 99),
            "pulse_p50_ms": pct(pulse_lobby + pulse_exam, 50),
            "pulse_p95_ms": pct(pulse_lobby + pulse_exam, 95),
            "pulse_p99_ms": pct(pulse_lobby + pulse_exam, 99),
            "pulse_lobby_p95_ms": pct(pulse_lobby, 95), "pulse_exam_p95_ms": pct(pulse_exam, 95),
            # Between each candidate's start and its deadline: what its page sent.
            "exam_requests_by_kind": dict(sorted(exam_kinds.items())),
            "pulse_share_exam": round(exam_kinds["pulse"] / max(1, sum(exam_kinds.values())), 3),
            # The room's channel: streams opened (reconnections included) and lost, states it
            # pushed by where the page was, pulses sent while a stream was open (0 expected).
            "channel": args.channel,
            "streams_opened": counts.get("streams_opened", 0),
            "streams_lost": counts.get("streams_lost", 0),
            "pushed_states": {k.split(":", 1)[1]: v for k, v in counts.items()
                              if k.startswith("pushed_state:")},
            "pulses_while_streaming": counts.get("pulses_while_streaming", 0),
            "channel_back_after_kill_s_max": max(servers.channel_back_s, default=None),
            "channel_not_back_after_kill": servers.channel_not_back,
            "save_p50_ms": pct(save_lat, 50), "save_p95_ms": pct(save_lat, 95),
            "save_p99_ms": pct(save_lat, 99), "save_max_ms": pct(save_lat, 100),
            "saves_during_exam": len(save_lat),
            "save_rps_max": round(sat["save"][0], 1), "bare_rps_max": round(sat["bare"][0], 1),
            "save_to_bare": round(sat["save"][0] / sat["bare"][0], 3) if sat["bare"][0] else None,
            "sat_save_p50_ms": pct(sat["save"][1], 50), "sat_save_p95_ms": pct(sat["save"][1], 95),
            "sat_bare_p50_ms": pct(sat["bare"][1], 50),
            "server_cpu_ms_per_save": round(sat["save"][2], 2),
            "server_cpu_ms_per_bare": round(sat["bare"][2], 2),
            # The generator's own share of the two cores at saturation (whole phases,
            # warm-up included, per request it received a reply to).
            "generator_cpu_ms_per_save": round(sat["save"][3], 2),
            "generator_cpu_ms_per_bare": round(sat["bare"][3], 2),
            # PostgreSQL's processes (0 on SQLite, which is inside the servers' figure).
            "db_cpu_ms_per_save": round(sat["save"][4], 2),
            "db_cpu_ms_per_bare": round(sat["bare"][4], 2),
            # Every core's busy time, whoever used it (the kernel's own threads too), and
            # the share of the phases the cores stood idle. The window read includes the
            # 1 s wait before each phase starts, so a saturated phase still shows about
            # 1 / (3 + --sat-seconds) idle (1/8 with the default 5 s).
            "machine_cpu_ms_per_save": round(sat["save"][5], 2),
            "machine_cpu_ms_per_bare": round(sat["bare"][5], 2),
            "machine_idle_save": round(sat["save"][6], 3),
            "machine_idle_bare": round(sat["bare"][6], 3),
            "exam_requests": sum(r["nreq"] for r in exam),
            "server_cpu_ms_per_exam_request": round(cpu_exam * 1000 / max(1, sum(r["nreq"] for r in exam)), 2),
            "server_cpu_s_exam": round(cpu_exam, 1),
            "savers": sum(savers),
            "scored_after_deadline_s": None if scored_after is None else round(scored_after, 2),
            "unscored_at_end": n_unscored,
            "kills": dict(kills), "server_starts": servers.starts,
            "signin_s": round(signin_s, 1), "fast_signin": args.fast_signin,
            "generator_cpu_s": round(sum(r["cpu_s"] for r in final), 1),
            "counts": counts,
            "lost_examples": examples + s_examples,
            "wall_s": round(time.time() - t_begin, 1),
        }
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
        if servers:
            servers.stop_all()
        if pgdir:
            subprocess.run(["bash", str(ROOT / "scripts/pg-throwaway.sh"), "stop", pgdir],
                           capture_output=True)
            shutil.rmtree(pgdir, ignore_errors=True)
        if args.keep:
            log("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    # Own CPU: the servers and generators (reaped children); PostgreSQL is not included.
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.update(machine.report(ru.ru_utime + ru.ru_stime))
    print(json.dumps(out, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
