"""Item statistics: a hand-worked example, an independent reference on random data,
flags, too few sheets, the mastery note, random forms and the `cbt stats` CSV checks."""
import csv
import io
import json
import math
import random
import statistics
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from scoring import stats as st_mod
from scoring.stats import BLANK, Response, analyse, parse_responses

from app.cli.stats import stats

# ---- helpers --------------------------------------------------------------------------


def write_csv(path, rows, header=("candidate", "item", "choice", "correct")):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.candidate, r.item, r.choice or "", int(r.correct)])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def run_json(path, *extra):
    result = CliRunner().invoke(stats, ["--responses", str(path), "--json", *extra])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


def from_table(table, choices=None):
    """{candidate: {item: 0/1}} (and optional choices) -> Responses."""
    out = []
    for cand, row in table.items():
        for item, x in row.items():
            choice = (choices or {}).get((cand, item), "a" if x else "b")
            out.append(Response(cand, item, choice, bool(x)))
    return out


# ---- a hand-worked example ------------------------------------------------------------
#
# Six candidates, three items (keys A:a, B:b, C:c; "" = unanswered):
#
#        A      B      C     total
#   c1   a 1    b 1    c 1    3
#   c2   a 1    b 1    a 0    2
#   c3   a 1    a 0    c 1    2
#   c4   a 1    - 0    b 0    1
#   c5   b 0    b 1    a 0    1
#   c6   - 0    c 0    - 0    0
#
# mean = 9/6 = 1.5; sum X^2 = 19; population variance = 19/6 - 2.25 = 11/12;
#   sd = sqrt(11/12) = 0.957427
# p: A 4/6 = .666667, B 3/6 = .5, C 2/6 = .333333; p*q: 2/9, 1/4, 2/9; sum = 25/36
# KR-20 = 3/2 * (1 - (25/36)/(11/12)) = 3/2 * (1 - 25/33) = 4/11 = 0.363636
# SEM = sqrt(11/12) * sqrt(1 - 4/11) = sqrt(7/12) = 0.763763
# Corrected point-biserial, A: x = 1,1,1,1,0,0; rest y = 2,1,1,0,1,0.
#   cov = 4/6 - (4/6)(5/6) = 1/9; var x = 2/9; var y = 7/6 - 25/36 = 17/36
#   r = (1/9) / sqrt(2/9 * 17/36) = 2/sqrt(34) = 0.342997
# B: x = 1,1,0,0,1,0; y = 2,1,2,1,0,0: cov = 3/6 - (1/2)(1) = 0, r = 0
# C: x = 1,0,1,0,0,0; y = 2,2,1,1,1,0: cov = 3/6 - (1/3)(7/6) = 1/9; var y = 11/6 - 49/36
#   = 17/36; r = 2/sqrt(34) = 0.342997
# Groups: g = 27% of 6 = 1.62 -> 2. Ranking (total desc, id asc): c1 c2 c3 c4 c5 c6;
#   upper c1,c2; lower c5,c6 (c4 and c5 tie on 1: the larger id, c5, is the lower one).
# D: A (2-0)/2 = 1.0; B (2-1)/2 = 0.5 (with c4 in the lower group it would be 1.0);
#   C (1-0)/2 = 0.5
# Pass (70%): only c1 (3/3); 2/3 = 66.7% fails. pass rate 1/6.

TINY = """candidate,item,choice,correct
c1,A,a,1
c1,B,b,1
c1,C,c,1
c2,A,a,1
c2,B,b,1
c2,C,a,0
c3,A,a,1
c3,B,a,0
c3,C,c,1
c4,A,a,1
c4,B,,0
c4,C,b,0
c5,A,b,0
c5,B,b,1
c5,C,a,0
c6,A,,0
c6,B,c,0
c6,C,,0
"""


