"""People (庶務): affiliations, staff records, sign-in accounts and roles, CSV imports, and
the audit log viewer."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
