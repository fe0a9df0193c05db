"""SQL literals and identifiers, quoted one way everywhere (DuckDB and Spark SQL alike)."""

from __future__ import annotations


def sql_string(value: object) -> str:
    """A SQL string literal: ``'it''s'``; ``None`` is ``NULL``. Anything else is written as ``str(value)``."""
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier: ``"my ""odd"" column"``."""
    return '"' + name.replace('"', '""') + '"'
