"""Exam sessions, registration and admissions (/committee/sessions): who may do what,
validation beside the fields, what can change once people sit, eligibility at registration,
and the once-a-year warning (第3-5-(1))."""
import json
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.exam.attempts import start_attempt
from app.extensions import db
from app.models import (Admission, Affiliation, AuditEvent, ExamSession, PassRecord, Registration,
                        SessionDetail, Staff, User, UserRole, utcnow)
from app.sessions.ops import OperationRefused, current_fiscal_year, update_session, values_of
from tests.conftest import Client

BASE = "/committee/sessions"
DEMO_ROLES = ("candidate1", "author1", "committee1", "vicechair", "chair", "head1", "secretariat1")
VIEWERS = {"committee1", "vicechair", "chair"}
MANAGERS = {"vicechair", "chair"}


def signed_in(app, username):
    c = Client(app)
    assert c.login(username).status_code == 302
    return c


def session_id(app, level):
    with app.app_context():
        return db.session.scalar(select(ExamSession.id).where(ExamSession.level == level))


def audit_events(app, event):
    with app.app_context():
        return [json.loads(e.detail_json) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id))]


def errors_of(page: str, field: str) -> list[str]:
    """The messages shown beside one field."""
    return re.findall(rf'<span class="field-error" id="{field}-error">([^<]*)</span>', page)


def form_data(**over):
    fy = current_fiscal_year()
    data = {"title": "初級 第1回", "bank_version_id": "1", "level": "beginner", "fiscal_year": str(fy),
            "opens_at": f"{fy}-06-01T09:00", "closes_at": f"{fy}-06-30T17:00", "duration_minutes": "",
            "format": "cbt", "written_max": ""}
    data.update(over)
    return data


_n = iter(range(1, 10000))


def add_person(category="警察官", affiliation=None, with_user=True, candidate_role=True, name=None):
    n = next(_n)
    user_id = None
    if with_user:
        user = User(username=f"p{n:04d}", display_name=f"職員{n}", password_hash="!")
        if candidate_role:
            user.roles.append(UserRole(role="candidate"))
        db.session.add(user)
        db.session.flush()
        user_id = user.id
    staff = Staff(staff_number=f"S{n:05d}", name_kanji=name or f"職員 {n}", name_kana=f"しょくいん {n}",
                  birth_date=date(1985, 4, 1), post="巡査部長", employment_category=category,
                  affiliation_id=affiliation.id if affiliation else None, user_id=user_id)
    db.session.add(staff)
    db.session.flush()
    return staff


def add_pass(staff, level, source):
    recorder = db.session.scalar(select(User.id).where(User.username == "vicechair"))
    db.session.add(PassRecord(staff_id=staff.id, level=level, fiscal_year=2023, source=source,
                              recorded_by=recorder))
    db.session.flush()


def add_affiliation(code, name):
    a = Affiliation(code=code, name=name)
    db.session.add(a)
    db.session.flush()
    return a


# ---------------------------------------------------------------- access

def test_every_route_and_role(app):
    sid = session_id(app, "beginner")
    with app.app_context():
        aff = add_affiliation("A1", "中央警察署")
        staff = add_person("職員以外", aff)
        chair_id = db.session.scalar(select(User.id).where(User.username == "chair"))
        adm = Admission(staff_id=staff.id, reason="試験", admitted_by=chair_id)
        db.session.add(adm)
        db.session.commit()
        adm_id, staff_id, user_id = adm.id, staff.id, staff.user_id
    pages = {f"{BASE}/": VIEWERS, f"{BASE}/{sid}": VIEWERS, f"{BASE}/admissions": VIEWERS,
             f"{BASE}/new": MANAGERS, f"{BASE}/{sid}/edit": MANAGERS, f"{BASE}/{sid}/candidates": MANAGERS}
    posts = {f"{BASE}/new": MANAGERS, f"{BASE}/{sid}/edit": MANAGERS,
             f"{BASE}/{sid}/candidates": MANAGERS,
             f"{BASE}/{sid}/registrations/{user_id}/delete": MANAGERS,
             f"{BASE}/admissions": {"chair"}, f"{BASE}/admissions/{adm_id}/revoke": {"chair"}}
    for username in DEMO_ROLES:
        c = signed_in(app, username)
        for url, allowed in pages.items():
            assert c.get(url).status_code == (200 if username in allowed else 403), (username, url)
        for url, allowed in posts.items():
            if username not in allowed:
                before = len(audit_events(app, "forbidden"))
                assert c.post_form(url, {"staff_id": str(staff_id), "reason": "x"}).status_code == 403, \
                    (username, url)
                assert len(audit_events(app, "forbidden")) == before + 1
    # Nothing was changed by the refused posts.
    with app.app_context():
        assert db.session.get(Admission, adm_id).revoked_at is None
        assert db.session.scalar(select(func.count()).select_from(Admission)) == 1
    anonymous = Client(app)
    anonymous.get("/login")
    for url in list(pages) + list(posts):
        resp = anonymous.get(url) if url in pages else anonymous.post_form(url)
        assert resp.status_code == 302 and "/login" in resp.location, url


