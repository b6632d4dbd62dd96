"""Demo content so a newcomer sees a working exam at once: accounts, open sessions, and the
affiliations and staff records the committee's and the secretariat's pages work on."""
from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta

import click
from sqlalchemy import select

from scoring.choice_positions import to_positions
from scoring.jpdate import fiscal_year, to_jst

from ..banks.versions import import_banks, snapshot
from ..db import schema
from ..exam.attempts import find_attempt, record_answer, start_attempt, submit_attempt
from ..extensions import db
from ..materials.demo import ensure_materials
from ..models import (Activity, ActivityMember, Affiliation, Commendation, ExamSession, Member, PassRecord,
                      Proctor, Registration, Staff, User, UserRole, VolunteerGroup, VolunteerRequest, utcnow)
from ..people.appointments import record_setup
from .base import app_context, banks_option, main, resolve_banks

DEMO_PASSWORD = "cbt-demo-2025"
DEMO_USERS = [
    ("candidate1", "愛知 太郎（受検者）", ["candidate"]),
    ("candidate2", "尾張 花子（受検者）", ["candidate"]),
    ("candidate3", "三河 次郎（受検者）", ["candidate"]),
    ("author1", "問題 作成（問題作成者）", ["author"]),
    ("committee1", "検定 委員（委員）", ["committee"]),
    ("vicechair", "情報技術戦略課長（副委員長）", ["vice_chair", "committee"]),
    ("chair", "サイバー局長（委員長）", ["chair", "committee"]),
    ("head1", "中央警察署長（所属の長）", ["head"]),
    ("secretariat1", "庶務 担当（庶務）", ["secretariat"]),
    ("proctor1", "試験 監督（試験監督者）", ["proctor"]),
    ("liaison1", "サイバー対策課 連絡担当（ボランティア連絡担当）", ["liaison"]),
    ("volunteer1", "桜丘 未来（ボランティア団体の代表）", ["volunteer"]),
    ("volunteer2", "港 健太（ボランティア）", ["volunteer"]),
]


# (code, name, head's user name)
DEMO_AFFILIATIONS = [
    ("101", "中央警察署", "head1"),
    ("102", "北警察署", None),
    ("201", "生活安全部情報技術戦略課", None),
    ("202", "サイバー対策課", None),
]
# (staff number, name, furigana, birth date, post, affiliation code, category, user name).
# Staff without a user name never sign in: no password is hashed for them (seeding stays fast).
DEMO_STAFF = [
    ("100001", "愛知　太郎", "あいち　たろう", date(1990, 5, 12), "巡査部長", "101", "警察官", "candidate1"),
    ("100002", "尾張　花子", "おわり　はなこ", date(1994, 11, 3), "主事", "201", "一般職員", "candidate2"),
    ("100003", "三河　次郎", "みかわ　じろう", date(1998, 2, 20), "巡査", "102", "警察官", "candidate3"),
    ("100004", "知多　一郎", "ちた　いちろう", date(1985, 7, 1), "警部補", "101", "警察官", None),
    ("100005", "渥美　美咲", "あつみ　みさき", date(1996, 4, 8), "巡査長", "101", "警察官", None),
    ("100006", "豊田　健", "とよだ　けん", date(1979, 9, 15), "警部", "202", "警察官", None),
    ("100007", "岡崎　由美", "おかざき　ゆみ", date(1988, 12, 24), "技師", "202", "一般職員", None),
    ("100008", "犬山　翔太", "いぬやま　しょうた", date(2000, 1, 30), "巡査", "102", "警察官", None),
    ("100009", "瀬戸　里奈", "せと　りな", date(1992, 6, 18), "主任", "201", "一般職員", None),
    ("100010", "稲沢　大輔", "いなざわ　だいすけ", date(1975, 3, 9), "警視", "201", "警察官", None),
    ("100011", "半田　恵子", "はんだ　けいこ", date(1983, 10, 5), "巡査部長", "102", "警察官", None),
    ("100012", "蒲郡　直樹", "がまごおり　なおき", date(1969, 8, 22), "事務補助員", "101", "臨時補助職員", None),
    ("100013", "熊本　安子", "くまもと　やすこ", date(1987, 2, 14), "警部補", "202", "警察官", "liaison1"),
    ("V0001", "名古屋　学", "なごや　まなぶ", date(2003, 5, 5), "サイバー防犯ボランティア", None, "職員以外", None),
]


