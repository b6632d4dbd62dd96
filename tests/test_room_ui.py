"""The exam room's pages through HTTP: the proctor's room page (the table, and the forms
that work without a script), their landing page, the session's room settings and
proctors, accommodations, and the room's record on the committee's review pages."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from app.extensions import db
from app.models import (Attempt, AuditEvent, Certification, ExamSession, Proctor, Registration,
                        SessionDetail, User)
from scoring.timing import SIGNAL_LEAD_SECONDS
from tests.conftest import Client
from tests.test_certify import certify
from tests.test_review import right_first, sit
from tests.test_room import act, attempt_of, beginner, enter, read_state, running, settings, signed_in

ROOM_KEY = "0123456789abcdef" * 4


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def intermediate(app) -> int:
    with app.app_context():
        return db.session.scalar(select(ExamSession.id).where(ExamSession.level == "intermediate"))


def registration(app, sid: int, uid: int) -> Registration:
    with app.app_context():
        reg = db.session.scalar(select(Registration).where(Registration.session_id == sid,
                                                           Registration.user_id == uid))
        db.session.expunge(reg)
        return reg


def detail(app, sid: int) -> SessionDetail:
    with app.app_context():
        d = db.session.get(SessionDetail, sid)
        db.session.expunge(d)
        return d


def audited(app, event: str) -> list[dict]:
    with app.app_context():
        return [json.loads(e.detail_json) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id))]


def row_of(page: str, uid: int) -> str:
    """The candidate's row of the room table."""
    m = re.search(rf'<tr id="seat-{uid}".*?</tr>', page, re.S)
    assert m, f"no row for user {uid}"
    return m.group(0)


def text(resp) -> str:
    return resp.get_data(as_text=True)


def follow(client: Client, resp) -> str:
    assert resp.status_code in (302, 303), text(resp)
    return text(client.get(resp.location))


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash (?:info|error)" role="status">(.*?)</p>', page, re.S)


@pytest.fixture
def sitting(app):
    """candidate1 answering the beginner session; proctor1 signed in."""
    sid = beginner(app)
    candidate = signed_in(app, "candidate1")
    attempt_id = running(app, candidate, sid)
    return sid, user_id(app, "candidate1"), candidate, attempt_id, signed_in(app, "proctor1")


# ---- the room page ---------------------------------------------------------------------------

def test_the_room_page_shows_every_candidate_and_no_inline_code(app, sitting):
    sid, uid, _candidate, _attempt_id, proctor = sitting
    other = user_id(app, "candidate2")
    with app.app_context():
        reg = db.session.scalar(select(Registration).where(Registration.session_id == sid,
                                                           Registration.user_id == uid))
        reg.extra_minutes, reg.accommodation_reason = 10, "弱視のため（診断書あり）"
        db.session.commit()
    page = text(proctor.get(f"/room/{sid}"))
    mine = row_of(page, uid)
    assert "解答中" in mine and "1 / 40" in mine and "0 / 40" in mine
    assert re.search(r'class="seat-left num">(59|60):\d\d<', mine)        # time left, mm:ss
    assert "延長あり +10分" in mine and "弱視" not in page                   # never the reason
    assert "未入室" in row_of(page, other) and "延長あり" not in row_of(page, other)
    # Only the forms its state allows, each asking for a reason.
    assert f"/seats/{uid}/pause" in mine and 'name="reason"' in mine
    assert re.search(rf'<form[^>]*action="/room/{sid}/seats/{uid}/resume"', mine) is None
    assert re.search(rf'<form[^>]*action="/room/{sid}/seats/{other}/pause"', row_of(page, other)) is None
    # CSP: scripts and styles from files only (the JSON block is data, never run).
    assert "/static/room.js" in page and "/static/room.css" in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert all("src=" in s or 'type="application/json"' in s for s in scripts), scripts
    assert not re.search(r"\sstyle=|<style|\son[a-z]+=", page)