def test_hand_worked_example():
    report = analyse(parse_responses(TINY), min_candidates=5,
                     choices_of={"A": ["a", "b", "c"], "B": ["a", "b", "c"], "C": ["a", "b", "c"]})
    assert report.sufficient and (report.n, report.k) == (6, 3)
    assert report.mean == pytest.approx(1.5)
    assert report.sd == pytest.approx(math.sqrt(11 / 12))          # 0.957427
    assert report.kr20 == pytest.approx(4 / 11)                     # 0.363636
    assert report.sem == pytest.approx(math.sqrt(7 / 12))           # 0.763763
    assert report.pass_rate == pytest.approx(1 / 6) and report.passed == 1
    a, b, c = (report.items[i] for i in "ABC")
    assert (a.p, b.p, c.p) == pytest.approx((2 / 3, 1 / 2, 1 / 3))
    assert a.point_biserial == pytest.approx(2 / math.sqrt(34))     # 0.342997
    assert b.point_biserial == pytest.approx(0.0, abs=1e-12)
    assert c.point_biserial == pytest.approx(2 / math.sqrt(34))
    assert (a.upper_lower_d, b.upper_lower_d, c.upper_lower_d) == (1.0, 0.5, 0.5)
    assert a.exposure == b.exposure == c.exposure == 6
    assert a.keys == ("a",) and b.keys == ("b",)
    assert a.choice_counts == {"a": {"all": 4, "upper": 2, "lower": 0},
                               "b": {"all": 1, "upper": 0, "lower": 1},
                               "c": {"all": 0, "upper": 0, "lower": 0},
                               BLANK: {"all": 1, "upper": 0, "lower": 1}}
    assert b.choice_counts == {"a": {"all": 1, "upper": 0, "lower": 0},
                               "b": {"all": 3, "upper": 2, "lower": 1},
                               "c": {"all": 1, "upper": 0, "lower": 1},
                               BLANK: {"all": 1, "upper": 0, "lower": 0}}
    assert a.flags == ("distractor 'c' never chosen",)
    assert b.flags == ("discrimination<0.2",)
    assert c.flags == ()
    assert not any("few candidates fail" in n for n in report.notes)   # 5 of 6 fail