def ensure_people(users: dict[str, User]) -> tuple[int, int]:
    """Demo affiliations and staff records; existing ones (by code / staff number) are kept."""
    affs = {a.code: a for a in db.session.scalars(select(Affiliation))}
    for code, name, head in DEMO_AFFILIATIONS:
        if code not in affs:
            affs[code] = Affiliation(code=code, name=name, head_user_id=users[head].id if head else None)
            db.session.add(affs[code])
    db.session.flush()
    known = set(db.session.scalars(select(Staff.staff_number)))
    for number, name, kana, born, post, code, category, username in DEMO_STAFF:
        if number in known:
            continue
        user_id = users[username].id if username else None
        if user_id and db.session.scalar(select(Staff.id).where(Staff.user_id == user_id)):
            user_id = None              # the account was linked to another record meanwhile
        db.session.add(Staff(staff_number=number, name_kanji=name, name_kana=kana, birth_date=born,
                             post=post, affiliation_id=affs[code].id if code else None,
                             employment_category=category, user_id=user_id))
    db.session.flush()
    return len(DEMO_AFFILIATIONS), len(DEMO_STAFF)


# Volunteer groups (name, kind, division in charge by affiliation code, purpose) and their
# members (group, name, furigana, e-mail, school or employer, strengths, leader, under 18,
# guardian who consented or None, user name or None).
DEMO_GROUPS = [
    ("桜丘大学サイバー防犯ボランティア", "university", "202",
     "学生による高齢者向けの広報啓発とサイバーパトロール"),
    ("みどり高校サイバー防犯部", "high_school", "101", "同世代への情報モラル教育"),
]
DEMO_MEMBERS = [
    ("桜丘大学サイバー防犯ボランティア", "桜丘　未来", "さくらおか　みらい", "mirai@example.jp",
     "桜丘大学 情報学部", "ネットワーク、講演", True, False, None, "volunteer1"),
    ("桜丘大学サイバー防犯ボランティア", "港　健太", "みなと　けんた", "kenta@example.jp",
     "桜丘大学 法学部", "SNSの見守り", False, False, None, "volunteer2"),
    ("みどり高校サイバー防犯部", "緑川　さくら", "みどりかわ　さくら", None,
     "みどり高校 2年", "動画編集", True, True, "緑川　正", None),
    ("みどり高校サイバー防犯部", "青木　蓮", "あおき　れん", None,
     "みどり高校 1年", "プログラミング", False, True, None, None),
]


def ensure_volunteers(users: dict[str, User]) -> int:
    """Demo volunteer groups and members; existing groups (by name) are kept."""
    known = set(db.session.scalars(select(VolunteerGroup.name)))
    affs = {a.code: a.id for a in db.session.scalars(select(Affiliation))}
    groups = {}
    for name, kind, division, purpose in DEMO_GROUPS:
        if name not in known:
            groups[name] = VolunteerGroup(name=name, kind=kind, division_id=affs[division], purpose=purpose)
            db.session.add(groups[name])
    db.session.flush()
    joined = to_jst(utcnow()).date() - timedelta(days=200)
    for group, name, kana, email, org, strengths, leader, minor, guardian, username in DEMO_MEMBERS:
        if group in groups:
            db.session.add(Member(
                group_id=groups[group].id, name=name, name_kana=kana, email=email, organisation=org,
                strengths=strengths, joined_on=joined, is_leader=leader, minor=minor,
                guardian_name=guardian, guardian_consent_on=joined if guardian else None,
                user_id=users[username].id if username else None))
    db.session.flush()
    return len(DEMO_GROUPS)


