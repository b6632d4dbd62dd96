"""Who may sit which level (第3-2, 第3-4): pure rules, one place for registration and start."""
from __future__ import annotations

EXCLUDED_CATEGORIES = ("一般職非常勤職員", "臨時的任用職員", "任期付採用職員", "臨時補助職員")
NON_STAFF = "職員以外"
PREREQUISITE = {"intermediate": "beginner", "advanced": "intermediate"}
LEVEL_NAMES = {"beginner": "初級", "intermediate": "中級", "advanced": "上級"}


def refusals(level: str, employment_category: str | None, admitted: bool,
             levels_held: set[str]) -> list[str]:
    """Reasons (Japanese, for the person refused) why someone may not sit `level`; empty
    when they may. `levels_held` counts a pass from any source, deemed ones included."""
    reasons = []
    if employment_category is None:
        reasons.append("職員情報が登録されていません。庶務にお問い合わせください。")
    elif employment_category in EXCLUDED_CATEGORIES:
        if not admitted:
            reasons.append(f"{employment_category}は受検対象外です（第3-2）。委員長の受検許可が必要です。")
    elif employment_category == NON_STAFF and not admitted:
        reasons.append("職員以外の方の受検には委員長の許可が必要です（第3-2ただし書）。")
    need = PREREQUISITE.get(level)
    if need and need not in levels_held:
        reasons.append(f"{LEVEL_NAMES[level]}の受検には{LEVEL_NAMES[need]}の合格が必要です（第3-4）。")
    return reasons


def implied_levels(level: str, order: tuple[str, ...] = ("beginner", "intermediate", "advanced")) -> list[str]:
    """第3-7 なお書: a special pass at a level deems every level below it passed."""
    return list(order[: order.index(level)])
