"""The exam room (試験会場): the proctor's view of a sitting and their actions (routes.py),
the operations behind them (ops.py). The candidate's side of the room (the lobby, the
start, a pause felt by the page) is in app/exam."""
from flask import Blueprint

bp = Blueprint("room", __name__, url_prefix="/room", template_folder="templates")
