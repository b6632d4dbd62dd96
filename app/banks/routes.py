"""Question authors (問題作成者): preview the banks as candidates see them, sample forms,
and bank versions with their differences."""
from __future__ import annotations

import bisect
import os
import random

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from scoring.assembly import Assembler, AssemblyError, new_seed
from scoring.bank import load_banks, relpath_for_display
from scoring.eligibility import LEVEL_NAMES
from scoring.versions import diff, history

from ..auth.routes import role_required
from ..core import audit
from ..extensions import db
from ..models import BankVersion
from . import bp
from .forms import LoadBanksForm
from .messages import message_ja
from .versions import BankError, bank_folder, import_banks, snapshot

AUTHORS = ("author", "vice_chair", "chair")
FILTERS = ("level", "area", "topic", "type", "pool", "status")


def _problems_by_question(loaded):
    """Place each problem beside the question entry that starts at or before its line;
    entries that did not load are returned too, so their problems are not misplaced."""
    starts: dict[str, list[tuple[int, str, bool]]] = {}
    for file, line, qid, valid in loaded.entries:
        starts.setdefault(file, []).append((line, qid, valid))
    for lst in starts.values():
        lst.sort()
    beside: dict[str, list] = {}
    broken: dict[str, dict] = {}
    loose = []
    for p in loaded.problems + loaded.warnings:
        lst = starts.get(p.file, [])
        i = bisect.bisect_right(lst, (p.line, "\uffff", True)) - 1
        if i < 0:
            loose.append(p)
            continue
        line, qid, valid = lst[i]
        if valid and "duplicate id" not in p.message:
            beside.setdefault(qid, []).append(p)
        else:
            entry = broken.setdefault(f"{p.file}:{line}", {"id": qid, "file": p.file, "line": line,
                                                            "problems": []})
            entry["problems"].append(p)
    return beside, list(broken.values()), loose


def _item(q, position=1, shuffle=False):
    order = [c.key for c in q.choices]
    if shuffle and q.shuffle:
        random.shuffle(order)
    by_key = {c.key: c for c in q.choices}
    return {"position": position, "q": q, "choices": [by_key[k] for k in order], "response": None}


def _level_names(blueprint) -> dict[str, str]:
    """初級, 中級, 上級 as the blueprint names them (the default names for a blueprint that
    did not load)."""
    names = dict(LEVEL_NAMES)
    if blueprint is not None:
        names.update({k: lv.name for k, lv in blueprint.levels.items()})
    return names


@bp.get("/")
@role_required(*AUTHORS)
def preview():
    folder = bank_folder()
    loaded = load_banks(folder)
    args = {k: request.args.get(k) or "" for k in FILTERS}
    beside, broken, loose = _problems_by_question(loaded)
    shown = []
    for q in loaded.questions.values():
        if args["level"] and args["level"] not in q.levels:
            continue
        if any(args[k] and getattr(q, k) != args[k] for k in ("area", "topic", "type", "pool", "status")):
            continue
        shown.append(q)
    page = max(1, request.args.get("page", 1, type=int))
    per_page = 20
    items = [_item(q, i + 1 + (page - 1) * per_page) for i, q in enumerate(shown[(page - 1) * per_page: page * per_page])]
    return render_template("author/preview.html", loaded=loaded, items=items, beside=beside,
                           loose=loose, broken=broken, args=args, page=page, pages=max(1, -(-len(shown) // per_page)),
                           total_shown=len(shown), rel=relpath_for_display,
                           folder=folder, basename=os.path.basename, ja=message_ja,
                           level_names=_level_names(loaded.blueprint))


@bp.get("/sample")
@role_required(*AUTHORS)
def sample():
    loaded = load_banks(bank_folder())
    level = request.args.get("level", "beginner")
    if not loaded.ok:
        return render_template("author/sample.html", loaded=loaded, level=level, items=[],
                               error="問題ファイルにエラーがあるため、見本を作成できません。", seed=None)
    try:
        seed = request.args.get("seed", type=int) or new_seed()
        form = Assembler(loaded.blueprint, loaded.questions, level).draw(seed)
    except AssemblyError as exc:
        return render_template("author/sample.html", loaded=loaded, level=level, items=[],
                               error=message_ja(str(exc)), seed=None)
    items = []
    for i, it in enumerate(form.items, start=1):
        q = loaded.questions[it.id]
        by_key = {c.key: c for c in q.choices}
        items.append({"position": i, "q": q, "choices": [by_key[k] for k in it.choice_order],
                      "response": None})
    return render_template("author/sample.html", loaded=loaded, level=level, items=items,
                           error=None, seed=seed)


@bp.get("/versions")
@role_required(*AUTHORS)
def versions():
    rows = list(db.session.scalars(select(BankVersion).order_by(BankVersion.id.desc())))
    a_id, b_id = request.args.get("a", type=int), request.args.get("b", type=int)
    result = None
    if a_id and b_id:
        a, b = db.session.get(BankVersion, a_id), db.session.get(BankVersion, b_id)
        if a is None or b is None:
            abort(404)
        result = {"a": a, "b": b, "diff": diff(snapshot(a)[1], snapshot(b)[1])}
    return render_template("author/versions.html", rows=rows, result=result, form=LoadBanksForm())


@bp.post("/versions/load")
@role_required(*AUTHORS)
def load_version():
    if not LoadBanksForm().validate_on_submit():
        abort(400)
    try:
        before = db.session.scalar(select(BankVersion.id).order_by(BankVersion.id.desc()).limit(1))
        version = import_banks()
    except BankError as exc:
        flash(f"問題ファイルに{len(exc.loaded.problems)}件のエラーがあるため登録できません。"
              "プレビュー画面で確認してください。", "error")
        return redirect(url_for(".versions"))
    audit.record("bank_version_loaded", digest=version.digest, questions=version.question_count)
    db.session.commit()
    if version.id == before:
        flash(f"内容に変更はありません（バージョン {version.short}）。", "info")
    else:
        flash(f"バージョン {version.short} を登録しました（{version.question_count}問）。", "info")
    return redirect(url_for(".versions", a=before, b=version.id) if before and before != version.id
                    else url_for(".versions"))


@bp.get("/questions/<qid>/history")
@role_required(*AUTHORS)
def question_history(qid: str):
    rows = list(db.session.scalars(select(BankVersion).order_by(BankVersion.id)))
    events = history(qid, [(v.short, snapshot(v)[1]) for v in rows])
    if not events:
        abort(404)
    created = {v.short: v.created_at for v in rows}
    latest = next((snapshot(v)[1][qid] for v in reversed(rows) if qid in snapshot(v)[1]), None)
    return render_template("author/history.html", qid=qid, events=events, created=created, q=latest)
