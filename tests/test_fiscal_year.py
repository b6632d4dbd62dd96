"""The committee's whole fiscal year, scripted through the HTTP interface.

Every step goes through the routes the people of domain.md use, signed in as them: the
secretariat imports affiliations and staff and makes sign-in accounts, the author stores the
committee's short-form bank version, the vice-chair schedules sessions pinned to it and
registers candidates, the chair admits a volunteer, candidates sit the exam the way
app/static/exam.js talks to the server, the vice-chair corrects a key and voids a question,
certifies, and the register, the CSV export, the notices (in the system and by e-mail to a
real SMTP server) and what each role may see come out as the regulation says. The test
reads the database for nothing: the keys come from the bank files, everything else from the
pages.

Who is who (staff numbers are this test's own, so the demo's people never interfere):

  Y00001 熱田 一郎  警察官, 熱田警察署   passes 初級, then sits 中級
  Y00002 熱田 二郎  一般職員, 熱田警察署  fails 初級 6/10 until a corrected key makes it 7/10
  Y00003 守山 三郎  警察官, 守山警察署   fails 初級; a designation recorded in error, revoked,
                                          so he is refused at the start of 中級
  Y00004 守山 四郎  警察官, 守山警察署   a special pass (静岡県警察, 中級): 初級 deemed
  Y00005 熱田 五郎  臨時的任用職員       excluded (第3-2): never registered, cannot start
  V00006 港 六子    職員以外 (volunteer)  admitted by the chair, passes 初級
  Y09001/Y09002     the heads of 熱田警察署 and 守山警察署
"""
from __future__ import annotations

import csv
import io
import json
import re
import uuid

from scoring.jpdate import fiscal_year_label

from app.cli.demo import DEMO_PASSWORD
from tests.choicetools import posted_for
from tests.decisiontools import decision
from tests.conftest import Client
from tests.test_notices import parsed, smtp  # noqa: F401  (the real SMTP server fixture)
from tests.yeartools import key_leaks, questions, right, short_banks, staff_csv, window, wrong

AFFILIATIONS = "code,name,head_username\r\nY01,熱田警察署,\r\nY02,守山警察署,\r\n"
STAFF = [
    "Y00001,熱田　一郎,あつた　いちろう,1988-04-01,巡査部長,Y01,警察官,",
    "Y00002,熱田　二郎,あつた　じろう,平成2年5月6日,主事,Y01,一般職員,",
    "Y00003,守山　三郎,もりやま　さぶろう,1992-07-07,巡査,Y02,警察官,",
    "Y00004,守山　四郎,もりやま　しろう,S60.1.15,警部補,Y02,警察官,",
    "Y00005,熱田　五郎,あつた　ごろう,1999-09-09,事務補助員,Y01,臨時的任用職員,",
    "V00006,港　六子,みなと　むつこ,2002-02-02,サイバー防犯ボランティア,,職員以外,",
    "Y09001,熱田　署長,あつた　しょちょう,1966-06-06,警視,Y01,警察官,head-atsuta@example.jp",
    "Y09002,守山　署長,もりやま　しょちょう,1967-07-07,警視,Y02,警察官,head-moriyama@example.jp",
]
EXCLUDED = "臨時的任用職員は受検対象外です（第3-2）。委員長の受検許可が必要です。"
NEEDS_ADMISSION = "職員以外の方の受検には委員長の許可が必要です（第3-2ただし書）。"
NEEDS_BEGINNER = "中級の受検には初級の合格が必要です（第3-4）。"
NEEDS_INTERMEDIATE = "上級の受検には中級の合格が必要です（第3-4）。"


# ---- what a person does on the pages ------------------------------------------------------

def sign_in(app, username, password=DEMO_PASSWORD) -> Client:
    c = Client(app)
    resp = c.login(username, password)
    assert resp.status_code == 302, (username, resp.get_data(as_text=True)[:500])
    c.get(resp.location)                     # the landing page: a fresh CSRF token
    return c


def text(resp) -> str:
    return resp.get_data(as_text=True)


def flashes(client, resp) -> str:
    """Follow a redirect and return the page (with its flash messages)."""
    assert resp.status_code == 302, text(resp)[:1000]
    return text(client.get(resp.location))