def test_actions_work_as_plain_forms_and_come_back_with_a_message(app, sitting):
    sid, uid, candidate, attempt_id, proctor = sitting
    proctor.get(f"/room/{sid}")
    refused = follow(proctor, proctor.post_form(f"/room/{sid}/seats/{uid}/pause", {"reason": " "}))
    assert any("理由を入力してください" in f for f in flashes(refused))
    assert attempt_of(app, attempt_id).paused_at is None
    page = follow(proctor, proctor.post_form(f"/room/{sid}/seats/{uid}/pause", {"reason": "体調不良の申し出"}))
    assert "一時中断しました。" in flashes(page)
    mine = row_of(page, uid)
    assert "一時中断" in mine and "体調不良の申し出" in mine
    assert re.search(rf'<form[^>]*action="/room/{sid}/seats/{uid}/resume"', mine)   # now offered
    state = read_state(candidate, attempt_id)                   # and the candidate's page feels it
    assert state["phase"] == "paused" and state["pause_reason"] == "体調不良の申し出"
    bad = follow(proctor, proctor.post_form(f"/room/{sid}/seats/{uid}/time", {"minutes": "abc", "reason": "r"}))
    assert any("時間は1〜240分" in f for f in flashes(bad))
    page = follow(proctor, proctor.post_form(f"/room/{sid}/seats/{uid}/time", {"minutes": "5", "reason": "機器の不具合"}))
    assert "時間を追加しました。" in flashes(page)
    page = follow(proctor, proctor.post_form(f"/room/{sid}/seats/{uid}/terminate",
                                             {"reason": "カンニングペーパーの所持", "confirm": "on"}))
    assert "受検を中止しました。" in flashes(page) and "受検中止" in row_of(page, uid)
    assert attempt_of(app, attempt_id).submitted_by == "terminated"


def test_the_state_for_the_script_says_which_resume_ends_a_pause(app, sitting):
    sid, uid, _candidate, _attempt_id, proctor = sitting

    def seat():
        state = proctor.get(f"/room/{sid}/state").json
        assert re.fullmatch(r"\d\d:\d\d:\d\d", state["updated_at"])
        return next(s for s in state["seats"] if s["user_id"] == uid)

    assert seat()["pause_scope"] is None
    act(proctor, f"/room/{sid}/seats/{uid}/pause", reason="体調")
    assert seat()["pause_scope"] == "candidate"
    act(proctor, f"/room/{sid}/seats/{uid}/resume", reason="回復")
    act(proctor, f"/room/{sid}/pause", reason="火災報知器")
    assert seat()["pause_scope"] == "room" and seat()["state"] == "paused"
    refused = act(proctor, f"/room/{sid}/seats/{uid}/resume", reason="x")
    assert refused.status_code == 409 and "個別に一時中断" in refused.json["message"]


def test_the_signal_shows_its_countdown_then_started(app):
    sid = beginner(app)
    settings(app, sid, start_mode="signal")
    candidate = signed_in(app, "candidate1")
    enter(candidate, sid)
    proctor = signed_in(app, "proctor1")
    page = text(proctor.get(f"/room/{sid}"))
    assert re.search(r'<form method="post" id="signal-form"[^>]*action="/room/\d+/signal" >', page)
    assert 'name="confirm"' in page and re.search(r'id="signal-status"[^>]*hidden', page)
    assert act(proctor, f"/room/{sid}/signal").json["ok"]
    state = proctor.get(f"/room/{sid}/state").json
    assert 0 < state["signal_in_ms"] <= SIGNAL_LEAD_SECONDS * 1000 and state["signal_at_jst"]
    page = text(proctor.get(f"/room/{sid}"))
    assert re.search(r'id="signal-form"[^>]*hidden', page)
    assert re.search(r'id="signal-status" class="signal-status" >開始まで あと\d秒', page)
    with app.app_context():              # the moment passes
        d = db.session.get(SessionDetail, sid)
        d.signal_at -= timedelta(seconds=SIGNAL_LEAD_SECONDS + 1)
        db.session.commit()
    assert proctor.get(f"/room/{sid}/state").json["signal_in_ms"] == 0
    assert "開始済み（" in text(proctor.get(f"/room/{sid}"))


def test_filters_work_without_the_script(app, sitting):
    sid, uid, _candidate, _attempt_id, proctor = sitting
    other = user_id(app, "candidate2")
    page = text(proctor.get(f"/room/{sid}?state=answering"))
    assert " hidden>" not in row_of(page, uid).split("\n")[0]
    assert row_of(page, other).split("\n")[0].rstrip().endswith("hidden>")
    page = text(proctor.get(f"/room/{sid}?affiliation=存在しない所属"))
    assert row_of(page, uid).split("\n")[0].rstrip().endswith("hidden>")


