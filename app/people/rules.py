"""Who may work on people and accounts, and the error their operations raise."""
from __future__ import annotations

MANAGE_ROLES = ("secretariat", "vice_chair", "chair")


# Personal data is for the committee and the secretariat (domain.md): they may read the lists.
VIEW_ROLES = MANAGE_ROLES + ("committee",)


AUDIT_ROLES = ("committee", "vice_chair", "chair", "secretariat")


class PeopleError(Exception):
    """A refusal to show the person asking (Japanese)."""


# Where question authors come from (第2-4(2): 情報技術戦略課員): the affiliation code of
# 情報技術戦略課, set as IT_STRATEGY_AFFILIATION in instance/config.py; the default is the
# demo's 201 生活安全部情報技術戦略課.
DEFAULT_IT_STRATEGY_AFFILIATION = "201"


# Who reads the appointments (任命の記録): the committee and the secretariat.
APPOINTMENT_VIEW_ROLES = ("committee", "vice_chair", "chair", "secretariat")