# ---------------------------------------------------------------- create and edit

def test_create_validation_beside_the_fields(app):
    c = signed_in(app, "vicechair")
    page = c.get(f"{BASE}/new").get_data(as_text=True)
    fy = current_fiscal_year()
    assert "令和" in page and f'<option selected value="{fy}">' in page      # current year by default
    assert "初級 40問（60分）" in page and "中級 50問（90分）" in page          # counts read-only
    resp = c.post_form(f"{BASE}/new", form_data(title="", closes_at=f"{fy}-05-01T09:00", format="both",
                                                duration_minutes="abc"))
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert errors_of(page, "title") == ["名称を入力してください。"]
    assert errors_of(page, "duration_minutes") == ["無効な整数です。"]
    resp = c.post_form(f"{BASE}/new", form_data(closes_at=f"{fy}-05-01T09:00", format="both"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert errors_of(page, "closes_at") == ["受検期間の終了は開始より後にしてください。"]
    assert errors_of(page, "written_max") == ["筆記試験を行う場合は、筆記試験の満点を入力してください。"]
    resp = c.post_form(f"{BASE}/new", form_data(opens_at=f"{fy + 1}-04-01T09:00",
                                                closes_at=f"{fy + 1}-04-30T09:00"))
    assert errors_of(resp.get_data(as_text=True), "opens_at") == [
        f"受検期間の開始日が、選んだ年度（{fy}年度（令和{fy - 2018}年度）: {fy}年4月1日〜{fy + 1}年3月31日）に含まれません。"]
    resp = c.post_form(f"{BASE}/new", form_data(opens_at="2025/06/01 9時"))
    assert errors_of(resp.get_data(as_text=True), "opens_at") == [
        "日時を「2025-04-01T09:00」の形で入力してください（日本時間）。"]
    # The bundled banks have no advanced questions: a computer-based advanced session could
    # never draw a form, so it is refused at once; a written one needs no form.
    resp = c.post_form(f"{BASE}/new", form_data(level="advanced"))
    msg = errors_of(resp.get_data(as_text=True), "bank_version_id")
    assert msg and "上級の問題用紙を作成できません" in msg[0] and "関係法令及び捜査手続に関すること" in msg[0]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExamSession)) == 2   # the demo's two
    resp = c.post_form(f"{BASE}/new", form_data(level="advanced", format="written", written_max="100",
                                                title="上級（筆記）"))
    assert resp.status_code == 302


def test_create_stores_japan_time_as_utc_and_blueprint_sizes(app):
    c = signed_in(app, "vicechair")
    fy = current_fiscal_year()
    c.get(f"{BASE}/new")
    resp = c.post_form(f"{BASE}/new", form_data(title="中級 第2回", level="intermediate", format="both",
                                                written_max="50"))
    assert resp.status_code == 302
    with app.app_context():
        s = db.session.scalar(select(ExamSession).where(ExamSession.title == "中級 第2回"))
        assert resp.location.endswith(f"{BASE}/{s.id}")
        assert s.opens_at == datetime(fy, 6, 1, 0, 0)             # 09:00 JST
        assert s.closes_at == datetime(fy, 6, 30, 8, 0)
        assert (s.question_count, s.duration_minutes, s.fiscal_year) == (50, 90, fy)
        detail = db.session.get(SessionDetail, s.id)
        assert (detail.format, detail.written_max) == ("both", 50)
        sid, digest = s.id, s.bank_version.digest
    created = audit_events(app, "session_created")
    assert created[-1]["session_id"] == sid and created[-1]["level"] == "intermediate"
    page = c.get(f"{BASE}/{sid}").get_data(as_text=True)
    assert digest[:12] in page and f"{fy}年06月01日 09:00" in page and "筆記試験及び電子計算機による試験" in page
    # A duration typed in wins over the blueprint's.
    resp = c.post_form(f"{BASE}/new", form_data(title="初級 短縮", duration_minutes="45", written_max="9"))
    with app.app_context():
        s = db.session.scalar(select(ExamSession).where(ExamSession.title == "初級 短縮"))
        assert s.duration_minutes == 45 and s.question_count == 40
        assert db.session.get(SessionDetail, s.id).written_max is None    # computer-based only


