"""Scoring: the 70% rule with integers and each question type's grader."""
from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from scoring.grading import (GradedItem, ResponseError, coerce_response, grade, normalize_text,
                             passes, score_sheet)


@pytest.mark.parametrize("correct,total,expected", [
    (28, 40, True), (27, 40, False), (35, 50, True), (34, 50, False),
    (7, 10, True), (6, 10, False), (40, 40, True), (0, 40, False), (0, 0, False),
])
def test_pass_mark_boundaries(correct, total, expected):
    assert passes(correct, total) is expected


@given(st.integers(min_value=1, max_value=10_000).flatmap(
    lambda total: st.tuples(st.integers(min_value=0, max_value=total), st.just(total))))
def test_pass_rule_is_exactly_seventy_percent(pair):
    correct, total = pair
    assert passes(correct, total) == (Fraction(correct, total) >= Fraction(7, 10))


KEYS = st.sampled_from(list("abcdef"))


@given(answer=KEYS, response=KEYS)
def test_single_is_right_only_for_the_key(answer, response):
    assert grade("single", answer, response) == (answer == response)


@given(answer=st.sets(KEYS, min_size=1), response=st.lists(KEYS, unique=True))
def test_multiple_is_all_or_nothing(answer, response):
    assert grade("multiple", tuple(sorted(answer)), response) == (set(response) == answer)


@given(answer=st.booleans(), response=st.booleans())
def test_true_false(answer, response):
    assert grade("true_false", answer, response) == (answer == response)


def test_true_false_does_not_take_one_for_true():
    assert grade("true_false", True, 1) is False


def to_fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in s)


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20))
def test_text_accepts_fullwidth_and_case_variants(word):
    accepted = (word,)
    assert grade("text", accepted, to_fullwidth(word))
    assert grade("text", accepted, "  " + word.upper() + " ")
    assert grade("text", accepted, word.lower())


def test_text_examples():
    assert grade("text", ("443",), "４４３")
    assert grade("text", ("SHA-256", "SHA256"), "ｓｈａ２５６")
    assert grade("text", ("netstat",), " NetStat ")
    assert not grade("text", ("443",), "4433")
    assert not grade("text", ("443",), "   ")
    assert normalize_text("ｉｐ　　ａ") == "ip a"


@pytest.mark.parametrize("qtype,answer", [("single", "a"), ("multiple", ("a",)),
                                          ("true_false", True), ("text", ("x",))])
def test_unanswered_is_wrong(qtype, answer):
    assert grade(qtype, answer, None) is False


def test_sheet_breakdown_and_voiding():
    items = [GradedItem(f"Q{i}", "a1" if i < 6 else "a2", f"t{i % 3}", i % 2 == 0) for i in range(10)]
    sheet = score_sheet(items)
    assert (sheet.correct, sheet.total) == (5, 10)
    assert sheet.passed is False
    assert sheet.by_area["a1"].correct == 3 and sheet.by_area["a1"].total == 6
    assert sum(t.total for t in sheet.by_topic.values()) == 10
    # Voiding the wrong answers removes them from the total for everyone.
    voided = [GradedItem(i.question_id, i.area, i.topic, i.correct, voided=not i.correct) for i in items]
    assert score_sheet(voided).passed is True
    assert score_sheet(voided).total == 5


@pytest.mark.parametrize("qtype,raw", [
    ("single", "z"), ("single", ["a"]), ("multiple", "a"), ("multiple", ["a", "a"]),
    ("multiple", ["a", "q"]), ("true_false", "true"), ("true_false", 1), ("text", 443),
    ("text", "x" * 201),
])
def test_malformed_responses_are_refused(qtype, raw):
    with pytest.raises(ResponseError):
        coerce_response(qtype, ["a", "b", "c"], raw)


def test_responses_are_normalised_for_storage():
    assert coerce_response("multiple", ["a", "b", "c"], ["c", "a"]) == ["a", "c"]
    assert coerce_response("multiple", ["a", "b"], []) is None
    assert coerce_response("text", [], "   ") is None
    assert coerce_response("single", ["a", "b"], None) is None
