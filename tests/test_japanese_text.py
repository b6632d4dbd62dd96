"""Japanese wherever a person reads: soft line breaks in question texts (scoring/text.py and
the one renderer every page uses), the audit events' names, the author preview's levels and
validation messages."""
from __future__ import annotations

import ast
import html
import re
import zipfile
from itertools import pairwise
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from app.banks.messages import MESSAGES, PREFIXES, message_ja
from app.banks.versions import current_version, snapshot
from app.core import audit
from app.core.filters import render_markdown
from app.extensions import db
from app.models import ROOM_ACTIONS, Attempt, AuditEvent, User
from scoring.bank import load_banks
from scoring.interop import export_qti
from scoring.text import is_wide, join_soft_breaks, segment_break
from tests.banktools import good_bank, question
from tests.conftest import BANKS, Client
from tests.test_review import person, session_id, sit

ROOT = Path(__file__).resolve().parent.parent

# --- the pure function --------------------------------------------------------------------

JAPANESE = "あいうえおかなカタカナ漢字検定受理時。、「」（）ー！？０１ｶﾀ"
LATIN = "abcXYZ019.,:;!?()-'\"/"
HANGUL = "한국어"
chars = st.sampled_from(JAPANESE + LATIN + HANGUL)
words = st.text(chars, min_size=1, max_size=8)
gaps = st.text(st.sampled_from(" \t"), max_size=3)


@given(words, gaps, gaps, words)
def test_a_break_beside_a_wide_character_goes_and_one_space_stays_between_latin(a, sp1, sp2, b):
    joined = join_soft_breaks(f"{a}{sp1}\n{sp2}{b}")
    x, y = a[-1], b[0]
    hangul = any("\uac00" <= ch <= "\ud7ff" for ch in (x, y))
    if (is_wide(x) or is_wide(y)) and not hangul:
        assert joined == a + b
    else:
        assert joined == f"{a} {b}"


paragraphs = st.lists(st.lists(words, min_size=1, max_size=4).map("\n".join), min_size=1, max_size=4)


@given(paragraphs)
def test_paragraphs_stay_and_no_line_break_is_left_inside_one(paras):
    text = "\n\n".join(paras)
    out = join_soft_breaks(text)
    assert out.split("\n\n") == [join_soft_breaks(p) for p in paras]
    assert all("\n" not in p for p in out.split("\n\n"))
    # Only whitespace changes, and only once: the function is idempotent.
    assert re.sub(r"\s", "", out) == re.sub(r"\s", "", text)
    assert join_soft_breaks(out) == out


@given(st.text(chars | st.sampled_from(" \t\u3000"), max_size=30))
def test_text_on_one_line_is_left_alone(text):
    assert join_soft_breaks(text) == text


@given(chars, chars)
def test_segment_break_is_symmetric(x, y):
    assert segment_break(x, y) == segment_break(y, x) in ("", " ")


@given(st.lists(words, min_size=2, max_size=6))
def test_rendered_markdown_has_no_break_beside_a_wide_character(lines):
    rendered = str(render_markdown("\n".join(lines)))
    # Inside a paragraph (a line may start a list or a heading: those breaks are no soft ones).
    for para in re.findall(r"<p>(.*?)</p>", rendered, re.DOTALL):
        for m in re.finditer(r"(\S)\s+(\S)", html.unescape(para)):
            assert segment_break(m.group(1), m.group(2)) == " ", rendered


def test_examples():
    assert join_soft_breaks("（いわゆる偽ショップ）。\n  受理時に") == "（いわゆる偽ショップ）。受理時に"
    assert join_soft_breaks("English words \nwrap here") == "English words wrap here"
    assert join_soft_breaks("IP アドレス\nを") == "IP アドレスを"
    assert join_soft_breaks("Windows\n管理者") == "Windows管理者"
    assert join_soft_breaks("段落。\n\n次の段落") == "段落。\n\n次の段落"
    assert join_soft_breaks("한국어\n문장") == "한국어 문장"


# --- every bundled question, rendered as the exam renders it -------------------------------

_BLOCK = re.compile(r"\s*([-*+]\s|\d+[.)]\s|#|>|\||```|~~~)")