def ensure_volunteer_records(users: dict[str, User]) -> None:
    """For the demo group: an awareness activity marked as good practice, an answered request
    and a commendation of the group, so the volunteers' pages and /honours show something."""
    group = db.session.scalar(select(VolunteerGroup).where(VolunteerGroup.name == DEMO_GROUPS[0][0]))
    if group is None or db.session.scalar(select(Activity.id).where(Activity.group_id == group.id)):
        return
    liaison, leader = users["liaison1"], users["volunteer1"]
    day = to_jst(utcnow()).date() - timedelta(days=30)
    db.session.add(Activity(
        group_id=group.id, kind="awareness", held_on=day, place="桜丘地区公民館", audience="地域の高齢者",
        participants=35, minutes=90, recorded_by=leader.id,
        summary="サポート詐欺の偽の警告画面を寸劇で再現し、画面を閉じる方法と #9110 への相談を案内した。",
        good_practice=True, good_practice_note="寸劇で手口が分かりやすく、他の団体にも勧めたい。",
        good_practice_by=liaison.id, good_practice_at=utcnow(),
        members=[ActivityMember(member_id=m.id, minutes=90) for m in group.members if m.may_take_part]))
    db.session.add(VolunteerRequest(
        group_id=group.id, subject="講座で使う資料について", filed_by=leader.id,
        body="高齢者向け講座で、警察の広報資料を配布してもよいでしょうか。",
        answer="配布して構いません。部数が必要なときはサイバー対策課へご連絡ください。",
        answered_by=liaison.id, answered_at=utcnow()))
    db.session.add(Commendation(
        group_id=group.id, kind="thanks", awarded_on=day, awarded_by="警察本部長", recorded_by=liaison.id,
        reason="高齢者を対象としたサポート詐欺の被害防止講座を継続して開催した。"))
    db.session.flush()


def ensure_user(username: str, name: str, roles: list[str], password: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=name)
        user.set_password(password)
        db.session.add(user)
        for r in roles:
            user.roles.append(UserRole(role=r))
        db.session.flush()
        record_setup(user, roles, "デモ用アカウント")
    return user


def right_answer(question):
    """The bank's right answer, in keys (a text question: its first accepted answer)."""
    if question.type == "multiple":
        return list(question.answer)
    if question.type == "text":
        return question.answer[0]
    return question.answer


def wrong_answer(question):
    """A wrong answer of the question's type, in keys."""
    if question.type == "single":
        return next(c.key for c in question.choices if c.key != question.answer)
    if question.type == "multiple":
        return [next(c.key for c in question.choices if c.key not in question.answer)]
    if question.type == "true_false":
        return not question.answer
    return "まちがい"


def sit_sheet(session: ExamSession, user: User, right: int, started) -> None:
    """A sheet sat through the engine's own save path: the first `right` questions answered
    right, the rest wrong, a save a minute from `started`, then submitted and scored."""
    if find_attempt(session.id, user.id) is not None:
        return
    attempt = start_attempt(session, user, started)
    _blueprint, questions = snapshot(attempt.bank_version)
    seq, at = 0, started
    for position, item in enumerate(attempt.form, start=1):
        question = questions[item["id"]]
        response = right_answer(question) if position <= right else wrong_answer(question)
        at = started + timedelta(minutes=position * 0.8)
        record_answer(attempt, base_seq=seq, client_id=uuid.uuid4().hex, position=position,
                      question_id=question.id, flagged=False, now=at,
                      response=to_positions(question.type, item.get("choice_order", ()), response))
        seq += 1
    submit_attempt(attempt, "candidate", at + timedelta(minutes=2))


