"""`python -m app.cli`: the same as `cbt`."""
from . import main

main()
