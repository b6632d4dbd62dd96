"""Exam delivery (受検): the candidate's pages, the answer-save path, the deadline, practice
mode.

- routes.py: the open sessions, sitting the exam, saving answers, submitting
- attempts.py: the exam's rules for one attempt (start, save the checked way, submit, score)
- saving.py: the usual save, the same rules in one statement (on app/db's group commit)
- sweeper.py: the deadline kept with no browser left
- practice.py: practice mode (第3-11); fragments.py: the exam page's questions, cached"""
from flask import Blueprint

bp = Blueprint("candidate", __name__, url_prefix="/exam", template_folder="templates")