def test_hand_worked_example_from_the_command_line(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text(TINY, encoding="utf-8")
    out = run_json(path, "--min-candidates", "5")
    assert set(out) == {"test", "items"}
    assert set(out["test"]) == {"n", "k", "mean", "sd", "kr20", "sem", "pass_rate", "notes",
                                "sufficient"}
    assert list(out["items"]) == ["A", "B", "C"]
    assert set(out["items"]["A"]) >= {"p", "point_biserial", "upper_lower_d", "choice_counts",
                                      "exposure", "flags"}
    assert out["test"]["kr20"] == 4 / 11 or abs(out["test"]["kr20"] - 4 / 11) < 1e-12  # not rounded
    assert out["items"]["A"]["point_biserial"] == pytest.approx(2 / math.sqrt(34), abs=1e-12)
    assert out["items"]["B"]["choice_counts"][BLANK] == {"all": 1, "upper": 0, "lower": 0}
    assert any("choice sets not given" in n for n in out["test"]["notes"])
    # With the choices every item offers, the unpicked distractor shows.
    out = run_json(path, "--min-candidates", "5", "--choices", "a,b,c")
    assert out["items"]["A"]["flags"] == ["distractor 'c' never chosen"]
    table = CliRunner().invoke(stats, ["--responses", str(path), "--min-candidates", "5"])
    assert table.exit_code == 0
    assert "KR-20: 0.364" in table.stdout and "discrimination<0.2" in table.stdout


# ---- an independent reference on random fixed-form data -------------------------------

def half_up(x: Decimal) -> int:
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def reference(ids, items, score, choice):
    """Textbook CTT from the score matrix, written apart from scoring.stats: the
    `statistics` module for variances and correlations, sorting for the 27% groups."""
    n, k = len(ids), len(items)
    totals = [sum(score[c][i] for i in items) for c in ids]
    var_x = statistics.pvariance(totals)
    item_var = sum(statistics.pvariance([score[c][i] for c in ids]) for i in items)
    kr20 = k / (k - 1) * (1 - item_var / var_x) if var_x and k > 1 else None
    test = {"n": n, "k": k, "mean": statistics.fmean(totals), "sd": statistics.pstdev(totals),
            "kr20": kr20,
            "sem": statistics.pstdev(totals) * math.sqrt(max(0.0, 1 - kr20))
            if kr20 is not None else None}
    ranked = [c for _, c in sorted(zip((-t for t in totals), ids))]
    g = half_up(Decimal(n) * Decimal("0.27"))
    upper, lower = set(ranked[:g]), set(ranked[len(ranked) - g:])
    per_item = {}
    for i in items:
        col = [score[c][i] for c in ids]
        rest = [t - x for t, x in zip(totals, col)]
        try:
            r = statistics.correlation(col, rest)
        except statistics.StatisticsError:
            r = None
        d = (sum(score[c][i] for c in upper) - sum(score[c][i] for c in lower)) / g
        counts = {}
        for group, name in ((ids, "all"), (upper, "upper"), (lower, "lower")):
            for ch, cnt in Counter(choice[c][i] or BLANK for c in group).items():
                counts.setdefault(ch, {"all": 0, "upper": 0, "lower": 0})[name] = cnt
        per_item[i] = {"p": statistics.fmean(col), "point_biserial": r, "upper_lower_d": d,
                       "choice_counts": counts}
    return test, per_item


def random_fixed_form(seed, n=50, k=20):
    rng = random.Random(seed)
    ids = [f"cand{j}" for j in range(n)]                  # string order != numeric order
    items = [f"Q{i:02d}" for i in range(k)]
    ability = {c: rng.gauss(0, 1) for c in ids}
    difficulty = {i: rng.uniform(-1.8, 1.8) for i in items}
    key = {i: rng.choice("abcd") for i in items}
    score, choice = {}, {}
    for c in ids:
        score[c], choice[c] = {}, {}
        for i in items:
            prob = 1 / (1 + math.exp(-1.7 * (ability[c] - difficulty[i])))
            right = rng.random() < prob
            score[c][i] = int(right)
            if right:
                choice[c][i] = key[i]
            else:
                choice[c][i] = rng.choice([ch for ch in "abcd" if ch != key[i]] + [""])
    return ids, items, score, choice


def assert_close(actual, expected):
    if expected is None:
        assert actual is None
    else:
        assert actual == pytest.approx(expected, abs=5e-4)     # agree to 3 decimals


@pytest.mark.parametrize("seed", [1, 2, 3, 42, 2024])
def test_matches_an_independent_reference_on_random_data(tmp_path, seed):
    ids, items, score, choice = random_fixed_form(seed)
    rows = [Response(c, i, choice[c][i] or None, bool(score[c][i])) for c in ids for i in items]
    random.Random(seed).shuffle(rows)                     # file order must not matter
    out = run_json(write_csv(tmp_path / "r.csv", rows))
    ref_test, ref_items = reference(ids, items, score, choice)
    assert out["test"]["sufficient"] is True
    assert (out["test"]["n"], out["test"]["k"]) == (50, 20)
    for name in ("mean", "sd", "kr20", "sem"):
        assert_close(out["test"][name], ref_test[name])
    assert out["test"]["pass_rate"] == pytest.approx(
        sum(1 for c in ids if sum(score[c].values()) * 10 >= 7 * len(items)) / len(ids))
    for i in items:
        got, ref = out["items"][i], ref_items[i]
        for name in ("p", "point_biserial", "upper_lower_d"):
            assert_close(got[name], ref[name])
        assert got["exposure"] == 50
        assert {ch: v for ch, v in got["choice_counts"].items() if v["all"]} == ref["choice_counts"]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=2, max_value=8).flatmap(lambda k: st.lists(
    st.lists(st.integers(0, 1), min_size=k, max_size=k), min_size=10, max_size=30)))
def test_reference_agrees_on_small_and_degenerate_matrices(matrix):
    ids = [f"s{j}" for j in range(len(matrix))]
    items = [f"i{x}" for x in range(len(matrix[0]))]
    score = {c: dict(zip(items, row)) for c, row in zip(ids, matrix)}
    choice = {c: {i: ("a" if score[c][i] else "b") for i in items} for c in ids}
    report = analyse([Response(c, i, choice[c][i], bool(score[c][i])) for c in ids for i in items])
    ref_test, ref_items = reference(ids, items, score, choice)
    for name in ("mean", "sd", "kr20", "sem"):
        assert_close(getattr(report, name), ref_test[name])
    for i in items:
        for name in ("p", "point_biserial", "upper_lower_d"):
            assert_close(getattr(report.items[i], name), ref_items[i][name])


# ---- flags ----------------------------------------------------------------------------

def crafted():
    """20 candidates s01..s20, s20 strongest. Six Guttman items make the rest score."""
    table = {}
    for j in range(1, 21):
        row = {f"G{t}": int(j > t) for t in (4, 6, 8, 10, 12, 14)}
        row["EASY"] = 1                        # p = 1
        row["HARD"] = int(j >= 19)             # p = 0.1, and it discriminates
        row["NEG"] = int(j <= 10)              # the weak get it right
        row["UNPICKED"] = int(j > 9)           # fine, but distractor d is never chosen
        row["P95"] = int(j > 1)                # p = 0.95 exactly: not flagged
        row["P20"] = int(j > 16)               # p = 0.2 exactly: not flagged
        table[f"s{j:02d}"] = row
    choices = {(c, "UNPICKED"): ("a" if x["UNPICKED"] else "bc"[int(c[1:]) % 2])
               for c, x in table.items()}
    return from_table(table, choices)


