"""Practice mode: practice-pool only, immediate feedback, progress, never counted."""
import re

from sqlalchemy import func, select

from app.banks.versions import current_version, snapshot
from app.extensions import db
from app.models import Attempt, PracticeAnswer
from tests.choicetools import posted


def practice_ids(app):
    with app.app_context():
        _bp, questions = snapshot(current_version())
        return ({q.id for q in questions.values() if q.pool == "practice"},
                {q.id for q in questions.values() if q.pool == "exam"}, questions)


def shown_order(app, q, token: str) -> list[str]:
    """The keys in the order the page showed them: what the server maps positions to."""
    from app.exam.practice import _shown_order
    with app.test_request_context():
        return _shown_order(q, token)


def drawn_id(page: str) -> str:
    return re.search(r'name="question_id" type="hidden" value="([^"]+)"', page).group(1)


def test_practice_never_shows_an_exam_question(app, candidate):
    practice, exam, questions = practice_ids(app)
    seen = set()
    for i in range(150):
        level = "beginner" if i % 2 else "intermediate"
        page = candidate.get(f"/exam/practice/question?level={level}").get_data(as_text=True)
        qid = drawn_id(page)
        assert qid in practice and qid not in exam
        assert level in questions[qid].levels
        seen.add(qid)
    assert len(seen) > 20          # it is not always the same few questions


def test_topic_filter_and_feedback_with_explanation(app, candidate):
    _practice, _exam, questions = practice_ids(app)
    page = candidate.get("/exam/practice/question?level=beginner&topic=law_procedure").get_data(as_text=True)
    qid = drawn_id(page)
    q = questions[qid]
    assert q.topic == "law_procedure" and q.pool == "practice"
    assert q.explanation.strip().splitlines()[0] not in page       # not before answering
    token = re.search(r'name="order_token" type="hidden" value="([^"]*)"', page).group(1)
    data = {"question_id": qid, "level": "beginner", "topic": "law_procedure", "order_token": token}
    order = shown_order(app, q, token)
    if q.type == "single":
        data["r1"] = str(posted(order, q.answer))
    elif q.type == "multiple":
        data["r1"] = [str(p) for p in posted(order, list(q.answer))]
    elif q.type == "true_false":
        data["r1"] = "true" if q.answer else "false"
    else:
        data["r1"] = q.answer[0]
    resp = candidate.post_form("/exam/practice/answer", data)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "正解です" in text
    assert q.explanation.strip().splitlines()[0][:20] in text
    if q.reference:
        assert q.reference in text
    with app.app_context():
        row = db.session.scalar(select(PracticeAnswer))
        assert (row.question_id, row.correct) == (qid, True)
        assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0   # never an exam
    home = candidate.get("/exam/practice/").get_data(as_text=True)
    assert "100%" in home


def test_exam_questions_cannot_be_answered_in_practice(app, candidate):
    _practice, exam, questions = practice_ids(app)
    candidate.get("/exam/practice/")
    qid = sorted(exam)[0]
    resp = candidate.post_form("/exam/practice/answer",
                               {"question_id": qid, "level": "beginner", "r1": "1"})
    assert resp.status_code == 404
    assert questions[qid].explanation.strip().splitlines()[0] not in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PracticeAnswer)) == 0


def test_wrong_answer_shows_the_key(app, candidate):
    _practice, _exam, questions = practice_ids(app)
    for _ in range(30):
        page = candidate.get("/exam/practice/question?level=intermediate").get_data(as_text=True)
        q = questions[drawn_id(page)]
        if q.type == "true_false":
            break
    resp = candidate.post_form("/exam/practice/answer", {
        "question_id": q.id, "level": "intermediate", "r1": "false" if q.answer else "true"})
    text = resp.get_data(as_text=True)
    assert "不正解です" in text
    assert ("正答: 正しい（○）" if q.answer else "正答: 誤り（×）") in text