def import_csv(client, kind, data: bytes, name: str) -> str:
    """Upload, check the preview, confirm: the secretariat's two-step import."""
    client.get(f"/admin/import/{kind}")
    preview = client.post_form(f"/admin/import/{kind}", {"file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
    page = text(preview)
    assert preview.status_code == 200 and "この内容で取り込む" in page, page[:3000]
    fields = dict(re.findall(r'name="(payload|fingerprint|filename)" type="hidden" value="([^"]*)"', page))
    done = flashes(client, client.post_form(f"/admin/import/{kind}/confirm", fields))
    assert "取り込みました" in done
    return page


def staff_ids(client) -> dict[str, int]:
    """Staff numbers to record ids, from the secretariat's staff list."""
    ids = {}
    for q in ("Y0", "V0"):
        page = text(client.get(f"/admin/staff?q={q}"))
        ids.update({n: int(i) for i, n in re.findall(r'href="/admin/staff/(\d+)">([YV]\d{5})</a>', page)})
    return ids


def make_login(client, staff_id) -> tuple[str, str, int]:
    """Create the sign-in account of a staff record; (user name, the password shown once,
    user id)."""
    client.get(f"/admin/staff/{staff_id}")
    page = text(client.post_form(f"/admin/staff/{staff_id}/login", {"username": ""}))
    username = re.search(r"<dt>ユーザーID</dt><dd><code>([^<]+)</code>", page).group(1)
    password = re.search(r'<code class="password">([^<]+)</code>', page).group(1)
    staff_page = text(client.get(f"/admin/staff/{staff_id}"))
    user_id = int(re.search(r'href="/admin/users/(\d+)">' + re.escape(username) + "<", staff_page).group(1))
    return username, password, user_id


def session_form(version_id, title, level, fmt="cbt", written_max=""):
    fy, opens, closes = window()
    return {"title": title, "bank_version_id": str(version_id), "level": level, "fiscal_year": str(fy),
            "opens_at": opens, "closes_at": closes, "duration_minutes": "", "format": fmt,
            "written_max": written_max}


def create_session(client, data) -> int:
    client.get("/committee/sessions/new")
    resp = client.post_form("/committee/sessions/new", data)
    assert resp.status_code == 302, text(resp)[:3000]
    assert "実施回を作成しました" in flashes(client, resp)
    return int(re.search(r"/committee/sessions/(\d+)$", resp.location).group(1))


def register(client, sid, staff=(), affiliation=None) -> str:
    """Register people (or a whole affiliation); returns the outcome section of the page."""
    client.get(f"/committee/sessions/{sid}/candidates")
    data = {"affiliation_id": str(affiliation)} if affiliation else {"staff_id": [str(s) for s in staff]}
    resp = client.post_form(f"/committee/sessions/{sid}/candidates", data)
    assert resp.status_code == 200, text(resp)[:2000]
    return text(resp).split('id="outcome"')[1].split("</section>")[0]


def refused_rows(outcome: str) -> dict[str, str]:
    """{name: reasons} of the people the registration refused."""
    if 'class="grid refused"' not in outcome:
        return {}
    table = outcome.split('class="grid refused"')[1]
    return {name: reasons for name, reasons in
            re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>[^<]*</td>\s*<td>(.*?)</td></tr>", table, re.S)}


class Sheet:
    """One sitting: the attempt, its form (position -> question id) and what was chosen."""

    def __init__(self, attempt_id, form, verdicts):
        self.attempt_id = attempt_id
        self.form = form                      # [question id by position - 1]
        self.verdicts = verdicts              # question id -> True (right) / False (wrong)

    @property
    def correct(self) -> int:
        return sum(self.verdicts.values())


def sit(client, sid, wrong_positions) -> Sheet:
    """Sit a session as the exam page does: start from the list, read the page state, save
    every answer through the ordered queue's protocol (base_seq + client_id), check the
    confirmation page, submit. `wrong_positions(form)` says which positions get a wrong
    answer (form: [(position, Question)])."""
    home = text(client.get("/exam/"))
    assert f'action="/exam/sessions/{sid}/start"' in home
    resp = client.post_form(f"/exam/sessions/{sid}/start")
    assert resp.status_code == 302, text(resp)[:1000]
    lobby = text(client.get(resp.location))               # the lobby: the clock waits
    waiting = json.loads(re.search(r'id="exam-state">(.*?)</script>', lobby, re.S).group(1))
    assert waiting["phase"] == "lobby" and 'id="sealed-questions"' in lobby
    client.begin(waiting["attempt"])
    page = text(client.get(resp.location))
    state = json.loads(re.search(r'id="exam-state">(.*?)</script>', page, re.S).group(1))
    assert state["phase"] == "running"
    assert all(a == {"response": None, "flagged": False} for a in state["answers"].values())
    found = re.findall(r'data-position="(\d+)"\s+data-qid="([^"]+)" data-type="(\w+)"', page)
    bank = questions()
    form = [(int(p), bank[qid]) for p, qid, _t in found]
    assert [p for p, _q in form] == list(range(1, state["count"] + 1))
    # Never the key before certification: no explanation of a question on the form is on
    # the page, and the state holds only the candidate's own answers.
    assert key_leaks(page, [q for _p, q in form]) == []
    bad = set(wrong_positions(form))
    verdicts = {}
    for pos, q in form:
        response = wrong(q) if pos in bad else right(q)
        body = {"base_seq": state["seq"], "client_id": uuid.uuid4().hex, "position": pos,
                "question_id": q.id, "response": posted_for(client.app, state["attempt"], pos, response),
                "flagged": pos in bad}
        saved = client.post_json(state["urls"]["save"], body)
        assert saved.status_code == 200 and saved.json["ok"], saved.get_data(as_text=True)
        assert saved.json["seq"] == state["seq"] + 1 and saved.json["duplicate"] is False
        state["seq"] = saved.json["seq"]
        verdicts[q.id] = pos not in bad
    assert client.post_json(state["urls"]["position"], {"position": len(form)}).status_code == 200
    confirm = text(client.get(state["urls"]["confirm"]))
    assert "未解答の問題はありません" in confirm
    resp = client.post_form(f"/exam/attempts/{state['attempt']}/submit")
    assert resp.status_code == 302 and resp.location.endswith(state["urls"]["done"])
    done = text(client.get(resp.location))
    assert "結果は、委員会の認定後に表示されます。" in done and "certified-result" not in done
    return Sheet(state["attempt"], [q.id for _p, q in form], verdicts)


def row(page, attempt_id) -> str:
    m = re.search(rf'<tr class="[^"]*" data-key="a{attempt_id}">(.*?)</tr>', page, re.S)
    assert m, attempt_id
    return m.group(1)


def score_of(row_html) -> str:
    return re.search(r'<td class="score">([^<]*)</td>', row_html).group(1)


def certify(client, sid, attempts=(), all_passing=False):
    client.get(f"/committee/review/sessions/{sid}")
    data = {"attempt": [str(a) for a in attempts], **decision(client.app)}
    data["all_passing" if all_passing else "certify"] = "1"
    return client.post_form(f"/committee/review/sessions/{sid}/certify", data)


def register_csv(client, level) -> list[list[str]]:
    resp = client.get(f"/committee/register/export.csv?level={level}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")             # the BOM: Excel reads UTF-8 right
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


# ---- the year --------------------------------------------------------------------------

def test_a_scripted_fiscal_year(app, smtp, tmp_path):  # noqa: F811  (smtp: the fixture)
    fy, _opens, _closes = window()
    fy_label = fiscal_year_label(fy)
    # The notices go by e-mail to a real SMTP server on 127.0.0.1 (instance/config.py).
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_FROM="cbt-committee@example.jp",
                      MAIL_TIMEOUT=5)
    # The committee's short-form blueprint sits in the bank folder the servers read.
    app.config["BANKS_DIR"] = str(short_banks(tmp_path / "banks"))

    # ---- 1. The author stores the committee's bank version ---------------------------
    author = sign_in(app, "author1")
    author.get("/author/versions")
    page = flashes(author, author.post_form("/author/versions/load"))
    short = re.search(r"バージョン ([0-9a-f]{12}) を登録しました（(\d+)問）", page)
    assert short, page[:2000]

    # ---- 2. The secretariat: affiliations, staff (Shift_JIS, as Excel saves it), accounts
    sec = sign_in(app, "secretariat1")
    import_csv(sec, "affiliations", AFFILIATIONS.encode("utf-8"), "affiliations.csv")
    preview = import_csv(sec, "staff", staff_csv(STAFF, encoding="cp932"), "jinji.csv")
    assert re.search(r'id="count-created">8件', preview)
    assert "1990年5月6日（平成2年5月6日）" in preview and "1985年1月15日（昭和60年1月15日）" in preview
    ids = staff_ids(sec)
    assert set(ids) == {"Y00001", "Y00002", "Y00003", "Y00004", "Y00005", "V00006", "Y09001", "Y09002"}
    accounts = {n: make_login(sec, ids[n]) for n in
                ("Y00001", "Y00002", "Y00003", "Y00004", "Y00005", "V00006", "Y09001", "Y09002")}
    # The two station chiefs sign in as heads, not candidates; then they head their stations.
    for number in ("Y09001", "Y09002"):
        user_id = accounts[number][2]
        sec.get(f"/admin/users/{user_id}")
        assert "役割を保存しました" in flashes(sec, sec.post_form(f"/admin/users/{user_id}",
                                                                  {"roles": ["head"], "active": "y"}))
    import_csv(sec, "affiliations", "code,name,head_username\r\nY01,熱田警察署,Y09001\r\nY02,守山警察署,Y09002\r\n"
               .encode("utf-8"), "affiliations-heads.csv")
    affiliations = text(sec.get("/admin/affiliations"))
    aff_ids = {code: int(i) for code, i in re.findall(
        r'<code>(Y0\d)</code></td>\s*<td><a href="/admin/staff\?affiliation=(\d+)">', affiliations)}
    assert set(aff_ids) == {"Y01", "Y02"}, affiliations[:3000]

    # ---- 3. The vice-chair schedules 初級 and 中級 this fiscal year, pinned to the version
    vc = sign_in(app, "vicechair")
    new_page = text(vc.get("/committee/sessions/new"))
    version_id = int(re.search(r'<select[^>]*id="bank_version_id"[^>]*>\s*<option selected value="(\d+)">'
                               + short.group(1), new_page).group(1))
    assert "初級 10問（15分）" in new_page and "中級 11問（20分）" in new_page
    beginner = create_session(vc, session_form(version_id, f"{fy_label} 初級 第1回", "beginner"))
    intermediate = create_session(vc, session_form(version_id, f"{fy_label} 中級 第1回", "intermediate"))
    detail = text(vc.get(f"/committee/sessions/{beginner}"))
    assert short.group(1) in detail and "電子計算機による試験" in detail
    board = text(vc.get("/committee/sessions/"))
    assert f"{fy_label} 初級 第1回" in board and f"{fy_label} 中級 第1回" in board
    assert 'id="frequency-warning"' not in board                  # 第3-5-(1): both levels this year

    # ---- 4. Registration (第3-2): the whole 熱田警察署, then people one by one ----------
    outcome = register(vc, beginner, affiliation=aff_ids["Y01"])
    assert "2名を登録しました" in outcome                           # 一郎 and 二郎
    refused = refused_rows(outcome)
    assert refused["熱田　五郎"] == EXCLUDED
    assert "受検者の役割がありません" in refused["熱田　署長"]         # a head, not a candidate
    outcome = register(vc, beginner, staff=[ids["Y00003"], ids["V00006"]])
    assert "1名を登録しました" in outcome and refused_rows(outcome) == {"港　六子": NEEDS_ADMISSION}
    # Only the chair admits someone from outside the staff (第3-2 ただし書), with a reason.
    vc.get("/committee/sessions/admissions")
    assert vc.post_form("/committee/sessions/admissions",
                        {"staff_id": str(ids["V00006"]), "reason": "学生"}).status_code == 403
    chair = sign_in(app, "chair")
    chair.get("/committee/sessions/admissions")
    admitted = flashes(chair, chair.post_form("/committee/sessions/admissions", {
        "staff_id": str(ids["V00006"]), "reason": "サイバー防犯ボランティアとして受検を希望し、必要性を認める"}))
    assert "港　六子さんの受検を許可しました" in admitted
    assert "1名を登録しました" in register(vc, beginner, staff=[ids["V00006"]])
    # The excluded person stays refused, however they are put forward.
    assert refused_rows(register(vc, beginner, staff=[ids["Y00005"]])) == {"熱田　五郎": EXCLUDED}

    # ---- 5. The candidates sit 初級 (10 questions; 7 right is a pass) ------------------
    people = {n: sign_in(app, accounts[n][0], accounts[n][1]) for n in ("Y00001", "Y00002", "Y00003", "V00006")}

    def first_single_and(n):
        """The first single-choice position, then the first others up to n wrong."""
        def pick(form):
            first = next(p for p, q in form if q.type == "single")
            return [first] + [p for p, _q in form if p != first][:n - 1]
        return pick

    sheets = {
        "Y00001": sit(people["Y00001"], beginner, lambda form: []),                   # 10/10
        "Y00002": sit(people["Y00002"], beginner, first_single_and(4)),               # 6/10
        "Y00003": sit(people["Y00003"], beginner, lambda form: [p for p, _q in form][5:]),   # 5/10
        "V00006": sit(people["V00006"], beginner, lambda form: [form[-1][0]]),        # 9/10
    }
    assert [s.correct for s in sheets.values()] == [10, 6, 5, 9]
    # The excluded person has nothing to start, and a start by hand is refused.
    excluded = sign_in(app, accounts["Y00005"][0], accounts["Y00005"][1])
    assert "現在受検できる検定はありません。" in text(excluded.get("/exam/"))
    resp = excluded.post_form(f"/exam/sessions/{beginner}/start")
    assert resp.status_code == 403 and "この検定の受検者として登録されていません。" in text(resp)

    # ---- 6. The committee reviews; a member reads everything and changes nothing -------
    member = sign_in(app, "committee1")
    listing = text(member.get(f"/committee/review/sessions/{beginner}"))
    assert re.search(r'id="n-sheets">4<', listing) and re.search(r'id="n-pass">2<', listing)
    assert score_of(row(listing, sheets["Y00002"].attempt_id)) == "6/10（60%）"
    assert 'name="attempt"' not in listing                          # no certify checkboxes for a member
    sheet_page = text(member.get(f"/committee/review/sessions/{beginner}/sheets/{sheets['Y00002'].attempt_id}"))
    assert "熱田　二郎" in sheet_page and re.search(r'id="result">不合格<', sheet_page)
    # The key to correct: the first single-choice question on 二郎's form, which he got wrong.
    r_qid = next(q for q in sheets["Y00002"].form if questions()[q].type == "single")
    assert sheets["Y00002"].verdicts[r_qid] is False
    new_key = wrong(questions()[r_qid])                              # what 二郎 (and every wrong sheet) chose
    assert member.post_form(f"/committee/review/sessions/{beginner}/corrections", {
        "question_id": r_qid, "action": "rekey", "answer": new_key, "reason": "x"}).status_code == 403
    assert certify(member, beginner, [sheets["Y00001"].attempt_id]).status_code == 403

    # ---- 7. The vice-chair corrects a key: the sheets are regraded from the stored answers
    def expected(sheet, rekeyed=(), voided=()):
        correct, total = sheet.correct, len(sheet.form)
        for q in rekeyed:
            if q in sheet.verdicts:
                correct += -1 if sheet.verdicts[q] else 1        # the old key loses, the chosen wrong one wins
        for q in voided:
            if q in sheet.verdicts:
                total -= 1
                correct -= 1 if sheet.verdicts[q] else 0
        return correct, total

    def on_form(qid):
        return sum(1 for s in sheets.values() if qid in s.form)

    vc.get(f"/committee/review/sessions/{beginner}/corrections")
    page = flashes(vc, vc.post_form(f"/committee/review/sessions/{beginner}/corrections", {
        "question_id": r_qid, "action": "rekey", "answer": new_key,
        "reason": "選択肢の記述に誤りがあり、正答は訂正後の記号のとおり（委員会決定）"}))
    assert f"問題「{r_qid}」を訂正し、{on_form(r_qid)}件の答案を再採点しました（合否が変わった答案: 1件）" in page
    listing = text(vc.get(f"/committee/review/sessions/{beginner}"))
    assert score_of(row(listing, sheets["Y00002"].attempt_id)) == "7/10（70%）"      # fail -> pass
    assert "合格" == re.search(r'<td class="result">([^<]*)', row(listing, sheets["Y00002"].attempt_id)).group(1)
    for n, s in sheets.items():
        c, t = expected(s, [r_qid])
        assert score_of(row(listing, s.attempt_id)).startswith(f"{c}/{t}（"), n
    # ... and voids a question 二郎 got wrong: out of everyone's count.
    v_qid = next(q for q in sheets["Y00002"].form if q != r_qid and not sheets["Y00002"].verdicts[q])
    page = flashes(vc, vc.post_form(f"/committee/review/sessions/{beginner}/corrections", {
        "question_id": v_qid, "action": "void", "answer": "", "reason": "出題範囲外のため無効"}))
    assert f"{on_form(v_qid)}件の答案を再採点しました（合否が変わった答案: 0件）" in page
    listing = text(vc.get(f"/committee/review/sessions/{beginner}"))
    final = {n: expected(s, [r_qid], [v_qid]) for n, s in sheets.items()}
    assert final["Y00002"] == (7, 9)
    for n, s in sheets.items():
        c, t = final[n]
        assert score_of(row(listing, s.attempt_id)) == f"{c}/{t}（{c * 100 // t}%）", n
    assert re.search(r'id="n-pass">3<', listing) and "未認定の合格答案: 3件" in listing
    record = listing.split("問題の訂正の記録")[1].split("</table>")[0]        # who, why, what: on record
    assert r_qid in record and v_qid in record and "出題範囲外のため無効" in record
    assert "情報技術戦略課長（副委員長）" in record
    sheet_page = text(member.get(f"/committee/review/sessions/{beginner}/sheets/{sheets['Y00002'].attempt_id}"))
    assert re.search(r'id="score">7/9（77%）<', sheet_page) and "（訂正前: " in sheet_page
    assert "無効（全員の採点から除外）" in sheet_page

    # ---- 8. The vice-chair certifies (第2-2): all passing sheets at once, then the failing one
    page = flashes(vc, certify(vc, beginner, all_passing=True))
    assert "3件を認定しました（合格3件、不合格0件）" in page
    assert "合格者3人を合格者名簿に記載し、所属の長への通知を作成しました。" in page
    page = flashes(vc, certify(vc, beginner, [sheets["Y00003"].attempt_id]))
    assert "1件を認定しました（合格0件、不合格1件）" in page
    # Each candidate now sees their own result, and only their own.
    for n in ("Y00002", "Y00003"):
        c, t = final[n]
        done = text(people[n].get(f"/exam/attempts/{sheets[n].attempt_id}/done"))
        assert "<h1 id=\"result-heading\">検定結果: 初級 " in done and f"{c}/{t}問正解（正答率{c * 100 // t}%）" in done
        assert ("不合格" in done) == (n == "Y00003")
        assert key_leaks(done, [questions()[q] for q in sheets[n].form]) == []
    assert people["Y00001"].get(f"/exam/attempts/{sheets['Y00002'].attempt_id}/done").status_code == 404

    # ---- 9. The register (別表第3) and its CSV ------------------------------------------
    reg = text(vc.get("/committee/register/?level=beginner&q=Y0"))
    assert "熱田　一郎" in reg and "熱田　二郎" in reg and "守山　三郎" not in reg
    rows = register_csv(vc, "beginner")
    assert rows[0] == ["級位", "合格年度", "合格時の所属", "現在の所属", "官職（階級）", "氏名", "ふりがな",
                       "生年月日", "職員番号", "合格の根拠", "根拠の詳細"]
    by_number = {r[8]: r for r in rows[1:]}
    assert by_number["Y00001"] == ["初級", fy_label, "熱田警察署", "熱田警察署", "巡査部長", "熱田　一郎",
                                   "あつた　いちろう", "1988-04-01", "Y00001", "本県の検定", ""]
    assert by_number["Y00002"][:9] == ["初級", fy_label, "熱田警察署", "熱田警察署", "主事", "熱田　二郎",
                                       "あつた　じろう", "1990-05-06", "Y00002"]
    assert by_number["V00006"][2:4] == ["", ""] and by_number["V00006"][9] == "本県の検定"
    assert "Y00003" not in by_number and "Y00005" not in by_number

    # ---- 10. Notices (第3-8): in the system, and by e-mail to each head ------------------
    notices = text(vc.get("/committee/register/notices")).split("<tbody>")[1].split("</tbody>")[0]
    assert notices.count("メール送信済") == 2 and notices.count("<tr>") == 3
    volunteer = re.search(r"<tr>(?:(?!</tr>).)*港　六子(?:(?!</tr>).)*</tr>", notices, re.S).group(0)
    assert "（所属なし）" in volunteer and "メール送信失敗" in volunteer
    assert "合格者の所属が登録されていません" in volunteer              # the volunteer: nobody to tell
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["head-atsuta@example.jp"] * 2
    bodies = [parsed(m) for m in smtp.messages]
    assert {m["Subject"] for m in bodies} == {f"【合格者通知】サイバー対処能力検定 初級 {fy_label}"}
    text_bodies = "\n".join(m.get_body().get_content() for m in bodies)
    assert "熱田警察署長 殿" in text_bodies and "熱田　一郎（あつた　いちろう）" in text_bodies
    assert "熱田　二郎（あつた　じろう）" in text_bodies and "1988" not in text_bodies
    head_a = sign_in(app, accounts["Y09001"][0], accounts["Y09001"][1])
    head_page = text(head_a.get("/head/"))
    received = head_page.split('id="notices"')[1].split("</section>")[0]
    assert "熱田　一郎（巡査部長）" in received and "熱田　二郎（主事）" in received and "港　六子" not in received
    notice_ids = [int(i) for i in re.findall(r'/head/notices/(\d+)/read', received)]
    assert len(notice_ids) == 2
    assert "既読にしました" in flashes(head_a, head_a.post_form(f"/head/notices/{notice_ids[0]}/read"))
    printable = text(vc.get("/committee/register/notices/print?" + "&".join(f"id={i}" for i in notice_ids)))
    assert printable.count('<article class="notice">') == 2 and "熱田警察署長　殿" in printable

    # ---- 11. A beginner passer sits 中級; someone without 初級 is refused at the start ------
    assert refused_rows(register(vc, intermediate, staff=[ids["Y00003"]])) == {"守山　三郎": NEEDS_BEGINNER}
    assert "1名を登録しました" in register(vc, intermediate, staff=[ids["Y00001"]])
    # A designation by the director of community safety is recorded for 三郎 (第3-7), so he
    # may be registered; then it proves to be a mistake and is revoked.
    special = dict(staff_number="Y00003", level="beginner", source="designation", source_detail="",
                   fiscal_year=str(fy), evidence="生活安全部長指定 第7号", affiliation_at_pass="")
    vc.get("/committee/register/special")
    assert "初級（生活安全部長の指定）を記録しました" in flashes(vc, vc.post_form("/committee/register/special", special))
    assert "1名を登録しました" in register(vc, intermediate, staff=[ids["Y00003"]])
    special_page = text(vc.get("/committee/register/special"))
    designation = int(re.search(r'/committee/register/special/(\d+)/revoke', special_page).group(1))
    page = flashes(vc, vc.post_form(f"/committee/register/special/{designation}/revoke",
                                    {"reason": "別人の指定を誤って記録したため"}))
    assert "合格記録1件（みなし合格を含む）を取り消しました" in page
    assert f"受検できません: {NEEDS_BEGINNER}" in text(vc.get(f"/committee/sessions/{intermediate}"))
    assert f'action="/exam/sessions/{intermediate}/start"' in text(people["Y00003"].get("/exam/"))
    resp = people["Y00003"].post_form(f"/exam/sessions/{intermediate}/start")
    assert resp.status_code == 403 and NEEDS_BEGINNER in text(resp)
    # 一郎 sits 中級 (11 questions, all right) and the chair certifies it.
    later = sit(people["Y00001"], intermediate, lambda form: [])
    assert later.correct == 11
    page = flashes(chair, certify(chair, intermediate, all_passing=True))
    assert "1件を認定しました（合格1件、不合格0件）" in page
    assert [r[8] for r in register_csv(vc, "intermediate")[1:] if r[8].startswith("Y")] == ["Y00001"]
    assert len(smtp.messages) == 3

    # ---- 12. A special pass (第3-7): another prefecture's 中級 deems 初級 -----------------
    vc.get("/committee/register/special")
    page = flashes(vc, vc.post_form("/committee/register/special", dict(
        special, staff_number="Y00004", level="intermediate", source="other_prefecture",
        source_detail="静岡県警察", fiscal_year="R6", evidence="静岡県警察本部長 合格証 第45号")))
    assert "中級（他都道府県警察の検定）を記録しました。下位の初級も合格とみなしました。" in page
    rows = {r[8]: r for r in register_csv(vc, "beginner")[1:]}
    assert rows["Y00004"][0:2] == ["初級", fiscal_year_label(2024)] and rows["Y00004"][9] == "上位級の特例合格による"
    rows = {r[8]: r for r in register_csv(vc, "intermediate")[1:]}
    assert rows["Y00004"][9:] == ["他都道府県警察の検定", "静岡県警察"]
    assert len(smtp.messages) == 3                                   # special passes are not notices
    # 中級 held, so 上級 may be sat (第3-4); 初級 alone is not enough. The 上級 session is a
    # written one (the National Police Agency's level, 第3-3): registration is what counts here.
    advanced = create_session(vc, session_form(version_id, f"{fy_label} 上級（筆記）", "advanced", "written", "100"))
    outcome = register(vc, advanced, staff=[ids["Y00002"], ids["Y00004"]])
    assert "1名を登録しました" in outcome and refused_rows(outcome) == {"熱田　二郎": NEEDS_INTERMEDIATE}
    # ... and 中級 too, the deemed 初級 counting as a pass (第3-4: from any source).
    candidates = text(vc.get(f"/committee/sessions/{intermediate}/candidates?q=Y00004"))
    # He holds 中級 itself (the special pass): eligible, and the page says he holds it.
    assert re.search(r"<td>守山　四郎</td>.*?<td>可 <span class=\"warn held-note\">中級に合格済み: ", candidates, re.S)

    # ---- 13. A transfer: the register keeps the affiliation at the time of the pass -----
    import_csv(sec, "staff", staff_csv(["Y00002,熱田　二郎,あつた　じろう,1990-05-06,主事,Y02,一般職員,"]),
               "idou.csv")
    rows = {r[8]: r for r in register_csv(sec, "beginner")[1:]}
    assert rows["Y00002"][2:4] == ["熱田警察署", "守山警察署"]

    # ---- 14. Every role sees only what it may ----------------------------------------
    # The head of 熱田: their own staff and notices; another station's person is not found.
    head_page = text(head_a.get("/head/"))
    staff_table = head_page.split('id="staff"')[1].split("</section>")[0]
    assert "熱田　一郎" in staff_table and "熱田　五郎" in staff_table
    assert "熱田　二郎" not in staff_table and "守山" not in staff_table and "港　六子" not in staff_table
    assert head_a.get(f"/head/staff/{ids['Y00003']}").status_code == 404
    assert "熱田　一郎" in text(head_a.get(f"/head/staff/{ids['Y00001']}"))
    head_m = sign_in(app, accounts["Y09002"][0], accounts["Y09002"][1])
    page = text(head_m.get("/head/"))
    staff_table = page.split('id="staff"')[1].split("</section>")[0]
    assert "熱田　二郎" in staff_table and "守山　三郎" in staff_table and "守山　四郎" in staff_table
    assert "熱田　一郎" not in staff_table
    assert "通知はありません。" in page.split('id="notices"')[1].split("</section>")[0]
    assert head_m.post_form(f"/head/notices/{notice_ids[1]}/read").status_code == 404
    for head in (head_a, head_m):
        for url in ("/committee/register/", "/admin/staff", "/committee/review/", "/exam/"):
            assert head.get(url).status_code == 403, url
    # A candidate: the exam and their own results; nothing of the committee's.
    cand = people["Y00001"]
    home = text(cand.get("/exam/"))
    c, t = final["Y00001"]
    assert f"{c}/{t}問正解" in home and "11/11問正解" in home
    assert "熱田　二郎" not in home
    for url in ("/committee/register/", "/committee/review/", f"/committee/review/sessions/{beginner}",
                "/head/", "/admin/staff", "/author/", "/committee/register/export.csv?level=beginner"):
        assert cand.get(url).status_code == 403, url
    # The author: banks, not people.
    assert author.get("/author/").status_code == 200
    for url in ("/committee/register/", "/committee/review/", "/admin/staff", "/head/", "/exam/"):
        assert author.get(url).status_code == 403, url
    # A committee member reads the register and the sheets, but cannot certify, correct,
    # record passes, schedule, admit or send notices.
    assert "熱田　一郎" in text(member.get("/committee/register/?level=beginner"))
    assert member.get("/admin/staff").status_code == 200
    for url in ("/committee/sessions/new", "/committee/register/notices", "/admin/staff/new", "/head/"):
        assert member.get(url).status_code == 403, url
    member.get("/committee/register/special")
    assert member.post_form("/committee/register/special", dict(special, staff_number="Y00002")).status_code == 403
    assert member.post_form("/committee/sessions/admissions", {"staff_id": str(ids["Y00005"]),
                                                               "reason": "x"}).status_code == 403
    assert certify(member, intermediate, [later.attempt_id]).status_code == 403
    # The secretariat: the register (personal data) and accounts; not the exam's results.
    assert "熱田　一郎" in text(sec.get("/committee/register/?level=beginner"))
    for url in ("/committee/review/", f"/committee/review/sessions/{beginner}", "/committee/register/notices",
                "/committee/sessions/new", "/head/", "/exam/"):
        assert sec.get(url).status_code == 403, url
    assert certify(sec, beginner, [sheets["Y00003"].attempt_id]).status_code == 403
    # Anonymous visitors are sent to sign in, and nothing personal is on the way.
    anonymous = Client(app)
    anonymous.get("/login")
    for url in ("/committee/register/", "/committee/register/export.csv?level=beginner", "/head/", "/exam/",
                f"/committee/review/sessions/{beginner}", "/admin/staff"):
        resp = anonymous.get(url)
        assert resp.status_code == 302 and "/login" in resp.location, url
    resp = anonymous.post_form(f"/committee/review/sessions/{beginner}/certify", {"all_passing": "1"})
    assert resp.status_code == 302 and "/login" in resp.location
