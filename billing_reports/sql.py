"""SQL literals and identifiers for the DuckDB statements Python writes, quoted one way everywhere.

Standard SQL quoting, as DuckDB reads it: a quote is doubled and a backslash is an ordinary
character. (Spark SQL reads a backslash as an escape: dbt's Spark SQL quotes with the macro
``spark_sql_string`` instead.) A NUL character cannot be written in SQL text and is refused.
"""

from __future__ import annotations


def sql_string(value: object) -> str:
    """A SQL string literal: ``'it''s'``; ``None`` is ``NULL``. Anything else is written as ``str(value)``
    (a ``Path`` as its text)."""
    if value is None:
        return "NULL"
    return "'" + _without_nul(str(value)).replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier: ``"my ""odd"" column"``."""
    return '"' + _without_nul(name).replace('"', '""') + '"'


def _without_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError(f"SQL text cannot hold a NUL character: {text!r}")
    return text
