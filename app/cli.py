"""The `cbt` command: bank checks and form draws for authors and outside checks, and the
running of the engine for the secretariat. Bank commands need no database or server."""
from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager

import click

from scoring.assembly import Assembler, AssemblyError, new_seed
from scoring.bank import default_bank_folder, load_banks, relpath_for_display
from scoring.keyspread import RULE as KEY_RULE
from scoring.keyspread import level_spreads

BANKS_HELP = "bank folder holding blueprint.yaml (default: the bundled question_banks/)"


def _banks_option(f):
    return click.option("--banks", "banks", type=click.Path(file_okay=False), default=None,
                        help=BANKS_HELP)(f)


def resolve_banks(banks: str | None) -> str:
    return banks or os.environ.get("CBT_BANKS") or str(default_bank_folder())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Cyber response capability certification CBT engine (サイバー対処能力検定)."""


@main.group()
def bank() -> None:
    """Question banks."""


@bank.command("validate")
@_banks_option
def bank_validate(banks: str | None) -> None:
    """Check the blueprint and every bank; one FILE:LINE: message per problem."""
    folder = resolve_banks(banks)
    loaded = load_banks(folder)
    for p in sorted(loaded.problems + loaded.warnings, key=lambda p: (p.file, p.line, p.warning)):
        click.echo(f"{relpath_for_display(p.file)}:{p.line}: "
                   f"{'warning: ' if p.warning else ''}{p.message}")
    if loaded.blueprint:
        counts = {"exam": 0, "practice": 0}
        for q in loaded.questions.values():
            counts[q.pool] += 1
        click.echo("")
        click.echo(f"{len(loaded.questions)} questions ({counts['exam']} exam pool, "
                   f"{counts['practice']} practice pool) in {folder}")
        if loaded.ok:
            click.echo(f"bank version {loaded.version()[:12]}")
        click.echo("")
        click.echo("coverage: quota / approved exam-pool questions available")
        rows = loaded.coverage()
        width = max((len(r[2]) for r in rows), default=10)
        current = None
        for lkey, area, topic, quota, available in rows:
            lv = loaded.blueprint.levels[lkey]
            if lkey != current:
                current = lkey
                note = "" if lv.delivered else "  (not delivered here: quotas not enforced)"
                click.echo(f"{lkey} ({lv.name}): {lv.questions} questions, {lv.minutes} minutes{note}")
            mark = "" if available >= quota else ("  SHORT" if lv.delivered else "  short")
            click.echo(f"  {area:<10} {topic:<{width}} {quota:>4} / {available:<4}{mark}")
        skewed = _echo_key_spread(loaded)
    else:
        skewed = 0
    n, w = len(loaded.problems), len(loaded.warnings) + skewed
    click.echo("")
    click.echo(f"{n} problem{'s' if n != 1 else ''}, {w} warning{'s' if w != 1 else ''}")
    sys.exit(1 if n else 0)


def _echo_key_spread(loaded) -> int:
    """The key-spread table after the coverage table; returns how many warnings it printed.
    A warning concerns a level, so it points at the level in blueprint.yaml."""
    click.echo("")
    click.echo("answer keys: approved exam-pool questions right under each choice key (count,")
    click.echo("  its share of the questions / the share expected from the choices offered)")
    bp_path = relpath_for_display(os.path.join(loaded.folder, "blueprint.yaml"))
    warnings = 0
    for lkey, spreads in level_spreads(loaded.blueprint, loaded.questions.values()).items():
        if not spreads:
            continue
        lv = loaded.blueprint.levels[lkey]
        click.echo(f"{lkey} ({lv.name})")
        for s in spreads:
            cells = "  ".join(f"{k.key} {k.correct:>3} ({_pct(k.correct, s.questions)}/"
                              f"{_pct(k.expected, s.questions)})" for k in s.keys)
            click.echo(f"  {s.qtype:<8} {s.questions:>4}:  {cells}")
        for s in spreads:
            for k in s.skewed():
                warnings += 1
                click.echo(f"{bp_path}:{lv.line}: warning: level '{lkey}': key '{k.key}' is right "
                           f"in {k.correct} of {s.questions} {s.qtype}-choice questions, "
                           f"{k.expected:.1f} expected (p = {k.p_value:.1g}); move right answers "
                           f"to other keys")
    click.echo(f"rule: {KEY_RULE}; a warning never changes the exit status")
    return warnings


def _pct(part: float, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "-"


@main.group()
def form() -> None:
    """Exam forms."""


@form.command("draw")
@click.option("--level", required=True, help="beginner, intermediate, advanced (blueprint keys)")
@_banks_option
@click.option("--seed", type=int, default=None, help="seed of the first form; form i uses seed+i")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True)
def form_draw(level: str, banks: str | None, seed: int | None, count: int) -> None:
    """Draw forms exactly as a live session does; one JSON line per form."""
    loaded = load_banks(resolve_banks(banks))
    if not loaded.ok:
        for p in loaded.problems:
            click.echo(f"{relpath_for_display(p.file)}:{p.line}: {p.message}", err=True)
        click.echo("the banks have problems; no form is drawn (run: cbt bank validate)", err=True)
        sys.exit(1)
    try:
        assembler = Assembler(loaded.blueprint, loaded.questions, level)
    except AssemblyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    version = loaded.version()
    out = sys.stdout
    for i in range(count):
        form_ = assembler.draw(new_seed() if seed is None else seed + i)
        out.write(json.dumps({
            "seed": form_.seed, "level": form_.level, "bank_version": version,
            "items": [{"id": it.id, "area": it.area, "topic": it.topic,
                       "choice_order": list(it.choice_order)} for it in form_.items],
        }, ensure_ascii=False) + "\n")


# ---- running the engine ---------------------------------------------------------------

@contextmanager
def app_context():
    """An app context for one command; its connections are closed when it ends."""
    from . import create_app
    from .extensions import db
    app = create_app()
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


@bank.command("load")
@_banks_option
def bank_load(banks: str | None) -> None:
    """Store the banks as a new version (refused whole if any problem)."""
    from . import schema
    from .banks import BankError, import_banks
    from .extensions import db
    with app_context() as app:
        schema.upgrade()
        try:
            version = import_banks(resolve_banks(banks))
        except BankError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        db.session.commit()
        click.echo(f"bank version {version.short} ({version.question_count} questions)")


@main.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or upgrade the schema; every record is kept."""
    from . import schema
    from .extensions import db
    with app_context():
        before = schema.current_revision()
        schema.upgrade(revision)
        after = schema.current_revision()
        shown = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"{shown}: {before or 'empty'} -> {after}")