def test_edit_before_anyone_registers_changes_everything(app):
    c = signed_in(app, "chair")
    c.get(f"{BASE}/new")
    c.post_form(f"{BASE}/new", form_data(title="変更前"))
    with app.app_context():
        sid = db.session.scalar(select(ExamSession.id).where(ExamSession.title == "変更前"))
    page = c.get(f"{BASE}/{sid}/edit").get_data(as_text=True)
    assert 'value="変更前"' in page and "disabled" not in page
    resp = c.post_form(f"{BASE}/{sid}/edit", form_data(title="変更後", level="intermediate",
                                                       duration_minutes="100"))
    assert resp.status_code == 302
    with app.app_context():
        s = db.session.get(ExamSession, sid)
        assert (s.title, s.level, s.question_count, s.duration_minutes) == ("変更後", "intermediate", 50, 100)
    changes = audit_events(app, "session_updated")[-1]["changes"]
    assert changes["level"] == ["beginner", "intermediate"] and changes["title"] == ["変更前", "変更後"]


def test_registered_session_keeps_its_level(app):
    sid = session_id(app, "intermediate")                    # the demo registers candidate1
    c = signed_in(app, "vicechair")
    page = c.get(f"{BASE}/{sid}/edit").get_data(as_text=True)
    assert "級位は変更できません" in page
    assert "disabled" in re.search(r'<select[^>]*id="level"[^>]*>', page).group(0)
    assert "disabled" not in re.search(r'<select[^>]*id="bank_version_id"[^>]*>', page).group(0)
    fy = current_fiscal_year()
    data = form_data(title="中級（改）", level="beginner", opens_at=f"{fy}-04-02T09:00")
    data.pop("level")                                      # a disabled field is not posted
    assert c.post_form(f"{BASE}/{sid}/edit", data).status_code == 302
    with app.app_context():
        s = db.session.get(ExamSession, sid)
        assert (s.title, s.level) == ("中級（改）", "intermediate")
        assert s.opens_at == datetime(fy, 4, 2, 0, 0)
        data = values_of(s)
        data.level = "beginner"
        with pytest.raises(OperationRefused):
            update_session(s, data, db.session.get(User, 1))


def test_after_attempts_only_window_end_and_title_change(app):
    sid = session_id(app, "beginner")
    with app.app_context():
        s = db.session.get(ExamSession, sid)
        user = db.session.scalar(select(User).where(User.username == "candidate1"))
        start_attempt(s, user, utcnow())
        db.session.commit()
        before = values_of(s)
    c = signed_in(app, "vicechair")
    page = c.get(f"{BASE}/{sid}/edit").get_data(as_text=True)
    assert "変更できるのは<strong>名称</strong>と<strong>受検期間の終了</strong>だけです" in page
    for name in ("level", "bank_version_id", "fiscal_year", "opens_at", "duration_minutes", "format",
                 "written_max"):
        tag = re.search(rf'<(?:select|input)[^>]*id="{name}"[^>]*>', page).group(0)
        assert "disabled" in tag, name
    assert "disabled" not in re.search(r'<input[^>]*id="closes_at"[^>]*>', page).group(0)
    fy = current_fiscal_year()
    new_end = datetime.now() + timedelta(days=60)
    resp = c.post_form(f"{BASE}/{sid}/edit", {
        "title": "初級（延長）", "closes_at": new_end.strftime("%Y-%m-%dT%H:%M"),
        # Posted anyway (a crafted request): locked fields keep their stored values.
        "duration_minutes": "5", "level": "intermediate", "opens_at": f"{fy}-04-01T09:00"})
    assert resp.status_code == 302
    with app.app_context():
        s = db.session.get(ExamSession, sid)
        after = values_of(s)
        assert after.title == "初級（延長）"
        assert after.closes_at != before.closes_at
        assert (after.level, after.duration_minutes, after.opens_at, after.bank_version_id) == \
            (before.level, before.duration_minutes, before.opens_at, before.bank_version_id)
        after.duration_minutes = 5
        with pytest.raises(OperationRefused, match="試験時間"):
            update_session(s, after, db.session.get(User, 1))
    # The end must still come after the start.
    resp = c.post_form(f"{BASE}/{sid}/edit", {"title": "x", "closes_at": "2000-01-01T00:00"})
    assert resp.status_code == 400
    assert errors_of(resp.get_data(as_text=True), "closes_at") == ["受検期間の終了は開始より後にしてください。"]


