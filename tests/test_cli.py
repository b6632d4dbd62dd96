"""The runtime commands: demo content, bank versions, the deadline sweep."""
from click.testing import CliRunner

from app.cli.base import main
from tests.banktools import good_bank


def test_demo_prints_accounts_and_is_repeatable(tmp_path, monkeypatch, fresh_db_url):
    monkeypatch.setenv("CBT_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    first = CliRunner().invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    assert "candidate1" in first.output and "password for all" in first.output
    assert "candidate1 holds 初級 from the former exam" in first.output
    again = CliRunner().invoke(main, ["demo"])
    assert again.exit_code == 0
    # Same banks, same content address: no second version.
    version = [ln for ln in first.output.splitlines() if ln.startswith("bank version")]
    assert version and version == [ln for ln in again.output.splitlines() if ln.startswith("bank version")]
    sweep = CliRunner().invoke(main, ["sweep"])
    assert sweep.exit_code == 0 and "0 attempt(s)" in sweep.output


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
