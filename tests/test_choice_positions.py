"""Choices travel by shown position, never by key: the exam page, its state, the save path
(fast and checked), practice mode; stored keys still show and grade; the starter banks
spread their keys evenly and `cbt bank validate` says when a bank does not."""
from __future__ import annotations

import itertools
import json
import math
import re
import uuid

import pytest
from sqlalchemy import select, update

from scoring.bank import Choice, Question, load_banks
from scoring.choice_positions import to_keys, to_positions
from scoring.grading import ResponseError, coerce_response, grade
from scoring.keyspread import MIN_COUNT, key_spread, level_spreads, upper_tail

from app.banks.versions import current_version, snapshot
from app.exam import attempts as attempts_module
from app.exam.attempts import Refused, record_answer
from app.exam.saving import prepare_save
from app.extensions import db
from app.models import AnswerStep, Attempt, User, latest_steps, utcnow
from app.review.corrections import regrade_session
from tests.banktools import BLUEPRINT, good_bank, write_bank
from tests.choicetools import posted
from tests.conftest import BANKS, Client
from tests.test_bank_validate import validate
from tests.test_exam_flow import key_for, steps_count, wrong_for
from tests.test_security import add_session, exam_state, normalise, start

INPUT = re.compile(r'<input type="(radio|checkbox)" name="r(\d+)" value="([^"]*)"([^>]*)>')


