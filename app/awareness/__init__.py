"""Public awareness quizzes (広報啓発, circular 2(2)): volunteers and liaisons run a quiz for
an audience (`bp`, signed in: events.py); participants answer it by code or QR with no
sign-in and no personal data (`public_bp`: public.py). Quiz sources: sources.py."""
from flask import Blueprint

bp = Blueprint("awareness", __name__, url_prefix="/awareness", template_folder="templates")
public_bp = Blueprint("quiz", __name__, url_prefix="/q", template_folder="templates")
