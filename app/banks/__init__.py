"""Question banks and authoring: bank versions in the database (versions.py) and the author's
preview, sample forms and version history (routes.py)."""
from flask import Blueprint

bp = Blueprint("author", __name__, url_prefix="/author", template_folder="templates")
