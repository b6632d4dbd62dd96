"""`cbt bank validate`: every fault as FILE:LINE: message, exit 1, and nothing half-loaded."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from scoring.bank import load_banks

from app.cli.base import main
from tests.banktools import BLUEPRINT, good_bank, question, write_bank
from tests.conftest import BANKS


def validate(folder):
    result = CliRunner().invoke(main, ["bank", "validate", "--banks", str(folder)])
    return result.exit_code, result.output


def test_starter_banks_are_valid_and_cover_every_quota():
    code, out = validate(BANKS)
    assert code == 0, out
    assert "0 problems" in out
    loaded = load_banks(BANKS)
    for level in ("beginner", "intermediate"):
        rows = [r for r in loaded.coverage() if r[0] == level]
        assert rows, level
        for _lv, _area, topic, quota, available in rows:
            # Issue: at least twice each topic's default quota in the exam pool.
            assert available >= 2 * quota, (level, topic, quota, available)


def test_starter_banks_have_practice_questions_and_every_type():
    loaded = load_banks(BANKS)
    qs = loaded.questions.values()
    assert {q.type for q in qs} == {"single", "multiple", "true_false", "text"}
    for topic in loaded.blueprint.topics:
        if topic == "response_advisory":
            continue
        assert any(q.topic == topic and q.pool == "practice" for q in qs), topic
        assert all(q.explanation.strip() for q in qs if q.topic == topic)


def test_a_good_bank_passes_with_a_coverage_table(tmp_path):
    code, out = validate(good_bank(tmp_path / "b"))
    assert code == 0, out
    # Per level, each in-scope topic's quota beside what is available.
    assert re.search(r"beginner .*\n\s+net\s+basics\s+3 / 8", out), out
    assert re.search(r"intermediate .*\n(.*\n)*\s+net\s+deep\s+2 / 8", out), out


def planted(tmp_path, body: str, name="bad.yaml"):
    folder = good_bank(tmp_path / "b")
    (folder / name).write_text(body, encoding="utf-8")
    return folder, str(folder / name)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def assert_reported(out: str, path: str, line: int, words: str):
    pattern = re.escape(f"{path}:{line}: ") + ".*" + re.escape(words)
    assert re.search(pattern, out), f"expected {path}:{line}: ...{words} in\n{out}"


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    body = question("Y-1") + "  - id: Y-2\n    stem: [unclosed\n    answer: a\n"
    folder, path = planted(tmp_path, body)
    code, out = validate(folder)
    assert code == 1
    assert re.search(re.escape(path) + r":(1[0-9]|2[0-9]): YAML syntax error", out), out


def test_unknown_key(tmp_path):
    body = question("K-1", extra="    difficulty: hard\n")
    folder, path = planted(tmp_path, body)
    code, out = validate(folder)
    assert code == 1
    assert_reported(out, path, line_of(body, "difficulty"), "unknown key 'difficulty'")


def test_duplicate_ids_across_files(tmp_path):
    body = question("B-001")
    folder, path = planted(tmp_path, body)
    code, out = validate(folder)
    assert code == 1
    # Reported at the later of the two, naming the other: both places are in the line.
    line = next(ln for ln in out.splitlines() if "duplicate id 'B-001'" in ln)
    assert f"{path}:1" in line
    assert re.search(r"net/basics\.yaml:15\b", line), line


@pytest.mark.parametrize("kwargs,needle,words", [
    ({"area": "nowhere"}, "area: nowhere", "unknown area 'nowhere'"),
    ({"topic": "cooking"}, "topic: cooking", "unknown topic 'cooking'"),
    ({"topic": "statutes"}, "topic: statutes", "belongs to area 'law'"),
    ({"levels": "[beginner, expert]"}, "levels:", "unknown level 'expert'"),
    ({"answer": "d"}, "answer: d", "answer 'd' is not among the choices"),
    ({"qtype": "multiple", "answer": "[a, z]"}, "answer: [a, z]", "not among the choices"),
    ({"qtype": "essay"}, "type: essay", "unknown type 'essay'"),
    ({"status": "live"}, "status: live", "unknown status 'live'"),
    ({"pool": "both"}, "pool: both", "unknown pool 'both'"),
    ({"qtype": "true_false", "answer": "maybe"}, "answer: maybe", "answer is true or false"),
])
def test_field_faults_point_at_their_line(tmp_path, kwargs, needle, words):
    body = question("F-1", **kwargs)
    folder, path = planted(tmp_path, body)
    code, out = validate(folder)
    assert code == 1, out
    assert_reported(out, path, line_of(body, needle), words)


def test_missing_field_points_at_the_question(tmp_path):
    body = question("M-1").replace("    explanation: 解説\n", "")
    folder, path = planted(tmp_path, body)
    code, out = validate(folder)
    assert code == 1
    assert_reported(out, path, 1, "missing 'explanation'")


def test_too_few_questions_for_a_quota(tmp_path):
    folder = good_bank(tmp_path / "b", per_topic=2)    # basics quota at beginner is 3
    code, out = validate(folder)
    assert code == 1
    bp = str(folder / "blueprint.yaml")
    assert_reported(out, bp, line_of(BLUEPRINT, "beginner:"), "topic 'basics' needs 3")
    assert "SHORT" in out


def test_drafts_and_practice_do_not_count_toward_quotas(tmp_path):
    basics = "".join(question(f"B-{i}", status="draft") for i in range(5)) + \
        "".join(question(f"P-{i}", pool="practice") for i in range(5))
    folder = good_bank(tmp_path / "b")
    (folder / "net" / "basics.yaml").write_text(basics, encoding="utf-8")
    code, out = validate(folder)
    assert code == 1
    assert "topic 'basics' needs 3 approved exam-pool questions for its quota but the banks have 0" in out


def test_blueprint_faults_name_their_line(tmp_path):
    bp = BLUEPRINT.replace("beginner: {questions: 6, minutes: 10}",
                           "beginner: {questions: 6, minutes: ten}")
    folder = write_bank(tmp_path / "b", {}, blueprint=bp)
    code, out = validate(folder)
    assert code == 1
    assert_reported(out, str(folder / "blueprint.yaml"), 2, "'minutes' must be a positive whole number")


def test_a_zero_quota_is_refused(tmp_path):
    bp = BLUEPRINT.replace("beginner: {questions: 6, minutes: 10}",
                           "beginner:\n    questions: 6\n    quotas: {basics: 0}")
    folder = good_bank(tmp_path / "b")
    (folder / "blueprint.yaml").write_text(bp, encoding="utf-8")
    code, out = validate(folder)
    assert code == 1
    assert "every in-scope topic is represented" in out


def test_duplicate_yaml_keys_are_reported(tmp_path):
    body = question("DK-1").replace("    pool: exam\n", "    pool: exam\n    pool: practice\n")
    folder, path = planted(tmp_path, body)
    code, out = validate(folder)
    assert code == 1
    assert_reported(out, path, line_of(body, "pool: practice"), "duplicate key 'pool'")


def test_a_bank_with_an_error_is_never_used(tmp_path):
    folder, _ = planted(tmp_path, question("Z-1", answer="q"))
    loaded = load_banks(folder)
    assert not loaded.ok
    result = CliRunner().invoke(main, ["form", "draw", "--level", "beginner", "--banks", str(folder)])
    assert result.exit_code == 1
    assert '"items"' not in result.output


def test_file_level_defaults_are_inherited(tmp_path):
    body = ("area: net\ntopic: basics\nlevels: [beginner]\nquestions:\n"
            "  - id: H-1\n    type: true_false\n    pool: exam\n    status: approved\n"
            "    stem: s\n    answer: true\n    explanation: e\n")
    folder, _ = planted(tmp_path, body)
    loaded = load_banks(folder)
    assert loaded.ok, loaded.problems
    q = loaded.questions["H-1"]
    assert (q.area, q.topic, q.levels) == ("net", "basics", ("beginner",))


def test_version_ignores_layout_and_comments(tmp_path):
    a = load_banks(good_bank(tmp_path / "a")).version()
    folder = good_bank(tmp_path / "b")
    text = (folder / "net" / "basics.yaml").read_text(encoding="utf-8")
    (folder / "net" / "basics.yaml").unlink()
    (folder / "moved.yaml").write_text("# moved here\n" + text, encoding="utf-8")
    assert load_banks(folder).version() == a
    (folder / "moved.yaml").write_text(text.replace("問題 B-000", "問題 B-000 改"), encoding="utf-8")
    assert load_banks(folder).version() != a