def source_breaks(text: str):
    """(end of a line, start of the next) for each soft line break of a Markdown source that
    falls between two wide characters: read from the lines, outside code fences, where the
    next line starts no block of its own."""
    lines, fenced = text.split("\n"), False
    for line, nxt in pairwise(lines):
        if re.match(r"\s*(```|~~~)", line):
            fenced = not fenced
            continue
        if fenced or line.lstrip().startswith("|") or _BLOCK.match(nxt):
            continue
        end, start = re.sub(r"[*`]", "", line).rstrip(), re.sub(r"[*`]", "", nxt).strip()
        if end and start and is_wide(end[-1]) and is_wide(start[0]):
            yield end[-3:], start[:3]


def visible(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<pre>.*?</pre>", "", page, flags=re.DOTALL)))


def check_joined(page: str, texts) -> int:
    """Each source break between two wide characters is shown with nothing between them."""
    shown, n = visible(page), 0
    for text in texts:
        for end, start in source_breaks(text):
            assert end + start in shown, (end, start)
            assert not re.search(re.escape(end) + r"\s+" + re.escape(start), shown), (end, start)
            n += 1
    return n


def texts_of(q):
    return [q.stem, q.explanation] + [c.text for c in q.choices]


def test_every_bundled_question_renders_without_a_stray_space(app):
    loaded = load_banks(BANKS)
    assert loaded.ok and len(loaded.questions) >= 290
    checked = stems = 0
    with app.test_request_context():
        from flask import render_template
        for q in loaded.questions.values():
            item = {"position": 1, "q": q, "choices": list(q.choices), "response": None}
            page = render_template("shared_question.html", it=item, q=q, total=1)
            page += str(render_markdown(q.explanation))        # as practice and review show it
            n = check_joined(page, texts_of(q))
            stems += bool(list(source_breaks(q.stem)))
            checked += n
            # Choices are one line in the source: nothing there for a break to become.
            assert all("\n" not in c.text.strip() for c in q.choices)
    assert stems > 70 and checked > 300      # the starter banks have many such breaks


def _with_breaks(questions, pool=None):
    return [q for q in questions.values() if (pool is None or q.pool == pool)
            and (list(source_breaks(q.stem)) or list(source_breaks(q.explanation)))]


def form_of(app, attempt_id: int) -> list:
    """The questions of an attempt's form, in its order, as its bank version holds them."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        _bp, questions = snapshot(attempt.bank_version)
        return [questions[i["id"]] for i in attempt.form]


def test_the_exam_page_shows_every_stem_of_the_form_joined(app, candidate):
    state = candidate.start()
    page = candidate.get(f"/exam/attempts/{state['attempt']}").get_data(as_text=True)
    form = form_of(app, state["attempt"])
    assert len(form) == 40
    assert check_joined(page, [t for q in form for t in [q.stem] + [c.text for c in q.choices]]) > 0


def test_practice_feedback_shows_the_stem_and_explanation_joined(app, candidate):
    with app.app_context():
        _bp, questions = snapshot(current_version())
    q = _with_breaks(questions, "practice")[0]
    data = {"question_id": q.id, "level": q.levels[0], "topic": "", "order_token": "t"}
    resp = candidate.post_form("/exam/practice/answer", data)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert check_joined(page, [q.stem, q.explanation]) > 0


def test_author_preview_shows_every_question_joined(app):
    c = Client(app)
    assert c.login("author1").status_code == 302
    loaded = load_banks(BANKS)
    checked, page_no = 0, 1
    while True:
        page = c.get(f"/author/?page={page_no}").get_data(as_text=True)
        ids = re.findall(r'<article class="card preview-item" id="([^"]+)"', page)
        if not ids:
            break
        for qid in ids:
            card = page[page.index(f'id="{qid}"'):]
            card = card[:card.index("</article>")]
            checked += check_joined(card, texts_of(loaded.questions[qid]))
        page_no += 1
    assert page_no > 10 and checked > 300


def test_review_sheet_shows_the_form_joined(app):
    sid = session_id(app)
    uid = person(app, "jp01", "JP0001", register_in=sid)
    aid = sit(app, sid, uid, lambda pos, q: "right")
    c = Client(app)
    assert c.login("committee1").status_code == 302
    page = c.get(f"/committee/review/sessions/{sid}/sheets/{aid}").get_data(as_text=True)
    assert check_joined(page, [q.stem for q in form_of(app, aid)]) > 0


def test_a_choice_described_in_words_on_the_review_sheet_is_joined():
    from dataclasses import replace

    from app.review.sheets import describe
    from scoring.bank import Choice
    q = next(q for q in load_banks(BANKS).questions.values() if q.type == "single")
    q = replace(q, choices=(Choice(q.answer, "相談者から\n  資料を受け取る"),) + tuple(
        c for c in q.choices if c.key != q.answer))
    order = [c.key for c in q.choices]
    assert describe(q, order, q.answer) == f"ア（{q.answer}）相談者から資料を受け取る"
    assert describe(q, order, q.answer, bank_keys=False) == "ア 相談者から資料を受け取る"   # the candidate's


def test_qti_export_has_no_stray_space(tmp_path):
    loaded = load_banks(BANKS)
    chosen = _with_breaks(loaded.questions)[:20]
    out = tmp_path / "qti.zip"
    export_qti(chosen, out)
    with zipfile.ZipFile(out) as z:
        body = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    assert check_joined(body, [q.stem for q in chosen]) > 0


# --- audit events -------------------------------------------------------------------------

# An event code built at run time: the f-string's fixed prefix and the codes it can end with.
DYNAMIC = {"room_": ROOM_ACTIONS}


def recorded_events() -> set[str]:
    """Every event code the application can record: the first argument of each call to
    audit.record / audit.record_now, followed through the module-level helpers that pass
    an `event` parameter on (the backup command's _audit and _fail)."""
    codes: set[str] = set()
    unresolved = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Local function name -> where its event goes; audit.py's own record_now calls record.
        forwarders = {"record": 0, "record_now": 0} if path.name == "audit.py" else {}
        for _ in range(3):                          # helpers that call helpers
            for fn in ast.walk(tree):
                if isinstance(fn, ast.FunctionDef):
                    params = [a.arg for a in fn.args.args]
                    if "event" in params and any(_recorder(c, forwarders) is not None for c in ast.walk(fn)
                                                 if isinstance(c, ast.Call)):
                        forwarders[fn.name] = params.index("event")
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            at = _recorder(call, forwarders)
            if at is None:
                continue
            arg = call.args[at] if len(call.args) > at else \
                next((k.value for k in call.keywords if k.arg == "event"), None)
            for node in ([arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]):
                if node is None or (isinstance(node, ast.Constant) and node.value is None):
                    continue                        # _fail(exc): nothing recorded
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    codes.add(node.value)
                elif isinstance(node, ast.Name) and node.id == "event":
                    continue                        # a forwarder passing its own parameter on
                elif (isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant)
                      and node.values[0].value in DYNAMIC and len(node.values) == 2):
                    codes.update(node.values[0].value + a for a in DYNAMIC[node.values[0].value])
                else:
                    unresolved.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert not unresolved, f"event codes this test cannot read: {unresolved}"
    return codes


def _recorder(call: ast.Call, forwarders: dict) -> int | None:
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr in ("record", "record_now") and \
            isinstance(f.value, ast.Name) and f.value.id == "audit":
        return 0
    if isinstance(f, ast.Name) and f.id in forwarders:
        return forwarders[f.id]
    return None


def test_every_recorded_event_has_a_japanese_name():
    codes = recorded_events()
    assert {"attempt_started", "login", "room_pause", "backup_failed",
            "notice_withdrawal_email_failed"} <= codes and len(codes) > 60
    missing = sorted(c for c in codes if c not in audit.EVENT_NAMES)
    assert not missing, f"audit events without a Japanese name (app/core/audit.py): {missing}"
    for code, name in audit.EVENT_NAMES.items():
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", name), (code, name)
    # No name for an event nothing records (a renamed code would leave one behind).
    assert set(audit.EVENT_NAMES) <= codes


def test_the_audit_page_and_its_export_name_a_recorded_event(app):
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "candidate1"))
        audit.record("attempt_started", uid, attempt_id=1, session_id=1)
        audit.record("room_add_time", uid, session_id=1, seconds=300, reason="端末の不調")
        db.session.commit()
        ids = [e.id for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))][-2:]
    c = Client(app)
    assert c.login("committee1").status_code == 302
    page = c.get("/admin/audit?event=attempt_started").get_data(as_text=True)
    row = page[page.index(f'data-id="{ids[0]}"'):]
    row = row[:row.index("</tr>")]
    assert "受検の開始" in row and "<code>attempt_started</code>" in row
    assert "試験会場: 時間の追加（room_add_time）" in page       # the filter's choices by name
    csv_text = c.get("/admin/audit/export.csv?event=room_add_time").get_data().decode("utf-8-sig")
    assert "room_add_time,試験会場: 時間の追加," in csv_text


