"""Ending sign-in sessions: a cookie copied before sign-out (a shared PC in an exam room or
an office), before a new password or before deactivation is worth nothing afterwards, on
every app server and on the answer-save path too; the CSRF token changes at sign-in and
sign-out."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from app.exam.saving import prepare_save, store_save
from app.extensions import db
from app.models import AnswerStep, User, utcnow
from tests.conftest import Client, make_app
from tests.test_group_commit import run_in_threads, sitting


def steps_of(app, attempt_id):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AnswerStep)
                                 .where(AnswerStep.attempt_id == attempt_id))


def clear_answer(client, state, position=1):
    """A save of 'no answer' at a position: valid whatever the question's type."""
    return client.post_json(state["urls"]["save"], {
        "base_seq": state["seq"], "client_id": uuid.uuid4().hex, "position": position,
        "question_id": question_at(client.app, state, position), "response": None,
        "flagged": True})


def question_at(app, state, position):
    from app.models import Attempt
    with app.app_context():
        return db.session.get(Attempt, state["attempt"]).form[position - 1]["id"]


def read_state(client, state):
    """The state call as the exam page makes it (it asks for JSON)."""
    return client.get(state["urls"]["state"], headers={"Accept": "application/json"})


def copy_of(client, app=None):
    """Another browser holding the same cookies (copied off a shared PC), and the token its
    page carried."""
    other = Client(app or client.app)
    other.http.set_cookie("session", client.http.get_cookie("session").value)
    other.csrf = client.csrf
    return other


def test_a_cookie_copied_before_sign_out_neither_reads_nor_saves_afterwards(app):
    owner, state = sitting(app, "candidate1")
    thief = copy_of(owner)
    assert read_state(thief, state).status_code == 200          # the copy works ...
    saved = clear_answer(thief, state)
    assert saved.status_code == 200
    state["seq"] = saved.json["seq"]
    before = steps_of(app, state["attempt"])

    assert owner.post_form("/logout").status_code == 302                  # ... until sign-out
    assert read_state(thief, state).status_code == 401
    resp = clear_answer(thief, state)
    assert resp.status_code == 401 and resp.json["error"] == "unauthorized"
    assert steps_of(app, state["attempt"]) == before
    page = thief.get("/exam/")
    assert page.status_code == 302 and "/login" in page.location


def test_sign_out_ends_the_session_on_every_app_server(app, tmp_path):
    """Two servers on one database and one secret key, as behind a load balancer: signing
    out through one ends the session that the other would still accept from the cookie."""
    owner, state = sitting(app, "candidate1")
    second = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "second")
    try:
        elsewhere = copy_of(owner, second)
        assert read_state(elsewhere, state).status_code == 200
        owner.post_form("/logout")
        assert read_state(elsewhere, state).status_code == 401
        assert clear_answer(elsewhere, state).status_code == 401
    finally:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_password_reset_by_the_secretariat_ends_the_users_sessions(app):
    owner, state = sitting(app, "candidate1")
    secretariat = Client(app)
    assert secretariat.login("secretariat1").status_code == 302
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "candidate1"))
    secretariat.get(f"/admin/users/{uid}")
    assert secretariat.post_form(f"/admin/users/{uid}/password").status_code in (200, 302)
    assert read_state(owner, state).status_code == 401
    assert clear_answer(owner, state).status_code == 401


def test_deactivating_ends_the_session_and_enabling_again_does_not_bring_it_back(app):
    owner, state = sitting(app, "candidate1")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "candidate1"))
        secretariat = db.session.scalar(select(User).where(User.username == "secretariat1"))
        from app.people.accounts import set_roles
        set_roles(user, user.role_set, False, secretariat)
        db.session.commit()
        assert read_state(owner, state).status_code == 401
        set_roles(user, user.role_set, True, secretariat)
        db.session.commit()
    assert read_state(owner, state).status_code == 401
    assert clear_answer(owner, state).status_code == 401
    again = Client(app)                                   # signing in again works as before
    assert again.login("candidate1").status_code == 302
    assert read_state(again, state).status_code == 200


def test_signing_out_elsewhere_ends_this_session_but_a_new_sign_in_starts_afresh(app):
    first, state = sitting(app, "candidate1")
    second = Client(app)
    assert second.login("candidate1").status_code == 302
    second.get("/exam/")
    second.post_form("/logout")
    assert read_state(first, state).status_code == 401
    third = Client(app)
    assert third.login("candidate1").status_code == 302
    third.get("/exam/")
    state["seq"] = read_state(third, state).json["seq"]
    assert clear_answer(third, state).status_code == 200


def test_the_usual_save_refuses_a_session_ended_after_it_was_prepared(app):
    """The claim statement itself checks the session epoch, alone and in a batch (SQLite's
    transaction of savepoints, PostgreSQL's one statement): a save prepared for a session
    that ends before it is written stores nothing and is not acknowledged."""
    (_c1, s1), (_c2, s2) = (sitting(app, f"candidate{i}") for i in (1, 2))

    def params(username, state):
        with app.app_context():
            uid, epoch = db.session.execute(select(User.id, User.session_epoch)
                                            .where(User.username == username)).one()
            return prepare_save(state["attempt"], uid, epoch, base_seq=state["seq"],
                                     client_id=uuid.uuid4().hex, position=1,
                                     question_id=question_at(app, state, 1), response=None,
                                     flagged=True)

    p1, p2 = params("candidate1", s1), params("candidate2", s2)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "candidate1"))
        user.end_sessions()
        db.session.commit()
        assert store_save(dict(p1), utcnow()) is None          # alone
    results, errors = run_in_threads(app, [p1, p2])                       # in a batch
    assert errors == [None, None]
    assert results[0] is None and results[1][0].seq == s2["seq"] + 1
    assert steps_of(app, s1["attempt"]) == 0


def test_the_csrf_token_changes_at_sign_in_and_sign_out(app):
    c = Client(app)
    c.get("/login")
    before = c.csrf
    assert c.login("candidate1").status_code == 302
    c.get("/exam/")
    signed_in = c.csrf
    assert signed_in != before
    # The token of the page before sign-in no longer passes.
    refused = c.http.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert c.get("/exam/").status_code == 200                       # still signed in
    assert c.post_form("/logout").status_code == 302
    c.get("/login")
    assert c.csrf not in (before, signed_in)
    # A form posted with the signed-in token after sign-out is refused too.
    assert c.http.post("/login", data={"csrf_token": signed_in, "username": "candidate1",
                                       "password": "x"}).status_code in (200, 400)
    assert c.get("/exam/").status_code == 302


def test_a_tampered_or_legacy_user_id_in_the_session_is_signed_out(app):
    """What the cookie names is parsed strictly; an id from before session epochs (a bare
    number) reads as epoch 0, which the user's next sign-out ends."""
    from app.models import parse_session_id
    assert parse_session_id("12:3") == (12, 3)
    assert parse_session_id("12") == (12, 0)
    for bad in ("", ":", "12:", "x:1", "1:x", "-1:0", "1:-1", "1:2:3", "١٢:0", "1" * 10 + ":0",
                None, 12, ["1"]):
        assert parse_session_id(bad) is None, bad
    c = Client(app)
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "candidate1"))
    with c.http.session_transaction() as sess:
        sess["_user_id"] = f"{uid}:999"
        sess["_fresh"] = True
    assert c.get("/exam/").status_code == 302
