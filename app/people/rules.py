"""Who may work on people and accounts, and the error their operations raise."""
from __future__ import annotations

MANAGE_ROLES = ("secretariat", "vice_chair", "chair")


# Personal data is for the committee and the secretariat (domain.md): they may read the lists.
VIEW_ROLES = MANAGE_ROLES + ("committee",)


AUDIT_ROLES = ("committee", "vice_chair", "chair", "secretariat")


class PeopleError(Exception):
    """A refusal to show the person asking (Japanese)."""