def test_flags_on_crafted_items():
    report = analyse(crafted(), choices_of={"UNPICKED": ["a", "b", "c", "d"]})
    flags = {i: s.flags for i, s in report.items.items()}
    assert flags["EASY"] == ("p>0.95",)
    assert flags["HARD"] == ("p<0.2",)
    assert flags["NEG"] == ("negative discrimination",)
    assert report.items["NEG"].point_biserial < 0 and report.items["NEG"].upper_lower_d < 0
    assert flags["UNPICKED"] == ("distractor 'd' never chosen",)
    assert report.items["UNPICKED"].choice_counts["d"] == {"all": 0, "upper": 0, "lower": 0}
    assert flags["P95"] == () and flags["P20"] == ()
    assert all(flags[f"G{t}"] == () for t in (4, 6, 8, 10, 12, 14))
    assert report.items["EASY"].point_biserial is None        # no variance: undefined, not 0


def test_low_positive_discrimination_is_flagged():
    table = {f"s{j:02d}": {**{f"G{t}": int(j > t) for t in (3, 5, 7, 9, 11, 13, 15)},
                           "FLAT": int(j % 2 == 0 or j == 20)} for j in range(1, 21)}
    item = analyse(from_table(table)).items["FLAT"]
    assert 0 <= item.point_biserial < 0.2
    assert item.flags == ("discrimination<0.2",)


# ---- too few sheets, the mastery note -------------------------------------------------

