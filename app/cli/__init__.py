"""The `cbt` command: bank checks and form draws for authors and outside checks, and the
running of the engine for the secretariat. One module per command group; bank commands
need no database or server.

- base.py: the `cbt` group and what every command shares
- banks.py: `bank validate|load|import|export-qti`, `form draw` (interop.py: the import and
  export themselves)
- database.py: `db upgrade|current|revision`, `init-db`; backup.py: `backup`, `restore`
- server.py: `serve`, `sweep`; demo.py: `demo` and the demo content
- people.py: `staff import`, `affiliations import`, `appointments record`; register.py: `passes import`,
  `training import`, `register export`; stats.py: `stats`
"""
from . import backup, banks, database, demo, people, register, server, stats
from .base import main

# The groups defined apart from `main` (so that their modules need not import it).
main.add_command(stats.stats)
main.add_command(people.staff_group)
main.add_command(people.affiliations_group)
main.add_command(people.appointments_group)
main.add_command(register.passes)
main.add_command(register.training)
main.add_command(register.register)
main.add_command(backup.backup_cmd)
main.add_command(backup.restore_cmd)

__all__ = ["main", "banks", "database", "demo", "server"]
