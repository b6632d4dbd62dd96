"""Database infrastructure, apart from the rules it serves: the engine's settings and
per-engine caches (engine), SQLite's write gate (writegate), statements run on the bare
driver cursor (statements), group commit (groupcommit), outages and readiness (health),
the schema and its migrations (schema, migrations/), backups (backup)."""