def test_time_is_not_given_before_the_start_and_reasons_follow_the_character_rule(app):
    sid = beginner(app)
    uid = user_id(app, "candidate1")
    candidate = signed_in(app, "candidate1")
    enter(candidate, sid)                                          # in the lobby
    proctor = signed_in(app, "proctor1")
    for action, body in (("time", {"minutes": 5}), ("move", {"lost_minutes": 3})):
        refused = act(proctor, f"/room/{sid}/seats/{uid}/{action}", reason="r", **body)
        assert refused.status_code == 409 and "開始前" in refused.json["message"], action
    for bad, says in (("a\u202eb", "制御文字"), ("あ" * 2001, "2000文字"), (123, "理由を入力"),
                      (["x"], "理由を入力")):
        refused = act(proctor, f"/room/{sid}/seats/{uid}/note", reason=bad)
        assert refused.status_code == 409 and says in refused.json["message"], bad
    assert act(proctor, f"/room/{sid}/seats/{uid}/note", reason="一行目\r\n二行目").json["ok"]


# ---- where proctors land, and links -----------------------------------------------------------

def test_proctors_land_on_the_sessions_they_proctor(app):
    sid, other = beginner(app), intermediate(app)
    with app.app_context():
        db.session.execute(delete(Proctor).where(Proctor.session_id == other))
        db.session.commit()
        titles = {s.id: s.title for s in db.session.scalars(select(ExamSession))}
    proctor = signed_in(app, "proctor1")
    assert proctor.get("/").location.endswith("/room/")
    page = text(proctor.get("/room/"))
    assert f'href="/room/{sid}"' in page and titles[sid] in page
    assert f'href="/room/{other}"' not in page
    chair = text(signed_in(app, "vicechair").get("/room/"))
    assert f'href="/room/{sid}"' in chair and f'href="/room/{other}"' in chair


def test_the_session_page_links_to_the_room_for_those_who_proctor(app):
    sid = beginner(app)
    page = text(signed_in(app, "vicechair").get(f"/committee/sessions/{sid}"))
    assert f'href="/room/{sid}"' in page and f'href="/committee/sessions/{sid}/room"' in page
    page = text(signed_in(app, "committee1").get(f"/committee/sessions/{sid}"))
    assert f'href="/room/{sid}"' not in page and f"/committee/sessions/{sid}/room" not in page
    assert "試験監督" in page                                      # the settings, read only


# ---- the room's settings ------------------------------------------------------------------------

def settings_form(**over) -> dict:
    data = {"start_mode": "self", "access_code": "", "allowed_networks": "", "seb_config_keys": ""}
    data.update(over)
    return data


def test_room_settings_are_checked_by_line_beside_their_fields(app):
    sid = beginner(app)
    chair = signed_in(app, "vicechair")
    url = f"/committee/sessions/{sid}/room"
    assert chair.get(url).status_code == 200
    resp = chair.post_form(url, settings_form(
        allowed_networks="10.0.0.0/8\n192.168.1.5/24\nnot-a-network",
        seb_config_keys="abc", access_code="12ab"))
    assert resp.status_code == 400
    page = text(resp)
    assert "2行目: 「192.168.1.5/24」" in page and "3行目: 「not-a-network」" in page
    assert "1行目: 「abc」は3桁です" in page and "入室コードは4〜16桁の数字" in page
    assert 'id="allowed_networks-error-2"' in page and 'aria-invalid="true"' in page
    assert detail(app, sid).allowed_networks is None                # nothing stored
    resp = chair.post_form(url, settings_form(
        start_mode="signal", access_code="１１２ ２３３", allowed_networks="10.20.0.0/16 # 第1会場\n",
        seb_config_keys=ROOM_KEY.upper()))
    assert "試験会場の設定を保存しました。" in follow(chair, resp)
    d = detail(app, sid)
    assert (d.start_mode, d.access_code, d.allowed_networks) == ("signal", "112233", "10.20.0.0/16 # 第1会場")
    assert d.seb_config_keys == ROOM_KEY.upper()
    [logged] = audited(app, "room_settings_updated")
    assert set(logged["changed"]) == {"start_mode", "access_code", "allowed_networks", "seb_config_keys"}
    assert "112233" not in json.dumps(logged)                     # read out in the room, not logged
    resp = chair.post_form(url, settings_form(start_mode="signal", access_code="112233",
                                              allowed_networks="10.20.0.0/16 # 第1会場",
                                              seb_config_keys=ROOM_KEY.upper()))
    assert "変更はありませんでした。" in follow(chair, resp)
    assert chair.post_form(url, settings_form()).status_code == 302   # cleared again
    assert detail(app, sid).access_code is None and detail(app, sid).seb_config_keys is None


