"""The runtime commands: demo content, bank versions, the deadline sweep."""
from click.testing import CliRunner

from app.cli import main
from tests.banktools import good_bank


def test_demo_prints_accounts_and_is_repeatable(tmp_path, monkeypatch, fresh_db_url):
    monkeypatch.setenv("CBT_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    first = CliRunner().invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    assert "candidate1" in first.output and "password for all" in first.output
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
