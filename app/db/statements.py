"""Core statements compiled once per engine and run on the bare driver cursor."""
from __future__ import annotations


class DriverStatement:
    """A Core statement compiled once for an engine's dialect and then run on the bare
    driver cursor: the usual save's two statements skip SQLAlchemy's per-execution work
    (an execution context, parameter and result handling set up each time), about 40% of
    the save's database time (bench/README.md). The SQL, the parameter order
    and the type conversions are still SQLAlchemy's, taken from the compiled statement."""

    def __init__(self, stmt, dialect, keys=None):
        self.compiled = stmt.compile(dialect=dialect, column_keys=keys)
        self.sql = self.compiled.string
        self.order = self.compiled.positiontup if self.compiled.positional else None
        binds = self.compiled.binds
        self.processors = [(name, proc) for name, bind in binds.items()
                           if (proc := bind.type.dialect_impl(dialect).bind_processor(dialect))]
        self.result_processors = [c.type.dialect_impl(dialect).result_processor(dialect, None)
                                  for c in stmt.exported_columns]

    def _send(self, cursor, params: dict) -> None:
        values = self.compiled.construct_params(params)
        for name, proc in self.processors:
            values[name] = proc(values[name])
        cursor.execute(self.sql, [values[k] for k in self.order] if self.order else values)

    def _row(self, row) -> tuple:
        return tuple(proc(v) if proc else v for proc, v in zip(self.result_processors, row))

    def execute(self, cursor, params: dict):
        """The first row returned (None without one or without a RETURNING)."""
        self._send(cursor, params)
        if not self.result_processors:
            return None
        row = cursor.fetchone()
        return None if row is None else self._row(row)

    def execute_all(self, cursor, params: dict) -> list[tuple]:
        self._send(cursor, params)
        return [self._row(row) for row in cursor.fetchall()]