def test_too_few_candidates_say_so_instead_of_numbers(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text(TINY, encoding="utf-8")
    out = run_json(path)                                       # default minimum: 10
    t = out["test"]
    assert t["sufficient"] is False and (t["n"], t["k"]) == (6, 3)
    assert any("too few candidates" in n and "n=6" in n for n in t["notes"])
    assert [t[x] for x in ("mean", "sd", "kr20", "sem", "pass_rate")] == [None] * 5
    for item in out["items"].values():
        assert [item[x] for x in ("p", "point_biserial", "upper_lower_d")] == [None] * 3
        assert item["flags"] == [] and item["exposure"] == 6
        assert all(c["upper"] is None and c["lower"] is None for c in item["choice_counts"].values())
    table = CliRunner().invoke(stats, ["--responses", str(path)])
    assert table.exit_code == 0 and "too few candidates" in table.stdout


def test_empty_file_and_empty_input():
    report = analyse([])
    assert report.n == 0 and not report.sufficient and report.items == {}
    assert json.loads(json.dumps(report.to_dict(), allow_nan=False))["test"]["kr20"] is None


def test_header_only_file_gives_valid_json(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("candidate,item,choice,correct\n", encoding="utf-8")
    out = run_json(path)
    assert out["test"]["n"] == 0 and out["items"] == {} and out["test"]["sufficient"] is False


def mastery_table(n, fails, k=10):
    # Passers get 8/10 (on rotating items), failers 5/10.
    table = {}
    for j in range(n):
        right = 5 if j < fails else 8
        table[f"c{j:02d}"] = {f"Q{i}": int((i + j) % k < right) for i in range(k)}
    return from_table(table)


def test_mastery_note_when_few_fail():
    report = analyse(mastery_table(12, fails=1))
    assert report.passed == 11
    assert any(n.startswith("few candidates fail the 70% mastery cut (8% fail)")
               for n in report.notes)


@pytest.mark.parametrize("n,fails", [(10, 2), (12, 6)])
def test_no_mastery_note_when_enough_fail(n, fails):
    report = analyse(mastery_table(n, fails))
    assert report.passed == n - fails                          # 20% or more fail
    assert not any("few candidates fail" in note for note in report.notes)


# ---- random forms ---------------------------------------------------------------------

def test_random_forms_use_only_the_sheets_that_showed_the_item():
    rng = random.Random(7)
    pool = [f"P{i}" for i in range(8)]
    ids = [f"c{j:02d}" for j in range(40)]
    ability = {c: rng.gauss(0, 1) for c in ids}
    score = {}
    for c in ids:
        form = rng.sample(pool, 5)
        score[c] = {i: int(rng.random() < 1 / (1 + math.exp(-(ability[c] - 0.2 * int(i[1:]) + 0.7))))
                    for i in form}
    report = analyse(from_table(score))
    assert any(n.startswith("random forms: candidates saw 5-5 of 8 items") for n in report.notes)
    totals = {c: sum(s.values()) for c, s in score.items()}
    p_of = {}
    for i in pool:
        saw = [c for c in ids if i in score[c]]
        x = [score[c][i] for c in saw]
        p_of[i] = statistics.fmean(x)
        assert report.items[i].exposure == len(saw)
        assert report.items[i].p == pytest.approx(p_of[i])
        assert report.items[i].point_biserial == pytest.approx(
            statistics.correlation(x, [totals[c] - score[c][i] for c in saw]))
    # KR-20 as documented: k = mean items per candidate (5); sum of p*q = mean over
    # candidates of the p*q of their own items.
    mean_pq = statistics.fmean(sum(p_of[i] * (1 - p_of[i]) for i in score[c]) for c in ids)
    expected = 5 / 4 * (1 - mean_pq / statistics.pvariance(list(totals.values())))
    assert report.kr20 == pytest.approx(expected)


def test_an_item_shown_to_too_few_gets_no_numbers():
    table = {f"c{j:02d}": {"Q1": int(j % 3 > 0), "Q2": int(j % 2 == 0)} for j in range(12)}
    for j in range(3):
        table[f"c{j:02d}"]["RARE"] = 1
    report = analyse(from_table(table))
    rare = report.items["RARE"]
    assert rare.exposure == 3 and rare.p is None and rare.flags == ("exposure<10",)


def test_duplicate_response_in_the_api_is_refused():
    with pytest.raises(ValueError, match="duplicate"):
        analyse([Response("c1", "Q1", "a", True), Response("c1", "Q1", "b", False)])


def test_report_is_not_collected_as_a_test():
    assert st_mod.TestReport.__test__ is False


# ---- bad response files ---------------------------------------------------------------

HEAD = "candidate,item,choice,correct\n"


@pytest.mark.parametrize("content,where", [
    ("candidate,item,answer,correct\nc1,Q1,a,1\n", "line 1, column 'answer'"),
    ("candidate,item,choice\nc1,Q1,a\n", "line 1, column 'correct'"),
    ("candidate,item,choice,correct,choice\n", "line 1, column 'choice'"),
    ("", "line 1"),
    (HEAD + "c1,Q1,a,1\nc1,Q2,b,yes\n", "line 3, column 'correct'"),
    (HEAD + "c1,Q1,a,1\nc1,Q2,b,2\n", "line 3, column 'correct'"),
    (HEAD + "c1,Q1,,1\n", "line 2, column 'correct'"),
    (HEAD + "c1,Q1,a,1\nc2,Q1,b,0\n\nc1,Q1,b,0\n", "line 5, column 'candidate,item'"),
    (HEAD + "c1,Q1,a,1\nc2,Q1,a,0\n", "line 3, column 'correct'"),
    (HEAD + "c1,Q1,a\n", "line 2"),
    (HEAD + ",Q1,a,1\n", "line 2, column 'candidate'"),
])
def test_bad_files_name_the_line_and_column(tmp_path, content, where):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(stats, ["--responses", str(path), "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert where in result.stderr and str(path) in result.stderr


def test_duplicate_names_both_lines(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text(HEAD + "c1,Q1,a,1\nc2,Q1,b,0\nc1,Q1,b,0\n", encoding="utf-8")
    result = CliRunner().invoke(stats, ["--responses", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    assert "line 4" in result.stderr and "already on line 2" in result.stderr


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "sjis.csv"
    path.write_bytes(HEAD.encode() + "c1,Q1,あ,1\n".encode("shift_jis"))
    result = CliRunner().invoke(stats, ["--responses", str(path), "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "line 2" in result.stderr and "UTF-8" in result.stderr


def test_header_in_any_order_bom_and_spaces_are_read():
    rows = parse_responses("\ufeffitem, candidate ,correct,choice\r\nQ1,c1,1,a\r\nQ2,c1,0,\r\n")
    assert rows == [Response("c1", "Q1", "a", True), Response("c1", "Q2", None, False)]


def test_scoring_stats_is_pure_python():
    import subprocess
    import sys
    code = ("import sys, scoring.stats; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'flask', 'sqlalchemy', 'app', 'numpy', 'scipy'}); print(bad); sys.exit(bool(bad))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
