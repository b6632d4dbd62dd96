"""Form assembly: exact quotas, never an ineligible question, uniform within a topic,
and the same seed giving the same form."""
from __future__ import annotations

import json
from collections import Counter

from click.testing import CliRunner

from scoring.assembly import Assembler
from scoring.bank import load_banks

from app.cli.base import main
from tests.banktools import NEVER_DRAWN, good_bank
from tests.conftest import BANKS


def chi2_critical(df: int, z: float = 3.0902) -> float:
    """Upper 0.1% point of chi-square (Wilson-Hilferty; within 1% of the tables for df >= 5)."""
    h = 2 / (9 * df)
    return df * (1 - h + z * h ** 0.5) ** 3


def chi_square(counts: Counter, categories: list[str]) -> float:
    n = sum(counts[c] for c in categories)
    expected = n / len(categories)
    return sum((counts[c] - expected) ** 2 / expected for c in categories)


def draw(folder, level, seed, count):
    out = CliRunner().invoke(main, ["form", "draw", "--level", level, "--banks", str(folder),
                                    "--seed", str(seed), "--count", str(count)])
    assert out.exit_code == 0, out.output
    return [json.loads(line) for line in out.output.splitlines()]


def test_quotas_kept_and_ineligible_questions_never_drawn(tmp_path):
    folder = good_bank(tmp_path / "b")
    loaded = load_banks(folder)
    for level in ("beginner", "intermediate"):
        quotas = loaded.blueprint.levels[level].quotas
        for form in draw(folder, level, seed=1, count=500):
            ids = [i["id"] for i in form["items"]]
            assert len(ids) == len(set(ids)) == sum(quotas.values())
            assert Counter(i["topic"] for i in form["items"]) == Counter(quotas)
            assert not NEVER_DRAWN & set(ids)
            assert form["level"] == level


def test_uniform_within_each_topic(tmp_path):
    folder = good_bank(tmp_path / "b")
    forms = draw(folder, "beginner", seed=1000, count=3000)
    for prefix in ("B-", "S-"):
        counts = Counter(i["id"] for f in forms for i in f["items"] if i["id"].startswith(prefix))
        categories = [f"{prefix}{i:03d}" for i in range(8)]
        assert set(counts) == set(categories)
        assert chi_square(counts, categories) < chi2_critical(7), counts


def test_starter_banks_draw_uniformly_within_topics():
    loaded = load_banks(BANKS)
    assembler = Assembler(loaded.blueprint, loaded.questions, "beginner")
    counts = Counter()
    for seed in range(2000):
        counts.update(i.id for i in assembler.draw(seed).items)
    for topic, quota, eligible in assembler.pools:
        ids = [q.id for q in eligible]
        assert sum(counts[i] for i in ids) == 2000 * quota
        df = len(ids) - 1
        assert chi_square(counts, ids) < chi2_critical(df), (topic, df)


def test_same_seed_same_form_and_choice_order(tmp_path):
    folder = good_bank(tmp_path / "b")
    a = draw(folder, "intermediate", seed=42, count=1)[0]
    b = draw(folder, "intermediate", seed=42, count=1)[0]
    c = draw(folder, "intermediate", seed=43, count=1)[0]
    assert a == b
    assert a["seed"] == 42 and len(a["bank_version"]) == 64
    assert a["items"] != c["items"]
    # --count K continues from the seed: form i is seed+i, reproducible on its own.
    many = draw(folder, "intermediate", seed=42, count=3)
    assert [f["seed"] for f in many] == [42, 43, 44]
    assert many[1] == c


def test_question_and_choice_order_are_shuffled_unless_pinned(tmp_path):
    folder = good_bank(tmp_path / "b")
    loaded = load_banks(folder)
    assembler = Assembler(loaded.blueprint, loaded.questions, "beginner")
    firsts = Counter(assembler.draw(s).items[0].topic for s in range(300))
    assert len(firsts) == 2                      # the first question is not always one topic
    orders = Counter(i.choice_order for s in range(300) for i in assembler.draw(s).items)
    assert len(orders) == 6                      # all permutations of three choices occur


def test_pinned_choice_order_is_kept(tmp_path):
    folder = good_bank(tmp_path / "b")
    path = folder / "net" / "basics.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "    explanation: 解説\n", "    explanation: 解説\n    shuffle: false\n"), encoding="utf-8")
    loaded = load_banks(folder)
    assert loaded.ok, loaded.problems
    assembler = Assembler(loaded.blueprint, loaded.questions, "beginner")
    for s in range(50):
        for item in assembler.draw(s).items:
            if item.id.startswith("B-"):
                assert item.choice_order == ("a", "b", "c")


def test_form_does_not_depend_on_file_layout(tmp_path):
    a = draw(good_bank(tmp_path / "a"), "beginner", seed=7, count=1)[0]
    folder = good_bank(tmp_path / "b")
    (folder / "net" / "basics.yaml").rename(folder / "zz_basics.yaml")
    b = draw(folder, "beginner", seed=7, count=1)[0]
    assert a == b


def test_unknown_level_is_a_clear_error(tmp_path):
    out = CliRunner().invoke(main, ["form", "draw", "--level", "expert", "--banks",
                                    str(good_bank(tmp_path / "b"))])
    assert out.exit_code == 1
    assert "unknown level 'expert'" in out.output
