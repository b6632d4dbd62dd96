"""The register (別表第3) and what follows a pass: special and transitional passes
(passes.py), notices to affiliation heads (notices.py), periodic training (training.py),
the committee's pages (routes.py) and the heads' view of their own staff (head.py)."""
from flask import Blueprint

bp = Blueprint("register", __name__, url_prefix="/committee/register", template_folder="templates")
head_bp = Blueprint("head", __name__, url_prefix="/head", template_folder="templates")