# --- the author preview: levels and validation messages in Japanese ------------------------

def author(app):
    c = Client(app)
    assert c.login("author1").status_code == 302
    return c


def test_preview_names_levels_in_japanese(app):
    page = author(app).get("/author/?topic=law_procedure").get_data(as_text=True)
    metas = re.findall(r'<header class="meta">(.*?)</header>', page, re.DOTALL)
    assert metas and all("初級" in m for m in metas)
    assert "初級・中級" in page
    assert not any(re.search(r"\b(beginner|intermediate|advanced)\b", m) for m in metas)


BROKEN = {
    "bad.yaml": (question("OK-1") + question("BAD-1", extra="    colour: red\n")
                 + question("BAD-2", levels="[expert]") + question("BAD-3", answer="z")
                 + question("BAD-4", qtype="multiple", answer="[a, a]")
                 + question("BAD-5", qtype="true_false", answer="maybe")
                 + question("BAD-6", topic="nowhere") + question("BAD-7", area="law")
                 + question("BAD-8", qtype="essay") + question("BAD-9", pool="live")
                 + question("BAD-10", status="done") + question("OK-1")
                 + question("WARN-1", topic="deep", levels="[beginner, intermediate]")),
    "top.yaml": "colour: red\nquestions: []\n",
    "syntax.yaml": "- id: [unclosed\n",
    "alias.yaml": "- &a {id: A}\n- *a\n",
    "empty.yaml": "",
}


