"""Item statistics pages: computed from stored sheets, honest about small numbers, exported."""
import io
import random
import uuid
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select

from scoring.stats import Response, analyse

from app.banks.versions import snapshot
from app.exam.attempts import record_answer, start_attempt, submit_attempt
from app.extensions import db
from app.models import ExamSession, Registration, Staff, User, UserRole, utcnow
from tests.choicetools import posted
from tests.conftest import Client


def sit_many(app, n, seed=1):
    """n candidates sit the beginner session; stronger candidates answer more correctly."""
    rng = random.Random(seed)
    with app.app_context():
        session = db.session.scalar(select(ExamSession).where(ExamSession.level == "beginner"))
        _bp, questions = snapshot(session.bank_version)
        for i in range(n):
            # No password: these candidates never sign in (and scrypt would dominate the run).
            user = User(username=f"s{i:03d}", display_name=f"受検者{i}", password_hash="!")
            user.roles.append(UserRole(role="candidate"))
            db.session.add(user)
            db.session.flush()
            # A staff member (第3-2), or they could not start.
            db.session.add(Staff(staff_number=f"S{i:05d}", name_kanji=f"受検者{i}", name_kana="じゅけんしゃ",
                                 birth_date=date(1990, 1, 1), post="巡査", employment_category="警察官",
                                 user_id=user.id))
            db.session.add(Registration(session_id=session.id, user_id=user.id))
            db.session.flush()
            attempt = start_attempt(session, user, utcnow())
            ability = rng.random()
            seq = 0
            for pos, item in enumerate(attempt.form, start=1):
                q = questions[item["id"]]
                if rng.random() < 0.15:
                    continue                               # unanswered
                right = rng.random() < 0.35 + 0.6 * ability
                if q.type == "single":
                    resp = q.answer if right else rng.choice([c.key for c in q.choices if c.key != q.answer])
                elif q.type == "multiple":
                    resp = list(q.answer) if right else [c.key for c in q.choices][:1]
                    if not right and resp == list(q.answer):
                        resp = [c.key for c in q.choices][-1:]
                elif q.type == "true_false":
                    resp = q.answer if right else not q.answer
                else:
                    resp = q.answer[0] if right else "wrong"
                record_answer(attempt, base_seq=seq, client_id=uuid.uuid4().hex, position=pos,
                              question_id=q.id, response=posted(item["choice_order"], resp),
                              flagged=False, now=utcnow())
                seq += 1
            submit_attempt(attempt, "candidate", utcnow())
        db.session.commit()
        return session.id


def committee(app):
    c = Client(app)
    c.login("committee1")
    return c


def test_item_statistics_page_matches_the_analysis(app):
    sid = sit_many(app, 30)
    page = committee(app).get(f"/committee/stats?session={sid}").get_data(as_text=True)
    assert "答案数</dt><dd>30" in page
    assert "KR-20" in page and "<svg" in page
    from app.models import Attempt
    from app.review.stats import collect
    with app.app_context():
        attempts = list(db.session.scalars(select(Attempt).where(Attempt.session_id == sid)))
        responses, key_of, choices_of, _meta = collect(attempts)
    report = analyse(responses, min_candidates=10, key_of=key_of, choices_of=choices_of)
    assert report.n == 30 and report.sufficient
    assert f"{report.kr20:.3f}" in page
    shown_enough = [s for s in report.items.values() if s.p is not None]
    thin = [s for s in report.items.values() if s.p is None]
    assert shown_enough
    for s in shown_enough[:5]:
        assert f"<code>{s.item}</code>" in page and f"{s.p:.3f}" in page
    # Items shown to fewer than 10 sheets get no numbers, only a flag saying why.
    assert all(s.n < 10 for s in thin)


def test_too_few_sheets_say_so_instead_of_numbers(app):
    sid = sit_many(app, 3)
    page = committee(app).get(f"/committee/stats?session={sid}").get_data(as_text=True)
    assert "答案が3件しかありません" in page
    assert "信頼性係数 KR-20" not in page


def test_exports_csv_with_bom_and_xlsx(app):
    sid = sit_many(app, 12)
    c = committee(app)
    csv_resp = c.get(f"/committee/stats/export.csv?session={sid}")
    body = csv_resp.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("問題ID,分野,項目")
    xlsx = c.get(f"/committee/stats/export.xlsx?session={sid}")
    wb = load_workbook(io.BytesIO(xlsx.get_data()))
    ws = wb.active
    assert ws.cell(1, 1).value == "問題ID"
    ids = {ws.cell(r, 1).value for r in range(2, ws.max_row + 1)}
    assert any(str(i).startswith(("LAW-", "NET-", "SEC-", "RSB-")) for i in ids)


def test_across_sessions_by_level_and_roles(app):
    sit_many(app, 11)
    assert "答案数</dt><dd>11" in committee(app).get("/committee/stats?level=beginner").get_data(as_text=True)
    for user, status in (("candidate1", 403), ("head1", 403), ("secretariat1", 403),
                         ("author1", 200), ("vicechair", 200), ("chair", 200)):
        c = Client(app)
        c.login(user)
        assert c.get("/committee/stats").status_code == status, user
        assert c.get("/committee/stats/export.csv?level=beginner").status_code == status, user
