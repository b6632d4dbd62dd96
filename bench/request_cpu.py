#!/usr/bin/env python3
"""Server CPU per request, by endpoint: where the exam's request budget goes.

    python bench/request_cpu.py [--requests 2000] [--db sqlite|postgresql] [--profile DIR]

One `cbt serve` (one worker, one thread) on loopback, one signed-in candidate with an
attempt, then N sequential keep-alive requests of each kind: GET /healthz (the floor: the
WSGI stack and nothing else), POST answers (the save path), POST position, GET state, GET
pulse (what every page asks every few seconds), GET the exam page. Before that, the start,
each of --starts candidates once per kind: POST start (into the lobby: the form drawn),
GET the lobby page (the questions sealed), POST begin (the candidate's own 開始: the clock
starts, the key comes back). The
figure is the server's CPU time (user+system, from /proc) divided by the requests, so it
holds on a busy machine better than a latency would. --profile DIR runs py-spy on the
worker during each phase and writes its collapsed stacks there
(KIND.txt: one stack per line with its sample count; flamegraph.pl or speedscope read it).

Its last line is one JSON object: {"healthz_ms": ..., "save_ms": ..., ...}.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exam_load import (PASSWORD, ROOT, Browser, Servers, children, parse_exam_page,  # noqa: E402
                       random_response, setup_database)


def _spy(directory, servers, kind):
    """py-spy on the one worker, writing DIR/KIND.txt (collapsed stacks), or None."""
    if not directory:
        return None
    worker = children(servers.procs[0].pid)[0]
    os.makedirs(directory, exist_ok=True)
    spy = subprocess.Popen([shutil.which("py-spy") or "py-spy", "record", "-p", str(worker),
                            "-o", os.path.join(directory, f"{kind}.txt"), "-f", "raw", "-r", "1000"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    return spy


def _stop(spy):
    if spy:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def _report(figures, kind, cpu, wall, n):
    figures[f"{kind}_ms"] = round(cpu * 1000 / n, 3)
    figures[f"{kind}_wall_ms"] = round(wall * 1000 / n, 3)
    print(f"{kind:10s} {cpu * 1000 / n:7.3f} ms CPU/request   {wall * 1000 / n:7.3f} ms wall", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--starts", type=int, default=200, help="candidates who start (the start phase)")
    ap.add_argument("--profile", help="directory for py-spy stacks of each phase")
    ap.add_argument("--rounds", type=int, default=5,
                    help="phases per kind, taken in turn; the median is reported")
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="cbt-cpu-")
    instance = os.path.join(tmp, "instance")
    os.makedirs(instance)
    pg_dir = None
    if args.db == "sqlite":
        url = f"sqlite:///{instance}/cbt.sqlite"
    else:
        pg_dir = tempfile.mkdtemp(prefix="cbt-cpu-pg-")     # its own: the server runs as postgres
        port = Servers(1, {}, 1, 1, tmp).ports[0]
        url = subprocess.check_output(["bash", str(ROOT / "scripts/pg-throwaway.sh"), "start",
                                       pg_dir, str(port)], text=True).strip()
    servers = None
    try:
        names, session_id, _sat, _n, _proctor = setup_database(url, instance, args.starts + 1,
                                                               3600, fast_hash=True)
        env = dict(os.environ, DATABASE_URL=url, CBT_INSTANCE=instance, SECRET_KEY="bench")
        servers = Servers(1, env, 1, 1, tmp)
        servers.start_all()
        def signed_in(username):
            c = Browser(servers.ports[0])
            c.sign_in(username, PASSWORD, "/exam/")
            return c

        figures = {}
        # The start, each candidate once per kind: POST start (into the lobby: draws a form,
        # stores the attempt, its clock waiting), the lobby page (questions sealed), then POST
        # begin (the candidate's own 開始: the clock starts, the reply brings the key).
        starters = [signed_in(u) for u in names[1:]]
        for kind in ("start", "lobby_page", "begin"):
            spy = _spy(args.profile, servers, kind)
            cpu0, t0 = servers.cpu_s(), time.perf_counter()
            for s in starters:
                if kind == "start":
                    st, _, s.loc = s.call("POST", f"/exam/sessions/{session_id}/start",
                                          form={"csrf_token": s.csrf})
                    assert st == 302 and "/attempts/" in s.loc, st
                elif kind == "lobby_page":
                    st, html, _ = s.call("GET", urlsplit(s.loc).path)
                    assert st == 200, st
                    s.state, s.csrf, _items, sealed = parse_exam_page(html)
                    assert s.state["phase"] == "lobby" and sealed, s.state["phase"]
                else:
                    st, text, _ = s.call("POST", s.state["urls"]["begin"], body={})
                    assert st == 200 and json.loads(text)["key"], (st, text[:200])
            cpu, wall = servers.cpu_s() - cpu0, time.perf_counter() - t0
            _stop(spy)
            _report(figures, kind, cpu, wall, len(starters))

        c = signed_in(names[0])
        st, _, loc = c.call("POST", f"/exam/sessions/{session_id}/start", form={"csrf_token": c.csrf})
        st, html, _ = c.call("GET", urlsplit(loc).path)
        state, c.csrf, _items, _sealed = parse_exam_page(html)
        st, text, _ = c.call("POST", state["urls"]["begin"], body={})
        assert st == 200, (st, text[:200])
        st, html, _ = c.call("GET", urlsplit(loc).path)         # started: the questions shown
        state, c.csrf, items, _sealed = parse_exam_page(html)
        seq = state["seq"]
        import random
        rng = random.Random(1)

        def save():
            nonlocal seq
            pos = rng.randint(1, len(items))
            qid, qtype, values = items[pos]
            st, text, _ = c.call("POST", state["urls"]["save"], body={
                "base_seq": seq, "client_id": uuid.uuid4().hex, "position": pos,
                "question_id": qid, "response": random_response(qtype, values, rng),
                "flagged": False})
            assert st == 200, (st, text)
            seq = json.loads(text)["seq"]

        kinds = {
            "healthz": lambda: c.call("GET", "/healthz"),
            "save": save,
            "position": lambda: c.call("POST", state["urls"]["position"],
                                       body={"position": rng.randint(1, len(items))}),
            "state": lambda: c.call("GET", state["urls"]["state"]),
            "pulse": lambda: c.call("GET", state["urls"]["pulse"]),
            "page": lambda: c.call("GET", urlsplit(loc).path),
        }
        for kind, fn in kinds.items():
            for _ in range(50):                       # warm up
                fn()
        # The machine's speed drifts (shared cores, frequency): each kind is measured in
        # --rounds short phases taken in turn, and the median phase is reported, so the
        # kinds are compared over the same stretch of time.
        per_kind = {kind: [] for kind in kinds}
        for r in range(args.rounds):
            for kind, fn in kinds.items():
                n = args.requests if kind != "page" else max(50, args.requests // 10)
                n = max(20, n // args.rounds)
                spy = _spy(args.profile, servers, kind) if r == 0 else None
                cpu0, t0 = servers.cpu_s(), time.perf_counter()
                for _ in range(n):
                    fn()
                per_kind[kind].append((servers.cpu_s() - cpu0, time.perf_counter() - t0, n))
                _stop(spy)                            # the first round's phase only
        for kind, phases in per_kind.items():
            cpu, wall, n = sorted(phases, key=lambda p: p[0] / p[2])[len(phases) // 2]
            _report(figures, kind, cpu, wall, n)
        figures["save_over_healthz"] = round(figures["save_ms"] / figures["healthz_ms"], 2)
        figures["pulse_over_healthz"] = round(figures["pulse_ms"] / figures["healthz_ms"], 2)
        figures["state_over_healthz"] = round(figures["state_ms"] / figures["healthz_ms"], 2)
        figures["begin_over_healthz"] = round(figures["begin_ms"] / figures["healthz_ms"], 2)
        figures["db"] = args.db
        print(json.dumps(figures))
    finally:
        if servers:
            servers.stop_all()
        if pg_dir:
            subprocess.run(["bash", str(ROOT / "scripts/pg-throwaway.sh"), "stop", pg_dir])
            shutil.rmtree(pg_dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
