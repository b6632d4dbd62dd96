"""Pure exam logic: banks, blueprint, form assembly, grading and scoring.

Nothing here imports Flask, SQLAlchemy or `app`: it is plain data in, plain data out,
so the same code serves the web app, the `cbt` command and the tests.
"""