# ---------------------------------------------------------------- registration

@pytest.fixture
def people(app):
    """An affiliation with people of every kind; returns their staff ids by label."""
    with app.app_context():
        north = add_affiliation("N01", "北部警察署")
        south = add_affiliation("S01", "南部警察署")
        made = {
            "officer": add_person("警察官", north, name="北 一郎"),
            "excluded": add_person("臨時的任用職員", north, name="北 二郎"),
            "nonstaff": add_person("職員以外", north, name="外部 花子"),
            "npa": add_person("警察官", north, name="北 三郎"),
            "npa_only": add_person("一般職員", north, name="北 四郎"),
            "no_user": add_person("警察官", north, with_user=False, name="北 五郎"),
            "no_role": add_person("警察官", north, candidate_role=False, name="北 六郎"),
            "south": add_person("警察官", south, name="南 一子"),
        }
        # Special pass at intermediate (警察庁) with its deemed beginner row.
        add_pass(made["npa"], "intermediate", "npa")
        add_pass(made["npa"], "beginner", "deemed")
        add_pass(made["npa_only"], "intermediate", "npa")
        add_pass(made["south"], "beginner", "exam")
        db.session.commit()
        ids = {k: (s.id, s.user_id) for k, s in made.items()}
        ids["north"], ids["south_aff"] = north.id, south.id
        return ids


def registered(app, sid):
    with app.app_context():
        return set(db.session.scalars(select(Registration.user_id).where(Registration.session_id == sid)))


def test_search_lists_staff_with_accounts(app, people):
    c = signed_in(app, "vicechair")
    sid = session_id(app, "beginner")
    page = c.get(f"{BASE}/{sid}/candidates").get_data(as_text=True)
    assert "北 一郎" in page and "南 一子" in page and "北 五郎" not in page     # no account, not listed
    page = c.get(f"{BASE}/{sid}/candidates?q=南部警察署").get_data(as_text=True)
    assert "南 一子" in page and "北 一郎" not in page
    with app.app_context():
        number = db.session.get(Staff, people["officer"][0]).staff_number
    page = c.get(f"{BASE}/{sid}/candidates?q={number}").get_data(as_text=True)
    assert "北 一郎" in page and "北 二郎" not in page
    page = c.get(f"{BASE}/{sid}/candidates?q=しょくいん&affiliation={people['south_aff']}").get_data(as_text=True)
    assert "南 一子" in page and "北 一郎" not in page
    # Eligibility is previewed beside each person.
    page = c.get(f"{BASE}/{sid}/candidates?affiliation={people['north']}").get_data(as_text=True)
    assert "臨時的任用職員は受検対象外です" in page