def test_once_started_the_start_mode_stays_and_access_rules_apply_at_once(app):
    sid = beginner(app)
    candidate = signed_in(app, "candidate1")
    attempt_id = running(app, candidate, sid)
    chair = signed_in(app, "vicechair")
    url = f"/committee/sessions/{sid}/room"
    page = text(chair.get(url))
    assert "開始の方法は変更できません" in page and "<fieldset class=\"field\" disabled" in page
    resp = chair.post_form(url, settings_form(start_mode="signal"))
    assert resp.status_code == 409 and "開始の方法は変更できません" in text(resp)
    assert detail(app, sid).start_mode == "self"
    assert chair.post_form(url, settings_form(allowed_networks="10.20.0.0/16")).status_code == 302
    refused = candidate.get(f"/exam/attempts/{attempt_id}/state", headers={"Accept": "application/json"})
    assert refused.status_code == 403 and refused.json["error"] == "network"


def test_proctors_are_assigned_and_removed_by_the_vice_chair(app):
    other = intermediate(app)
    with app.app_context():
        db.session.execute(delete(Proctor).where(Proctor.session_id == other))
        db.session.commit()
    proctor = signed_in(app, "proctor1")
    assert proctor.get(f"/room/{other}").status_code == 403
    chair = signed_in(app, "vicechair")
    pid, candidate = user_id(app, "proctor1"), user_id(app, "candidate1")
    page = text(chair.get(f"/committee/sessions/{other}/room"))
    assert f'<option value="{pid}">' in page and f'<option value="{candidate}">' not in page
    add = f"/committee/sessions/{other}/proctors"
    assert "試験監督者を割り当てました。" in follow(chair, chair.post_form(add, {"user_id": str(pid)}))
    assert proctor.get(f"/room/{other}").status_code == 200
    assert "既にこの実施回の試験監督者です" in follow(chair, chair.post_form(add, {"user_id": str(pid)}))
    assert "試験監督者の役割がある" in follow(chair, chair.post_form(add, {"user_id": str(candidate)}))
    page = text(chair.get(f"/committee/sessions/{other}/room"))
    assert f'<option value="{pid}">' not in page and "試験 監督" in page
    removed = chair.post_form(f"/committee/sessions/{other}/proctors/{pid}/delete")
    assert "割り当てを外しました" in follow(chair, removed)
    assert proctor.get(f"/room/{other}").status_code == 403
    assert [e["proctor_user_id"] for e in audited(app, "proctor_assigned")] == [pid]
    assert [e["proctor_user_id"] for e in audited(app, "proctor_removed")] == [pid]


# ---- accommodations ----------------------------------------------------------------------------

def test_accommodations_before_the_start_with_a_reason_only_the_committee_sees(app):
    sid = beginner(app)
    uid = user_id(app, "candidate1")
    chair = signed_in(app, "vicechair")
    url = f"/committee/sessions/{sid}/registrations/{uid}/accommodation"
    assert chair.get(url).status_code == 200
    resp = chair.post_form(url, {"extra_minutes": "10", "extra_percent": "0", "reason": " "})
    assert resp.status_code == 400 and "延長を設定する場合は理由を入力してください" in text(resp)
    resp = chair.post_form(url, {"extra_minutes": "241", "extra_percent": "101", "reason": "r"})
    assert resp.status_code == 400
    assert "延長時間（分）は0〜240" in text(resp) and "延長の割合（%）は0〜100" in text(resp)
    assert registration(app, sid, uid).extra_minutes == 0
    resp = chair.post_form(url, {"extra_minutes": "10", "extra_percent": "50", "reason": "弱視（診断書あり）"})
    assert "延長時間を保存しました。" in follow(chair, resp)
    reg = registration(app, sid, uid)
    assert (reg.extra_minutes, reg.extra_percent, reg.accommodation_reason) == (10, 50, "弱視（診断書あり）")
    assert reg.accommodation_by == user_id(app, "vicechair") and reg.accommodation_at is not None
    [logged] = audited(app, "accommodation_set")
    assert logged["extra_minutes"] == 10 and "弱視" not in json.dumps(logged, ensure_ascii=False)
    assert "弱視（診断書あり）" in text(signed_in(app, "committee1").get(f"/committee/sessions/{sid}"))
    room = text(signed_in(app, "proctor1").get(f"/room/{sid}"))
    assert "延長あり +40分" in row_of(room, uid) and "弱視" not in room       # 10 + 60 x 50%
    # In the lobby it may still change: the start counts it.
    candidate = signed_in(app, "candidate1")
    resp = enter(candidate, sid)
    attempt_id = int(re.search(r"/attempts/(\d+)", resp.location).group(1))
    chair.post_form(url, {"extra_minutes": "20", "extra_percent": "50", "reason": "弱視（診断書あり）"})
    candidate.get(resp.location)
    candidate.begin(attempt_id)
    a = attempt_of(app, attempt_id)
    assert abs((a.deadline - a.started_at).total_seconds() - (60 + 20 + 30) * 60) < 2
    # Once started: refused, and the page says what to do instead.
    resp = chair.post_form(url, {"extra_minutes": "30", "extra_percent": "0", "reason": "追加"})
    assert resp.status_code == 409 and "時間追加" in text(resp)
    assert registration(app, sid, uid).extra_minutes == 20
    assert 'id="accommodation-locked"' in text(chair.get(url))


