"""Exam sessions and who may sit them (第3-2, 第3-4, 第3-5): the vice-chair's and chair's
pages (routes.py), sessions (ops.py), registrations and admissions (registrations.py),
eligibility (eligibility.py)."""
from flask import Blueprint

bp = Blueprint("sessions", __name__, url_prefix="/committee/sessions", template_folder="templates")