def seed_demo(folder: str, passes: bool = True) -> list[str]:
    """Demo content; `passes=False` leaves the register empty (tests build their own)."""
    schema.upgrade()          # the schema comes from the migrations, as in production
    version = import_banks(folder)
    users = {u: ensure_user(u, n, r, DEMO_PASSWORD) for u, n, r in DEMO_USERS}
    n_affs, n_staff = ensure_people(users)
    n_groups = ensure_volunteers(users)
    n_materials = ensure_materials()
    blueprint, _ = snapshot(version)
    now = utcnow()
    fy = fiscal_year(to_jst(now).date())
    lines = [f"bank version {version.short}: {version.question_count} questions",
             f"{n_affs} affiliations, {n_staff} staff records (candidate1-3 linked to their accounts)",
             f"{n_groups} volunteer groups (volunteer1 leads one; liaison1 of サイバー対策課 is its liaison)",
             f"{n_materials} approved awareness materials of that group (/materials/; the handout published)"]
    if passes:
        ensure_volunteer_records(users)
    # candidate1 passed 初級 under the former exam (第4), so may sit the 中級 demo (第3-4).
    staff1 = users["candidate1"].staff
    if passes and staff1 is not None and not db.session.scalar(select(PassRecord).where(
            PassRecord.staff_id == staff1.id, PassRecord.level == "beginner")):
        db.session.add(PassRecord(staff_id=staff1.id, level="beginner", fiscal_year=fy - 1,
                                  source="former_exam", evidence="旧検定の合格証（デモ）",
                                  affiliation_at_pass_id=staff1.affiliation_id, post_at_pass=staff1.post,
                                  recorded_by=users["vicechair"].id))
        db.session.flush()
    for level, candidates in (("beginner", ["candidate1", "candidate2", "candidate3"]),
                              ("intermediate", ["candidate1"])):
        lv = blueprint.levels[level]
        title = f"{fy}年度 サイバー対処能力検定（{lv.name}）デモ"
        session = db.session.scalar(select(ExamSession).where(ExamSession.title == title))
        if session is None or session.closes_at <= now:
            session = ExamSession(title=title, level=level, fiscal_year=fy,
                                  opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=30),
                                  duration_minutes=lv.minutes, question_count=lv.questions,
                                  bank_version_id=version.id)
            db.session.add(session)
            db.session.flush()
        for username in candidates:
            uid = users[username].id
            if not db.session.scalar(select(Registration).where(
                    Registration.session_id == session.id, Registration.user_id == uid)):
                db.session.add(Registration(session_id=session.id, user_id=uid))
        proctor = users["proctor1"].id
        if not db.session.scalar(select(Proctor).where(Proctor.session_id == session.id,
                                                       Proctor.user_id == proctor)):
            db.session.add(Proctor(session_id=session.id, user_id=proctor,
                                   assigned_by=users["vicechair"].id))
        lines.append(f"session '{title}': {lv.questions} questions, {lv.minutes} minutes, "
                     f"open to {', '.join(candidates)}")
        if passes and level == "intermediate":
            # So that the committee's list is not empty and a certification leads somewhere:
            # candidate1 (中央警察署, whose head is head1) sat 中級 an hour ago and passed.
            sit_sheet(session, users["candidate1"], right=lv.questions * 9 // 10,
                      started=session.opens_at + timedelta(minutes=1))
    if passes:
        lines.append("candidate1 holds 初級 from the former exam, and sat 中級 (45 of 50 right): "
                     "the sheet waits for certification")
    db.session.commit()
    lines.append("")
    lines.append(f"demo accounts (password for all: {DEMO_PASSWORD}):")
    for username, name, roles in DEMO_USERS:
        lines.append(f"  {username:<13} {name}")
    return lines


@main.command("demo")
@banks_option
def demo(banks: str | None) -> None:
    """Create the database with the starter banks, demo accounts and open sessions."""
    with app_context() as app:
        # The migrations' and the audit's INFO lines are for operators; a newcomer reads the summary.
        quiet = [logging.getLogger(name) for name in ("alembic", "cbt.audit")]
        levels = [log.level for log in quiet]
        for log in quiet:
            log.setLevel(logging.WARNING)
        try:
            lines = seed_demo(resolve_banks(banks))
        finally:
            for log, level in zip(quiet, levels):
                log.setLevel(level)
    for line in lines:
        click.echo(line)