# ---- the committee's review --------------------------------------------------------------------

def test_a_terminated_sheet_is_flagged_and_the_sheet_shows_the_room_log(app, sitting):
    sid, uid, _candidate, attempt_id, proctor = sitting
    other = user_id(app, "candidate2")
    act(proctor, f"/room/{sid}/code")                                        # not on the sheet
    assert act(proctor, f"/room/{sid}/seats/{uid}/note", reason="私語あり（注意済み）").json["ok"]
    assert act(proctor, f"/room/{sid}/seats/{other}/note", reason="別の受検者の記録").json["ok"]
    assert act(proctor, f"/room/{sid}/pause", reason="火災報知器").json["ok"]
    assert act(proctor, f"/room/{sid}/resume", reason="誤報").json["ok"]
    assert act(proctor, f"/room/{sid}/seats/{uid}/time", minutes=5, reason="機器の不具合").json["ok"]
    assert act(proctor, f"/room/{sid}/seats/{uid}/terminate", reason="カンニングペーパーの所持").json["ok"]
    committee = signed_in(app, "committee1")
    listing = text(committee.get(f"/committee/review/sessions/{sid}"))
    assert "受検中止</span>" in listing and "カンニングペーパーの所持" in listing
    assert "監督者の記録 1件" in listing
    sheet = text(committee.get(f"/committee/review/sessions/{sid}/sheets/{attempt_id}"))
    assert re.search(r'id="terminated"><strong>受検中止（不正行為）</strong>: カンニングペーパーの所持（試験 監督', sheet)
    log = re.search(r'id="room-log".*?</section>', sheet, re.S).group(0)
    rows = [re.findall(r"<td>(.*?)</td>", r, re.S)[1:] for r in re.findall(r'<tr class="room-event.*?</tr>', log, re.S)]
    by = "試験 監督（試験監督者）"
    assert rows == [["本人", "記録", "私語あり（注意済み）", "", by],
                    ["会場全体", "一時中断", "火災報知器（会場全体・1名）", "", by],
                    ["会場全体", "再開", "誤報（会場全体・1名）", rows[2][3], by],
                    ["本人", "時間の追加", "機器の不具合", "+5分", by],
                    ["本人", "受検中止", "カンニングペーパーの所持", "", by]], rows
    assert "別の受検者" not in sheet and "入室コード" not in log


def test_statistics_and_bulk_certification_leave_terminated_sheets_out(app):
    sid = beginner(app)
    uid, other = user_id(app, "candidate1"), user_id(app, "candidate2")
    kept = sit(app, sid, other, right_first(40))
    ended = sit(app, sid, uid, right_first(40), submit=False)
    proctor = signed_in(app, "proctor1")
    assert act(proctor, f"/room/{sid}/seats/{uid}/terminate", reason="不正行為").json["ok"]
    stats = text(signed_in(app, "committee1").get(f"/committee/stats?session={sid}"))
    assert "答案が1件しかありません" in stats
    chair = signed_in(app, "vicechair")
    page = follow(chair, certify(chair, sid, all_passing=True))
    assert "受検中止の答案は一括では認定しません" in page
    with app.app_context():
        certified = set(db.session.scalars(select(Certification.attempt_id)))
    assert certified == {kept}
    follow(chair, certify(chair, sid, attempts=[ended]))                     # chosen by itself
    with app.app_context():
        assert db.session.scalar(select(Certification.attempt_id).where(
            Certification.attempt_id == ended)) == ended
        assert db.session.get(Attempt, ended).submitted_by == "terminated"

