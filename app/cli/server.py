"""`cbt serve` (gunicorn, with the deadline sweeper) and `cbt sweep`."""
from __future__ import annotations

import os
import subprocess
import sys

import click

from .base import app_context, main


@main.command("sweep")
def sweep() -> None:
    """Submit and score every attempt whose deadline has passed."""
    from ..exam.sweeper import finalize_expired
    from ..models import utcnow
    with app_context() as app:
        n = finalize_expired(utcnow())
    click.echo(f"{n} attempt(s) submitted at their deadline")


# Threads per gunicorn worker. The saves that queue while a thread of the process writes
# go in the next writer's one statement or transaction (app/db/groupcommit.py), so more
# threads make bigger batches: at saturation 16 stored 1.3 times as many saves a second
# as 4 on both databases, and the trivial request lost up to 6% (bench/README.md).
DEFAULT_THREADS = 16


def default_workers(servers_here: int = 1) -> int:
    """gunicorn processes for one server: 2 per core of the machine (a thread that waits for
    the database leaves the core to another process), the cores shared out when several
    app servers run on the one machine (more processes than that only contend: measured
    in bench/README.md)."""
    return max(1, 2 * (os.cpu_count() or 1) // servers_here)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=None, type=int,
              help="processes (default: 2 per core; give each of K servers on one machine "
                   "its share, 2 x cores / K)")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=int,
              help="per worker; each holds up to two database connections")
@click.option("--keepalive", default=5, show_default=True, type=int,
              help="seconds an idle connection is kept open (gunicorn's default is 2; a "
                   "client reusing a connection just as the server closes it gets an error)")
@click.option("--log-format", type=click.Choice(["json", "text"], case_sensitive=False),
              default="json",
              envvar="LOG_FORMAT", show_default=True, show_envvar=True,
              help="stderr log lines: one JSON object each, or text for a terminal")
@click.option("--channel-port", type=int, default=None,
              help="the room's channel (server-sent events for the exam pages; default: PORT + 1)")
@click.option("--channel/--no-channel", default=True, show_default=True,
              help="without it, the exam pages ask for the room's state every few seconds")
@click.option("--access-log", type=click.Choice(["full", "quiet"], case_sensitive=False),
              default="full", envvar="CBT_ACCESS_LOG", show_default=True, show_envvar=True,
              help="quiet: no line for a static file or an open page's own background request "
                   "(pulse, state, position, answer save) that succeeded")
def serve(host: str, port: int, workers: int | None, threads: int, keepalive: int,
          log_format: str, access_log: str, channel_port: int | None, channel: bool) -> None:
    """Run the engine under gunicorn, as in production, and the room's channel beside it."""
    from gunicorn.app.base import BaseApplication

    from ..core.logs import GunicornLogger

    workers = workers or default_workers()
    # Read by gunicorn's logger here and by the app in each worker (create_app).
    os.environ["LOG_FORMAT"] = log_format
    os.environ["CBT_ACCESS_LOG"] = access_log
    os.environ["CBT_THREADS"] = str(threads)        # its connection pool (create_app)
    if channel:
        channel_port = channel_port or port + 1
        os.environ["CBT_CHANNEL_PORT"] = str(channel_port)       # the pages' address of it
        # A child of this process (the gunicorn master), in its process group: it stops
        # with the server, and by itself if the server is killed (it watches its parent).
        subprocess.Popen([sys.executable, "-m", "app.cli", "channel", "--host", host,
                          "--port", str(channel_port), "--parent", str(os.getpid())])

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                               "worker_class": "gthread", "timeout": 60, "keepalive": keepalive,
                               # access and error lines on stderr, in LOG_FORMAT
                               "accesslog": "-", "errorlog": "-", "logger_class": GunicornLogger,
                               # gunicorn's control socket is one path per user
                               # (~/.gunicorn/gunicorn.ctl): several servers on one machine
                               # would take it from each other, and nothing here uses it.
                               "control_socket_disable": True,
                               # quiet: gunicorn's start-up lines too (warnings still come)
                               "loglevel": "warning" if access_log == "quiet" else "info"}.items():
                if key in self.cfg.settings:      # control_socket_* is new in gunicorn 25
                    self.cfg.set(key, value)

        def load(self):
            from .. import create_app
            return create_app({"SWEEPER": True})

    click.echo(f"serving on http://{host}:{port}/ with {workers} worker(s) x {threads} thread(s)"
               + (f"; the room's channel on port {channel_port}" if channel else ""))
    Server().run()


@main.command("channel")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True, type=int)
@click.option("--parent", type=int, default=None, hidden=True,
              help="stop when this process is gone (set by `cbt serve`)")
def channel(host: str, port: int, parent: int | None) -> None:
    """The room's channel alone (`cbt serve` starts it): one process holds every exam page's
    event stream. Behind a proxy, route /channel/ to it and set CBT_CHANNEL_URL=/channel."""
    from ..channel.server import run
    run(host, port, parent=parent)
