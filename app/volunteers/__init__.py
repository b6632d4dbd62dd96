"""Cyber crime prevention volunteers (サイバー防犯ボランティア): who may see and do what with
a group (access.py). Pages attach to `bp` from their route modules."""
from flask import Blueprint

bp = Blueprint("volunteers", __name__, url_prefix="/volunteers", template_folder="templates")
