"""The public honours page (表彰・感謝状, circular 3(1)): commendations of volunteer groups
and of members who consented to being named; no sign-in, no contact data."""
from flask import Blueprint

bp = Blueprint("honours", __name__, url_prefix="/honours")