def form_of(app, attempt_id: int):
    """[(position, item, question)] of the attempt, in shown order."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        _bp, questions = snapshot(attempt.bank_version)
        return [(pos, item, questions[item["id"]]) for pos, item in enumerate(attempt.form, start=1)]


def post(client, state, position, qid, response, client_id=None):
    r = client.post_json(state["urls"]["save"], {
        "base_seq": state["seq"], "client_id": client_id or uuid.uuid4().hex,
        "position": position, "question_id": qid, "response": response, "flagged": False})
    if r.status_code == 200:
        state["seq"] = r.json["seq"]
    return r


# ---- the pure mapping ------------------------------------------------------------------------

ORDER = ["c", "a", "d", "b"]


def test_positions_map_to_keys_in_the_shown_order_and_back():
    assert to_keys("single", ORDER, 1) == "c" and to_keys("single", ORDER, 4) == "b"
    assert to_keys("multiple", ORDER, [3, 1]) == ["d", "c"]
    assert coerce_response("multiple", list("abcd"), to_keys("multiple", ORDER, [3, 1])) == ["c", "d"]
    for qtype, raw in (("single", None), ("multiple", None), ("true_false", True), ("text", "443")):
        assert to_keys(qtype, [], raw) == raw
    assert to_positions("single", ORDER, "a") == 2
    assert to_positions("multiple", ORDER, ["b", "c"]) == [1, 4]
    assert to_positions("true_false", [], False) is False and to_positions("text", [], "x") == "x"
    for position in range(1, 5):
        assert to_positions("single", ORDER, to_keys("single", ORDER, position)) == position


@pytest.mark.parametrize("qtype,raw", [
    ("single", 0), ("single", 5), ("single", -1), ("single", True), ("single", False),
    ("single", "1"), ("single", "a"), ("single", 1.0), ("single", [1]), ("single", {"p": 1}),
    ("multiple", [0]), ("multiple", [5]), ("multiple", [1, 1]), ("multiple", ["1"]),
    ("multiple", ["a"]), ("multiple", [True]), ("multiple", 1), ("multiple", "1"),
    ("multiple", [[1]]), ("multiple", [1.0]),
])
def test_malformed_positions_are_refused(qtype, raw):
    with pytest.raises(ResponseError):
        coerce_response(qtype, list("abcd"), to_keys(qtype, ORDER, raw))


# ---- the exam page -----------------------------------------------------------------------------

def relabelled_bank(folder, keys: str):
    """Six single and six multiple questions whose choices carry the names in `keys` (in
    file order), and two for the level above; the same texts are right whatever the names."""
    out = []
    for i in range(14):
        qtype = "single" if i < 6 or i >= 12 else "multiple"
        topic, area = ("deep", "net") if i >= 12 else ("basics", "net") if i % 2 else ("statutes", "law")
        levels = "[intermediate]" if i >= 12 else "[beginner, intermediate]"
        choices = "".join(f"      - {{key: {k}, text: 選択肢{n + 1}の{i}}}\n" for n, k in enumerate(keys))
        answer = keys[i % 4] if qtype == "single" else f"[{keys[i % 4]}, {keys[(i + 2) % 4]}]"
        out.append(f"  - id: R-{i:02d}\n    area: {area}\n    topic: {topic}\n"
                   f"    levels: {levels}\n    type: {qtype}\n    pool: exam\n    status: approved\n"
                   f"    stem: 問題{i}\n    choices:\n{choices}    answer: {answer}\n"
                   f"    explanation: 解説{i}\n")
    return write_bank(folder, {"q.yaml": "".join(out)}, BLUEPRINT)


def test_the_page_is_the_same_whatever_the_keys_are_called(app, candidate, tmp_path, monkeypatch):
    """Two banks that differ only in the names of the keys, the same seed, the same
    positions chosen: every page and the state are the same, so nothing in them depends
    on a key; and each stores its own keys for the same texts, graded alike."""
    monkeypatch.setattr(attempts_module, "new_seed", lambda: 20250416)
    attempts = {keys: start(candidate, add_session(app, relabelled_bank(tmp_path / keys, keys)))
                for keys in ("abcd", "dbac")}
    pages, stored, scores = {}, {}, {}
    for keys, attempt_id in attempts.items():
        state = exam_state(candidate, attempt_id)
        for pos, item, q in form_of(app, attempt_id):
            response = 2 if q.type == "single" else [3, 1]
            assert post(candidate, state, pos, q.id, response).status_code == 200
        html = candidate.get(f"/exam/attempts/{attempt_id}").get_data(as_text=True)
        values = {v for _t, _n, v, _rest in INPUT.findall(html)}
        assert values == {"1", "2", "3", "4"}, values
        state = exam_state(candidate, attempt_id)
        assert all(a["response"] in (2, [1, 3]) for a in state["answers"].values()), state["answers"]
        pages[keys] = [normalise(html, attempt_id),
                       normalise(candidate.get(f"/exam/attempts/{attempt_id}/confirm").get_data(as_text=True),
                                 attempt_id)]
        with app.app_context():
            form = {s.position: s for s in latest_steps(attempt_id).values()}
        by_text = {}
        for pos, item, q in form_of(app, attempt_id):
            text = {c.key: c.text for c in q.choices}
            response = form[pos].response
            by_text[pos] = sorted(text[k] for k in ([response] if q.type == "single" else response))
            assert response == (item["choice_order"][1] if q.type == "single"
                                else sorted([item["choice_order"][2], item["choice_order"][0]]))
        stored[keys] = by_text
        candidate.post_form(f"/exam/attempts/{attempt_id}/submit")
        with app.app_context():
            scores[keys] = db.session.get(Attempt, attempt_id).correct
    forms = [[item["choice_order"] for _p, item, _q in form_of(app, a)] for a in attempts.values()]
    assert forms[0] != forms[1]                        # the keys differ where the pages do not
    assert pages["abcd"] == pages["dbac"]
    assert stored["abcd"] == stored["dbac"]            # the same texts chosen...
    assert scores["abcd"] == scores["dbac"]            # ...and graded alike


def test_posting_positions_stores_the_keys_shown_there(app, candidate):
    state = candidate.start()
    chosen = {}
    for pos, item, q in form_of(app, state["attempt"]):
        order = item["choice_order"]
        if q.type == "single":
            p = pos % len(order) + 1
            assert post(candidate, state, pos, q.id, p).status_code == 200
            chosen[pos] = order[p - 1]
        elif q.type == "multiple":
            ps = [len(order), 1]
            assert post(candidate, state, pos, q.id, ps).status_code == 200
            chosen[pos] = sorted([order[-1], order[0]])
    assert chosen
    with app.app_context():
        steps = latest_steps(state["attempt"])
        assert {pos: steps[pos].response for pos in chosen} == chosen     # keys, as ever
    # After a reload the page shows each answer checked at its position, and the state
    # carries the positions.
    html = candidate.get(f"/exam/attempts/{state['attempt']}").get_data(as_text=True)
    checked = {}
    for _t, qpos, value, rest in INPUT.findall(html):
        if "checked" in rest:
            checked.setdefault(int(qpos), []).append(int(value))
    state = candidate.state(f"/exam/attempts/{state['attempt']}")
    for pos, item, q in form_of(app, state["attempt"]):
        if pos in chosen:
            want = to_positions(q.type, item["choice_order"], chosen[pos])
            assert checked[pos] == ([want] if q.type == "single" else want)
            assert state["answers"][str(pos)]["response"] == want


def test_the_checked_save_maps_positions_too(app, candidate):
    """record_answer (a save the fast path did not take) and prepare_save (the fast path)
    turn the same positions into the same keys."""
    state = candidate.start()
    pos, item, q = next(f for f in form_of(app, state["attempt"]) if f[2].type == "single")
    with app.app_context():
        uid, epoch = db.session.execute(select(User.id, User.session_epoch)
                                        .where(User.username == "candidate1")).one()
        params = prepare_save(state["attempt"], uid, epoch, base_seq=0, client_id=uuid.uuid4().hex,
                              position=pos, question_id=q.id, response=3, flagged=False)
        assert json.loads(params["response_json"]) == item["choice_order"][2]
        assert prepare_save(state["attempt"], uid, epoch, base_seq=0, client_id=uuid.uuid4().hex,
                            position=pos, question_id=q.id, response=item["choice_order"][2],
                            flagged=False) is None          # a key is not a position
        attempt = db.session.get(Attempt, state["attempt"])
        record_answer(attempt, base_seq=0, client_id=uuid.uuid4().hex, position=pos,
                      question_id=q.id, response=3, flagged=False, now=utcnow())
        with pytest.raises(Refused) as refused:
            record_answer(attempt, base_seq=1, client_id=uuid.uuid4().hex, position=pos,
                          question_id=q.id, response=item["choice_order"][0], flagged=False, now=utcnow())
        assert refused.value.status == 400
        db.session.commit()
        assert latest_steps(attempt.id)[pos].response == item["choice_order"][2]


def malformed_for(q, n):
    if q.type == "single":
        return [0, n + 1, -1, True, False, "1", "a", 1.0, [1], q.answer]
    return [[0], [n + 1], [1, 1], ["1"], [True], 1, "1", [1.0], [[1]], list(q.answer)]


def test_malformed_positions_get_a_clean_400_and_store_nothing(app, candidate):
    state = candidate.start()
    form = form_of(app, state["attempt"])
    for qtype in ("single", "multiple"):
        pos, item, q = next(f for f in form if f[2].type == qtype)
        for raw in malformed_for(q, len(item["choice_order"])):
            r = post(candidate, state, pos, q.id, raw)
            assert r.status_code == 400 and r.json["error"] == "bad_response", (raw, r.json)
            assert any("\u3040" <= ch <= "\u30ff" for ch in r.json["message"])
    assert steps_count(app, state["attempt"]) == 0


def test_the_old_strategy_now_scores_nothing(app, candidate):
    """Posting `"a"` (the bank's first key) everywhere is refused outright: a key is not a
    position."""
    state = candidate.start()
    for pos, _item, q in form_of(app, state["attempt"]):
        if q.type == "single":
            assert post(candidate, state, pos, q.id, "a").status_code == 400
    assert steps_count(app, state["attempt"]) == 0


def test_a_step_stored_before_shows_and_grades_as_it_did(app, candidate):
    """Steps hold keys, as they always have: a step written before positions existed (here
    straight into the table) shows checked at its key's place and grades by its key, also
    when the session is regraded; the next save builds on it."""
    state = candidate.start()
    attempt_id = state["attempt"]
    form = form_of(app, attempt_id)
    picked = [f for f in form if f[2].type in ("single", "multiple")][:4]
    legacy = {}
    with app.app_context():
        for seq, (pos, item, q) in enumerate(picked, start=1):
            qid, response = (key_for if seq % 2 else wrong_for)(app, state, pos)
            response = sorted(response) if isinstance(response, list) else response
            legacy[pos] = response
            db.session.add(AnswerStep(attempt_id=attempt_id, seq=seq, position=pos, question_id=qid,
                                      response_json=json.dumps(response), flagged=False,
                                      client_id=uuid.uuid4().hex, created_at=utcnow()))
        db.session.execute(update(Attempt).where(Attempt.id == attempt_id).values(last_seq=len(picked)))
        db.session.commit()
    state = candidate.state(f"/exam/attempts/{attempt_id}")
    html = candidate.get(f"/exam/attempts/{attempt_id}").get_data(as_text=True)
    for pos, item, q in picked:
        want = to_positions(q.type, item["choice_order"], legacy[pos])
        assert state["answers"][str(pos)]["response"] == want
        got = [int(v) for _t, p, v, rest in INPUT.findall(html) if int(p) == pos and "checked" in rest]
        assert got == ([want] if q.type == "single" else want)
    # A new save on top of them, by position.
    pos, item, q = next(f for f in form if f[2].type == "single" and f[0] not in legacy)
    assert post(candidate, state, pos, q.id, 1).status_code == 200
    assert candidate.post_form(f"/exam/attempts/{attempt_id}/submit").status_code == 302
    expected = sum(grade(lq.type, lq.answer, legacy[p]) for p, _i, lq in picked) \
        + grade(q.type, q.answer, item["choice_order"][0])
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).correct == expected
        sid = db.session.get(Attempt, attempt_id).session_id
        assert regrade_session(sid).regraded == 1
        assert db.session.get(Attempt, attempt_id).correct == expected
        db.session.rollback()


# ---- practice mode ---------------------------------------------------------------------------

def test_practice_posts_positions_and_keeps_the_order_to_itself(app, candidate):
    """The practice page carries a token for its choice order, never the order or a key;
    the server finds the order from the token, and grades the position posted."""
    from app.exam.practice import _shown_order
    with app.app_context():
        _bp, questions = snapshot(current_version())
    orders, last = set(), None
    for _ in range(20):
        page = candidate.get("/exam/practice/question?level=beginner").get_data(as_text=True)
        q = questions[re.search(r'name="question_id" type="hidden" value="([^"]+)"', page).group(1)]
        token = re.search(r'name="order_token" type="hidden" value="([^"]*)"', page).group(1)
        assert "choice_order" not in page
        if q.type not in ("single", "multiple"):
            continue
        assert [v for _t, _n, v, _rest in INPUT.findall(page)] == \
            [str(i) for i in range(1, len(q.choices) + 1)]
        with app.test_request_context():
            order = _shown_order(q, token)
            inline = app.jinja_env.filters["markdown_inline"]
            shown = [str(inline(c.text)) for k in order for c in q.choices if c.key == k]
        # The page lists the choices in the order the token names.
        assert [page.index(t) for t in shown] == sorted(page.index(t) for t in shown)
        orders.add(tuple(order))
        last = (q, token, order)
    assert len(orders) > 1, "the shown order is not always the bank's"
    # The right position grades right; a key is refused.
    q, token, order = last
    right = posted(order, q.answer if q.type == "single" else list(q.answer))
    data = {"question_id": q.id, "level": "beginner", "topic": "", "order_token": token}
    resp = candidate.post_form("/exam/practice/answer", {**data, "r1": right if q.type == "multiple"
                                                          else str(right)})
    assert resp.status_code == 200 and "正解です" in resp.get_data(as_text=True)
    key = q.answer if q.type == "single" else q.answer[0]
    assert candidate.post_form("/exam/practice/answer", {**data, "r1": key}).status_code == 400


def test_the_author_preview_still_renders(app):
    author = Client(app)
    author.login("author1")
    page = author.get("/author/?type=single")
    assert page.status_code == 200
    assert {v for _t, _n, v, _rest in INPUT.findall(page.get_data(as_text=True))} <= {"1", "2", "3", "4"}


# ---- the answer-key spread and validate ----------------------------------------------------

def test_the_exact_tail():
    # The exact tail against brute force, with mixed probabilities (3 and 4 choices,
    # multiple with 2 right of 4).
    probs = [1 / 3, 1 / 3, 0.25, 0.25, 0.5, 0.5, 0.5]
    for observed in range(len(probs) + 2):
        brute = sum(
            math.prod(p if hit else 1 - p for p, hit in zip(probs, outcome))
            for outcome in itertools.product((0, 1), repeat=len(probs)) if sum(outcome) >= observed)
        assert upper_tail(probs, observed) == pytest.approx(brute, abs=1e-12)
    assert upper_tail([0.5] * 4, 3) == pytest.approx(5 / 16)


def _questions(answers, qtype="single"):
    """Questions of four choices a-d with these answers."""
    return [Question(f"Q{i}", "net", "basics", ("beginner",), qtype, "exam", "approved", "stem",
                     tuple(Choice(k, k) for k in "abcd"), answer, "x") for i, answer in enumerate(answers)]


def test_key_spread_flags_only_a_clear_excess():
    spread = key_spread(_questions(["a"] * 20 + ["b", "c", "d"] * 7), "single")
    a = spread.keys[0]
    assert (a.key, a.correct, a.offered, a.expected) == ("a", 20, 41, pytest.approx(41 / 4))
    assert [k.key for k in spread.skewed()] == ["a"]
    # Too few to tell: all right under one key, but fewer than MIN_COUNT.
    assert not key_spread(_questions(["a"] * (MIN_COUNT - 1)), "single").skewed()
    # Even: nothing.
    assert not key_spread(_questions(list("abcd") * 10), "single").skewed()
    # Multiple: each of 2 right of 4 makes a key right half the time.
    multi = key_spread(_questions([("a", "b")] * 12 + [("c", "d")] * 2, "multiple"), "multiple")
    assert [k.expected for k in multi.keys] == [7.0] * 4
    assert [k.key for k in multi.skewed()] == ["a", "b"]


def test_validate_warns_on_a_skewed_bank_without_failing(tmp_path):
    code, out = validate(good_bank(tmp_path / "b"))        # every answer there is `a`
    assert code == 0, out
    warned = re.findall(r"^(.*blueprint\.yaml):(\d+): warning: level '(\w+)': key 'a' is right in "
                        r"(\d+) of (\d+) single-choice questions", out, re.M)
    assert {w[2] for w in warned} == {"beginner", "intermediate"}, out
    assert all(w[3] == w[4] for w in warned)
    assert re.search(r"0 problems, [1-9]\d* warnings", out)


# ---- the starter banks ----------------------------------------------------------------------

def test_always_the_same_choice_scores_like_chance_on_the_starter_banks():
    """What `value="a"` gave, now on a form printed from the banks (or a question shown
    unshuffled): per level, over the approved exam-pool questions, always picking the
    first choice, or any one key, and always ticking the same keys of a multiple question,
    is right within 3 questions of chance. Before, `a` was right in 65% of 中級's
    single-choice questions and `a, b` or `a, b, c` in 72% of its multiple ones."""
    loaded = load_banks(BANKS)
    for level, lv in loaded.blueprint.levels.items():
        drawn = [q for q in loaded.questions.values() if q.topic in lv.topics and q.drawable_for(level)]
        singles = [q for q in drawn if q.type == "single"]
        if not singles:
            continue
        chance = sum(1 / len(q.choices) for q in singles)
        for position in range(4):
            hits = sum(1 for q in singles if q.answer == q.choices[position].key)
            assert abs(hits - chance) <= 3, (level, position, hits, chance)
        multiples = [q for q in drawn if q.type == "multiple"]
        for size in (2, 3):
            for keys in itertools.combinations("abcd", size):
                hits = sum(1 for q in multiples if set(q.answer) == set(keys))
                chance = sum(1 / math.comb(len(q.choices), size) for q in multiples if len(q.answer) == size)
                assert abs(hits - chance) <= 3, (level, keys, hits, chance)


def test_validate_shows_the_key_spread_and_no_warning_on_the_starter_banks():
    code, out = validate(BANKS)
    assert code == 0, out
    assert ": warning:" not in out, out
    assert out.rstrip().endswith("0 problems, 0 warnings")
    assert re.search(r"answer keys:.*\n(.*\n)*beginner \(初級\)\n\s+single\s+\d+:\s+a\s+\d+ \(\d+%/25%\)", out), out
    assert "p < 0.01" in out
    loaded = load_banks(BANKS)
    spreads = level_spreads(loaded.blueprint, loaded.questions.values())
    assert spreads and all(not s.skewed() for level in spreads.values() for s in level)
