"""Secretariat (庶務): people, accounts, imports and the audit log viewer."""
