"""Comparing two sets of rows by value, duplicates included (the tests' "same rows" check)."""

from __future__ import annotations


def rows_only_in_each(connection, left: str, right: str) -> tuple[int, int]:
    """How many rows only ``left`` has and how many only ``right`` has (``EXCEPT ALL`` both ways).

    ``left`` and ``right`` are queries (``select ...``) over relations the connection can read.
    """
    return connection.execute(
        f"""
        select
            (select count(*) from ({left} except all {right})),
            (select count(*) from ({right} except all {left}))
        """
    ).fetchone()
