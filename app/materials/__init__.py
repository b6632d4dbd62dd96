"""Awareness materials of volunteer groups (広報啓発資料, circular 2(3)): drafted by the
group in the browser, reviewed by its division in charge, used or published only once
approved. Routes in routes.py; quizsource.py hands approved quizzes to the public quizzes."""
from flask import Blueprint

bp = Blueprint("materials", __name__, url_prefix="/materials", template_folder="templates")
