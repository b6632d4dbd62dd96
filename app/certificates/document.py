"""What a certificate shows on paper, the same on the printable page, the PDF and the
public verification page: a lead sentence and rows of (label, value), from the snapshot."""
from __future__ import annotations

from datetime import date, datetime

import segno

from scoring.credentials import hours
from scoring.jpdate import format_date_jp, to_jst


def _day(text: str) -> str:
    return format_date_jp(date.fromisoformat(text))


def lead(statement: dict) -> str:
    if statement["kind"] == "completion":
        return "あなたは、サイバー防犯ボランティアの専門性向上のための研修を修了したことを証します。"
    return "あなたは、下記の期間、サイバー防犯ボランティアとして次のとおり活動したことを証明します。"


def rows(statement: dict) -> list[tuple[str, str]]:
    out = [("氏名", statement["member"]["name"]), ("団体", statement["group"]["name"])]
    if statement["kind"] == "completion":
        c = statement["course"]
        out += [("研修", c["title"]), ("修了日", _day(c["completed_on"])),
                ("得点", f"{c['score']} / {c['total']}"), ("研修時間", f"{hours(c['minutes'])}時間")]
    else:
        p = statement["period"]
        out.append(("期間", f"{_day(p['from'])} から {_day(p['to'])} まで"))
        out += [(k["name"], f"{hours(k['minutes'])}時間（{k['count']}回）") for k in statement["by_kind"]]
        out.append(("活動時間の合計", f"{hours(statement['total_minutes'])}時間（{statement['activities']}回）"))
        courses = "、".join(f"{c['title']}（{_day(c['completed_on'])}、{hours(c['minutes'])}時間）"
                           for c in statement["courses"])
        out.append(("期間中に修了した研修", courses or "なし"))
    return out


def issued_line(statement: dict) -> str:
    return _day(statement["issued_on"])


def revoked_line(moment: datetime) -> str:
    return format_date_jp(to_jst(moment).date())


def qr(url: str) -> segno.QRCode:
    # Level M: survives a crease or a smudge on paper, still small at this URL's length.
    return segno.make_qr(url, error="m")