def test_register_selected_with_eligibility(app, people):
    sid = session_id(app, "intermediate")
    c = signed_in(app, "vicechair")
    c.get(f"{BASE}/{sid}/candidates")
    chosen = ["officer", "excluded", "npa", "npa_only", "no_role", "south"]
    resp = c.http.post(f"{BASE}/{sid}/candidates",
                       data={"csrf_token": c.csrf, "staff_id": [str(people[k][0]) for k in chosen]})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "1名を登録しました" in page
    refused = page.split('class="grid refused"')[1].split("</table>")[0]
    assert "北 一郎" in refused and "中級の受検には初級の合格が必要です（第3-4）。" in refused
    assert "北 二郎" in refused and "臨時的任用職員は受検対象外です（第3-2）" in refused
    assert "北 六郎" in refused and "受検者の役割がありません" in refused
    assert "北 三郎" not in refused and "北 四郎" not in refused and "南 一子" not in refused
    # The two with a 警察庁 pass at 中級 already hold it: listed, registered only once confirmed.
    held = page.split('id="held-warning"')[1].split("</table>")[0]
    assert "既に中級に合格している者（2名）" in held and "北 三郎" in held and "北 四郎" in held
    assert people["npa"][1] not in registered(app, sid)
    resp = c.http.post(f"{BASE}/{sid}/candidates", data={
        "csrf_token": c.csrf, "staff_id": [str(people[k][0]) for k in ("npa", "npa_only")],
        "confirm_held": [str(people[k][0]) for k in ("npa", "npa_only")]})
    assert "2名を登録しました" in resp.get_data(as_text=True)
    got = registered(app, sid)
    assert {people[k][1] for k in ("npa", "npa_only", "south")} <= got
    assert not {people[k][1] for k in ("officer", "excluded", "no_role")} & got
    assert len(audit_events(app, "registration_added")) == 3
    reasons = {e["staff_id"]: e["reasons"] for e in audit_events(app, "registration_refused")}
    assert "初級の合格が必要" in reasons[people["officer"][0]][0]
    # Again: nobody twice.
    resp = c.http.post(f"{BASE}/{sid}/candidates",
                       data={"csrf_token": c.csrf, "staff_id": [str(people["south"][0])]})
    assert "0名を登録しました。1名は登録済みでした。" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Registration).where(
            Registration.session_id == sid, Registration.user_id == people["south"][1])) == 1
    # Registered people are listed on the session with their state.
    page = c.get(f"{BASE}/{sid}").get_data(as_text=True)
    assert "南 一子" in page and "未受検" in page


def test_register_a_whole_affiliation(app, people):
    sid = session_id(app, "beginner")
    c = signed_in(app, "chair")
    c.get(f"{BASE}/{sid}/candidates")
    resp = c.post_form(f"{BASE}/{sid}/candidates", {"affiliation_id": str(people["north"])})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    got = registered(app, sid)
    assert people["officer"][1] in got
    assert people["south"][1] not in got                       # another affiliation
    # Holders of 初級 (deemed by a 警察庁 pass at 中級) wait for a confirmation.
    assert not {people[k][1] for k in ("npa", "npa_only")} & got
    held = page.split('id="held-warning"')[1].split("</table>")[0]
    assert "北 三郎" in held and "上位の級位の特例により初級に合格とみなされています" in held
    refused = page.split('class="grid refused"')[1].split("</table>")[0]
    assert "北 二郎" in refused and "外部 花子" in refused and "委員長の許可が必要です" in refused
    assert "北 五郎" not in page.split('id="outcome"')[1].split("</section>")[0]   # no account: not a candidate


def test_admitted_non_staff_may_then_register(app, people):
    sid = session_id(app, "beginner")
    vice = signed_in(app, "vicechair")
    vice.get(f"{BASE}/admissions")
    resp = vice.post_form(f"{BASE}/admissions", {"staff_id": str(people["nonstaff"][0]), "reason": "学生"})
    assert resp.status_code == 403                                  # the chair only
    chair = signed_in(app, "chair")
    page = chair.get(f"{BASE}/admissions").get_data(as_text=True)
    assert "外部 花子" in page and "北 二郎" in page and "北 一郎" not in page      # only who needs one
    resp = chair.post_form(f"{BASE}/admissions", {"staff_id": str(people["nonstaff"][0]), "reason": ""})
    assert resp.status_code == 400 and "許可の理由を入力してください。" in resp.get_data(as_text=True)
    resp = chair.post_form(f"{BASE}/admissions", {"staff_id": str(people["officer"][0]), "reason": "念のため"})
    assert resp.status_code == 409 and "委員長の許可は必要ありません" in resp.get_data(as_text=True)
    resp = chair.post_form(f"{BASE}/admissions", {"staff_id": str(people["nonstaff"][0]),
                                                  "reason": "サイバー防犯ボランティアとして受検を希望し、必要性を認める"})
    assert resp.status_code == 302
    granted = audit_events(app, "admission_granted")
    assert granted[-1]["staff_id"] == people["nonstaff"][0] and "ボランティア" in granted[-1]["reason"]
    resp = chair.post_form(f"{BASE}/admissions", {"staff_id": str(people["nonstaff"][0]), "reason": "再度"})
    assert resp.status_code == 409 and "既に受検を許可されています" in resp.get_data(as_text=True)
    chair.get(f"{BASE}/{sid}/candidates")
    page = chair.http.post(f"{BASE}/{sid}/candidates", data={
        "csrf_token": chair.csrf, "staff_id": [str(people["nonstaff"][0])]}).get_data(as_text=True)
    assert "1名を登録しました" in page
    assert people["nonstaff"][1] in registered(app, sid)
    # Revoked: the registration stays, but the session page says they cannot start now.
    with app.app_context():
        adm_id = db.session.scalar(select(Admission.id).where(Admission.staff_id == people["nonstaff"][0]))
    chair.get(f"{BASE}/admissions")
    assert chair.post_form(f"{BASE}/admissions/{adm_id}/revoke").status_code == 302
    with app.app_context():
        assert db.session.get(Admission, adm_id).revoked_at is not None
    assert audit_events(app, "admission_revoked")[-1]["admission_id"] == adm_id
    page = chair.get(f"{BASE}/{sid}").get_data(as_text=True)
    assert "受検できません: 職員以外の方の受検には委員長の許可が必要です" in page
    chair.get(f"{BASE}/admissions")
    chair.post_form(f"{BASE}/admissions/{adm_id}/revoke")
    assert len(audit_events(app, "admission_revoked")) == 1           # once only


