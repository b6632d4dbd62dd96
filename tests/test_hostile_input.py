"""Hostile input: YAML alias bombs and XML entities. Each gets a clear refusal that says what
and where, at once."""
from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from app.cli import main
from scoring import yamlsrc
from tests.banktools import good_bank, question
from tests.registertools import signed_in
from tests.test_interop import bank_folder, run_import


# ---- YAML banks ------------------------------------------------------------------------------

def alias_bomb(depth: int = 9) -> str:
    """A billion laughs: 9**depth strings from a file of about 1 KB, as a question's id."""
    lines = ['- id: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"  x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, depth)]
    lines += [f"- id: *a{depth - 1}"]
    return "\n".join(lines) + "\n"


def validate(folder):
    result = CliRunner().invoke(main, ["bank", "validate", "--banks", str(folder)])
    return result.exit_code, result.output


def test_an_alias_bomb_is_refused_at_once_with_its_line(tmp_path):
    folder = good_bank(tmp_path / "b")
    (folder / "bomb.yaml").write_text(alias_bomb(), encoding="utf-8")
    started = time.monotonic()
    code, out = validate(folder)
    assert time.monotonic() - started < 5          # it used to take gigabytes and minutes
    assert code == 1
    assert f"{folder / 'bomb.yaml'}:1: YAML anchors and aliases (&name / *name) are not allowed in bank files" in out
    started = time.monotonic()
    with pytest.raises(yamlsrc.YamlSyntaxError):
        yamlsrc.load(alias_bomb(12))
    assert time.monotonic() - started < 0.5


def test_a_small_alias_is_refused_too_and_the_blueprint_alike(tmp_path):
    body = question("AL-1") + "  - id: AL-2\n    area: net\n    topic: &t basics\n    levels: [beginner]\n"
    folder = good_bank(tmp_path / "b")
    (folder / "alias.yaml").write_text(body, encoding="utf-8")
    code, out = validate(folder)
    assert code == 1
    line = body[: body.index("&t")].count("\n") + 1
    assert f"{folder / 'alias.yaml'}:{line}: YAML anchors and aliases" in out
    blueprint = (folder / "blueprint.yaml").read_text(encoding="utf-8")
    (folder / "blueprint.yaml").write_text(blueprint.replace("deep: {name: 応用, from: intermediate}",
                                                             "deep: *x"), encoding="utf-8")
    code, out = validate(folder)
    assert code == 1
    line = blueprint[: blueprint.index("deep:")].count("\n") + 1
    assert f"{folder / 'blueprint.yaml'}:{line}: YAML anchors and aliases" in out


def test_the_author_page_shows_an_alias_bomb_instead_of_failing(app, tmp_path):
    folder = good_bank(tmp_path / "b")
    (folder / "bomb.yaml").write_text(alias_bomb(), encoding="utf-8")
    app.config["BANKS_DIR"] = str(folder)
    c = signed_in(app, "author1")
    started = time.monotonic()
    resp = c.get("/author/")
    assert time.monotonic() - started < 5
    assert resp.status_code == 200
    assert "YAML anchors and aliases (&amp;name / *name) are not allowed in bank files" in resp.get_data(as_text=True)


# ---- Moodle XML ----------------------------------------------------------------------------

def test_moodle_xml_external_entities_are_refused(tmp_path):
    """The Moodle XML reader refuses any DOCTYPE before expat could read an entity."""
    xxe = tmp_path / "xxe.xml"
    xxe.write_text('<?xml version="1.0"?>\n<!DOCTYPE quiz [\n<!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n'
                   '<quiz><question type="truefalse"><name><text>&x;</text></name></question></quiz>\n',
                   encoding="utf-8")
    folder = bank_folder(tmp_path / "banks")
    result = run_import(xxe, folder, folder / "xxe.yaml", "X")
    assert result.exit_code == 1 and not (folder / "xxe.yaml").exists()
    assert f"{xxe}:2: a DOCTYPE declaration refused" in result.stderr
    assert "root:" not in result.output