def test_every_problem_of_a_broken_bank_is_in_japanese_on_the_preview(app, tmp_path):
    folder = good_bank(tmp_path / "b")
    for name, body in BROKEN.items():
        (folder / name).write_text(body, encoding="utf-8")
    loaded = load_banks(folder)
    problems = loaded.problems + loaded.warnings
    assert len(problems) >= 14
    for p in problems:
        ja = message_ja(p.message)
        assert ja != p.message and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", ja), p.message
        assert not re.search(r"\b(question|unknown|must|among|level)\b", ja), (p.message, ja)
    app.config["BANKS_DIR"] = str(folder)
    page = author(app).get("/author/").get_data(as_text=True)
    assert re.search(r"bad\.yaml:\d+</code> 問題 BAD-1: 不明なキー「colour」があります", page)
    assert re.search(r"bad\.yaml:\d+</code> 問題 BAD-2: 不明な級位「expert」です", page)
    assert re.search(r"bad\.yaml:\d+</code> 問題ID「OK-1」が重複しています（最初の定義: [^）]*bad\.yaml:1）",
                     page)
    page = author(app).get("/author/?topic=deep").get_data(as_text=True)       # its own card
    assert re.search(r"bad\.yaml:\d+</code> 注意: 問題 WARN-1: 項目「deep」は初級（beginner）の出題範囲外", page)


def test_a_message_the_table_does_not_know_is_shown_as_it_is():
    assert message_ja("something new went wrong") == "something new went wrong"
    assert message_ja("question 'Q-1': something new") == "question 'Q-1': something new"


def _source_templates() -> list[str]:
    """Every string scoring/ can write, with each interpolated value as {}."""
    out = []
    for path in (ROOT / "scoring").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append(node.value)
            elif isinstance(node, ast.JoinedStr):
                out.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
    return out


def test_every_template_matches_a_message_the_source_can_still_write():
    sources = _source_templates()
    # A prefix is written as a label of its own ("question 'X'") and joined with ": ".
    for english in [en for en, _ja in MESSAGES] + [en.rstrip(": ") for en, _ja in PREFIXES]:
        parts = re.split(r"\{\w+\}", english)
        regex = r"(?:\{\}|.+?)".join(re.escape(p) for p in parts)
        assert any(re.search(regex, s) for s in sources), english
