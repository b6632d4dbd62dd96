"""Volunteers' certificates (3(3)): completion and activity certificates issued by the
division in charge, their printable page, PDF and signed Open Badges 3.0 credential, and
the public verification page a university opens from the URL or QR code."""
from flask import Blueprint

bp = Blueprint("certificates", __name__, url_prefix="/certificates", template_folder="templates")
