"""Volunteers' training (専門性向上, circular 3(2)): courses of quiz modules drawn from the
training bank, retakes, completion and the progress the group's overseers see."""
from flask import Blueprint

bp = Blueprint("training", __name__, url_prefix="/training", template_folder="templates")
