"""Sign-in and sign-out for every actor, the role check every page uses, and the sign-in
limits."""
from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")
