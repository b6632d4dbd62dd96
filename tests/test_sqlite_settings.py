"""The SQLite settings every connection gets (app/__init__.py): WAL, a busy timeout, foreign
keys, and the durability level, NORMAL unless CBT_SQLITE_SYNCHRONOUS asks for more."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text


def pragmas(path) -> dict:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as c:
            return {name: c.execute(text(f"PRAGMA {name}")).scalar()
                    for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")}
    finally:
        engine.dispose()


def test_every_connection_is_set_up(tmp_path, monkeypatch):
    import app  # noqa: F401  (registers the connect hook)
    monkeypatch.delenv("CBT_SQLITE_SYNCHRONOUS", raising=False)
    assert pragmas(tmp_path / "a.sqlite") == {"journal_mode": "wal", "busy_timeout": 10000,
                                              "foreign_keys": 1, "synchronous": 1}   # NORMAL


def test_full_durability_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv("CBT_SQLITE_SYNCHRONOUS", "full")
    assert pragmas(tmp_path / "b.sqlite")["synchronous"] == 2                      # FULL


def test_an_unknown_level_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("CBT_SQLITE_SYNCHRONOUS", "OFF")        # would risk a corrupt file
    with pytest.raises(RuntimeError, match="CBT_SQLITE_SYNCHRONOUS='OFF'"):
        pragmas(tmp_path / "c.sqlite")
