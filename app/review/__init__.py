"""Review and certification (第2-2, 第3-6): scored sheets, corrections and regrading, the
written part, certifying and revoking, and item statistics.

- routes.py: the review pages (sessions, sheets, exports); decisions.py: written scores,
  corrections, certification (the committee's decisions)
- scoring.py, sheets.py, written.py, certification.py: the operations behind them
- stats.py: item statistics (項目分析), its own blueprint under /committee"""
from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/committee/review", template_folder="templates")
stats_bp = Blueprint("committee", __name__, url_prefix="/committee", template_folder="templates")