def test_unregister_only_without_an_attempt(app, people):
    sid = session_id(app, "beginner")
    with app.app_context():
        s = db.session.get(ExamSession, sid)
        user = db.session.scalar(select(User).where(User.username == "candidate1"))
        start_attempt(s, user, utcnow())
        db.session.commit()
        sitting = user.id
        other = db.session.scalar(select(User.id).where(User.username == "candidate2"))
    c = signed_in(app, "vicechair")
    page = c.get(f"{BASE}/{sid}").get_data(as_text=True)
    assert page.count("登録を解除</button>") == 2                      # candidate2 and 3, not 1
    resp = c.post_form(f"{BASE}/{sid}/registrations/{sitting}/delete")
    assert resp.status_code == 302
    assert "受検を開始しているため、登録を解除できません。" in c.get(resp.location).get_data(as_text=True)
    assert sitting in registered(app, sid)
    c.post_form(f"{BASE}/{sid}/registrations/{other}/delete")
    assert other not in registered(app, sid)
    assert audit_events(app, "registration_removed")[-1] == {"session_id": sid, "candidate_user_id": other}


def test_closed_session_takes_no_registrations(app, people):
    sid = session_id(app, "beginner")
    with app.app_context():
        s = db.session.get(ExamSession, sid)
        s.opens_at, s.closes_at = utcnow() - timedelta(days=3), utcnow() - timedelta(days=1)
        db.session.commit()
    c = signed_in(app, "vicechair")
    assert "登録はできません" in c.get(f"{BASE}/{sid}/candidates").get_data(as_text=True)
    resp = c.http.post(f"{BASE}/{sid}/candidates",
                       data={"csrf_token": c.csrf, "staff_id": [str(people["south"][0])]})
    assert resp.status_code == 409
    assert people["south"][1] not in registered(app, sid)


# ---------------------------------------------------------------- dashboard

def test_dashboard_counts_and_the_yearly_warning(app):
    sid = session_id(app, "intermediate")
    committee = signed_in(app, "committee1")
    page = committee.get(f"{BASE}/").get_data(as_text=True)
    assert 'id="frequency-warning"' not in page
    assert "実施回を作成" not in page                                 # members only look
    beginner = page.split("<h3>初級</h3>")[1].split("</table>")[0]
    assert re.search(r'<td class="num">3</td><td class="num">0</td><td class="num">0</td>', beginner)
    # The intermediate session moves to last year: this year has none.
    with app.app_context():
        db.session.get(ExamSession, sid).fiscal_year = current_fiscal_year() - 1
        db.session.commit()
    page = committee.get(f"{BASE}/").get_data(as_text=True)
    warning = page.split('id="frequency-warning"')[1].split("</p>")[0]
    assert "中級" in warning and "初級" not in warning and "上級" not in warning and "第3-5-(1)" in warning
    assert "<details" in page and f"{current_fiscal_year() - 1}年度" in page.split("<details")[1]
    vice = signed_in(app, "vicechair")
    vice.get(f"{BASE}/new")
    assert vice.post_form(f"{BASE}/new", form_data(level="intermediate", title="中級 今年度")).status_code == 302
    page = committee.get(f"{BASE}/").get_data(as_text=True)
    assert 'id="frequency-warning"' not in page and "中級 今年度" in page