@db_group.command("current")
def db_current() -> None:
    """Show the schema revision of the database and the newest one the code knows."""
    from . import schema
    with app_context():
        click.echo(f"database: {schema.current_revision() or 'empty'}; code: {schema.head_revision()}")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """For developers: write a migration for the models' changes (review it before use)."""
    from . import schema
    with app_context():
        schema.autogenerate(message)


@main.command("init-db")
def init_db() -> None:
    """Create the database tables (same as `cbt db upgrade`)."""
    from . import schema
    from .extensions import db
    with app_context():
        schema.upgrade()
        shown = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"database ready: {shown}")


@main.command("demo")
@_banks_option
def demo(banks: str | None) -> None:
    """Create the database with the starter banks, demo accounts and open sessions."""
    from .demo import seed_demo
    with app_context() as app:
        lines = seed_demo(resolve_banks(banks))
    for line in lines:
        click.echo(line)


@main.command("sweep")
def sweep() -> None:
    """Submit and score every attempt whose deadline has passed."""
    from .exam import finalize_expired
    from .models import utcnow
    with app_context() as app:
        n = finalize_expired(utcnow())
    click.echo(f"{n} attempt(s) submitted at their deadline")


def default_workers(servers_here: int = 1) -> int:
    """gunicorn processes for one server: 2 per core of the machine (a thread that waits for
    the database leaves the core to another process), the cores shared out when several
    app servers run on the one machine (more processes than that only contend: measured
    in bench/README.md)."""
    return max(1, 2 * (os.cpu_count() or 1) // servers_here)


# Threads per gunicorn worker. The saves that queue while a thread of the process writes
# go in the next writer's one statement or transaction (exam._GroupCommit), so more
# threads make bigger batches: at saturation 16 stored 1.3 times as many saves a second
# as 4 on both databases, and the trivial request lost up to 6% (bench/README.md).
DEFAULT_THREADS = 16


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
def serve(host: str, port: int, workers: int | None, threads: int, keepalive: int,
          log_format: str) -> None:
    """Run the engine under gunicorn, as in production."""
    from gunicorn.app.base import BaseApplication

    from .logs import GunicornLogger

    workers = workers or default_workers()
    # Read by gunicorn's logger here and by the app in each worker (create_app).
    os.environ["LOG_FORMAT"] = log_format
    os.environ["CBT_THREADS"] = str(threads)        # its connection pool (create_app)

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                               "worker_class": "gthread", "timeout": 60, "keepalive": keepalive,
                               # access and error lines on stderr, in LOG_FORMAT
                               "accesslog": "-", "errorlog": "-", "logger_class": GunicornLogger,
                               # gunicorn's control socket is one path per user
                               # (~/.gunicorn/gunicorn.ctl): several servers on one machine
                               # would take it from each other, and nothing here uses it.
                               "control_socket_disable": True}.items():
                if key in self.cfg.settings:      # control_socket_* is new in gunicorn 25
                    self.cfg.set(key, value)

        def load(self):
            from . import create_app
            return create_app({"SWEEPER": True})

    click.echo(f"serving on http://{host}:{port}/ with {workers} worker(s) x {threads} thread(s)")
    Server().run()


from .cli_stats import stats  # noqa: E402  (kept in its own module: analysis on any response file)

main.add_command(stats)

from .cli_interop import export_cmd, import_cmd  # noqa: E402  (Moodle XML / GIFT in, QTI 2.1 out)

bank.add_command(import_cmd)
bank.add_command(export_cmd)
from .cli_people import affiliations_group, staff_group  # noqa: E402  (secretariat batch work)
from .cli_register import passes, register, training  # noqa: E402  (register, special passes, training)

main.add_command(staff_group)
main.add_command(affiliations_group)
main.add_command(passes)
main.add_command(training)
main.add_command(register)

from .cli_backup import backup_cmd, restore_cmd  # noqa: E402  (database backups: app/backup.py)

main.add_command(backup_cmd)
main.add_command(restore_cmd)

if __name__ == "__main__":
    main()
