"""The runtime commands: demo content, bank versions, the deadline sweep."""
from click.testing import CliRunner

from app.cli.base import main
from app.extensions import db
from tests.banktools import good_bank
from tests.decisiontools import decision


def test_demo_prints_accounts_and_is_repeatable(tmp_path, monkeypatch, fresh_db_url):
    monkeypatch.setenv("CBT_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    first = CliRunner().invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    assert "candidate1" in first.output and "password for all" in first.output
    assert "candidate1 holds 初級 from the former exam" in first.output
    # The summary for a newcomer: the accounts once, no migration or audit log lines.
    assert first.output.count("candidate1    ") == 1
    assert "alembic" not in first.output and "cbt.audit" not in first.output
    again = CliRunner().invoke(main, ["demo"])
    assert again.exit_code == 0
    # Same banks, same content address: no second version.
    version = [ln for ln in first.output.splitlines() if ln.startswith("bank version")]
    assert version and version == [ln for ln in again.output.splitlines() if ln.startswith("bank version")]
    sweep = CliRunner().invoke(main, ["sweep"])
    assert sweep.exit_code == 0 and "0 attempt(s)" in sweep.output


def test_the_demo_tells_a_whole_story_sit_certify_notice(tmp_path, monkeypatch, fresh_db_url):
    """README's first exam: candidate2 sits 初級 (any answers); the vice-chair finds on the
    review list the demo's 中級 sheet of candidate1 (a pass) and certifies it; head1, the
    head of candidate1's station, reads the notice; candidate1 sees the result."""
    from app import create_app

    monkeypatch.setenv("CBT_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    out = CliRunner().invoke(main, ["demo"])
    assert out.exit_code == 0, out.output
    assert "sat 中級 (45 of 50 right): the sheet waits for certification" in out.output
    app = create_app({"TESTING": True})
    try:
        _walk_the_story(app)
    finally:
        with app.app_context():         # its pool's connections, closed before the next test
            db.session.remove()
            db.engine.dispose()


def _walk_the_story(app):
    import re

    from tests.conftest import Client

    sitter = Client(app)
    sitter.login("candidate2")
    state = sitter.start("beginner")
    assert state["phase"] == "running" and state["count"] == 40

    chair = Client(app)
    chair.login("vicechair")
    listing = chair.get("/committee/review/").get_data(as_text=True)
    sessions = dict((title, int(sid)) for sid, title in re.findall(
        r'href="/committee/review/sessions/(\d+)"[^>]*>([^<]+)<', listing))
    [sid] = [sid for title, sid in sessions.items() if "中級" in title]
    page = chair.get(f"/committee/review/sessions/{sid}").get_data(as_text=True)
    assert "愛知 太郎" in page or "愛知　太郎" in page
    [attempt] = re.findall(r'name="attempt" value="(\d+)"', page)
    done = chair.post_form(f"/committee/review/sessions/{sid}/certify", {"attempt": attempt, **decision(app)},
                           follow_redirects=True).get_data(as_text=True)
    assert "1件を認定しました（合格1件" in done and "合格者名簿に記載" in done

    head = Client(app)
    head.login("head1")
    notices = head.get("/head/").get_data(as_text=True)
    assert "中級" in notices and ("愛知 太郎" in notices or "愛知　太郎" in notices)

    candidate = Client(app)
    candidate.login("candidate1")
    home = candidate.get("/exam/").get_data(as_text=True)
    assert "45/50問正解" in home and "中級 合格" in home


def test_bank_load_refuses_a_broken_bank_whole(tmp_path, monkeypatch, fresh_db_url):
    monkeypatch.setenv("CBT_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    folder = good_bank(tmp_path / "b")
    ok = CliRunner().invoke(main, ["bank", "load", "--banks", str(folder)])
    assert ok.exit_code == 0 and "bank version" in ok.output
    (folder / "broken.yaml").write_text("- id: [", encoding="utf-8")
    bad = CliRunner().invoke(main, ["bank", "load", "--banks", str(folder)])
    assert bad.exit_code == 1
    assert "broken.yaml:1" in bad.output


def test_health_and_readiness(app):
    c = app.test_client()
    assert c.get("/healthz").json == {"status": "ok"}
    assert c.get("/readyz").json == {"status": "ok"}


def test_each_actor_lands_on_their_page(app):
    from tests.conftest import Client
    for user, endpoint in (("candidate1", "/exam/"), ("author1", "/author/"), ("committee1", "/committee/review/"),
                           ("vicechair", "/committee/sessions/"), ("chair", "/committee/sessions/"),
                           ("head1", "/head/"), ("secretariat1", "/admin/")):
        c = Client(app)
        c.login(user)
        resp = c.get("/")
        assert resp.status_code == 302 and resp.location.endswith(endpoint), (user, resp.location)
        assert c.get(resp.location).status_code == 200, user
