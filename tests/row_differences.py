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


def relations(connection, database: str) -> set[tuple[str, str]]:
    """(schema, name) of every table and view of an attached database."""
    return {
        (schema, name)
        for schema, name in connection.execute(
            """
            select schema_name, table_name from duckdb_tables() where database_name = ?
            union all
            select schema_name, view_name from duckdb_views() where database_name = ? and not internal
            """,
            [database, database],
        ).fetchall()
    }


def warehouse_differences(left, right, skip: set[tuple[str, str]] = frozenset()) -> tuple[int, list[str]]:
    """Compare two DuckDB files relation by relation, row for row (``skip``: relations left out).

    Returns how many relations were compared and what differs: a relation only one file has, or
    rows only one side has.
    """
    import duckdb

    connection = duckdb.connect()
    try:
        connection.execute(f"attach '{left}' as left_build (read_only)")
        connection.execute(f"attach '{right}' as right_build (read_only)")
        on_left, on_right = relations(connection, "left_build"), relations(connection, "right_build")
        differences = [f"{schema}.{name}: only in one file" for schema, name in sorted(on_left ^ on_right)]
        compared = 0
        for schema, name in sorted((on_left & on_right) - set(skip)):
            only_left, only_right = rows_only_in_each(
                connection,
                f'select * from left_build."{schema}"."{name}"',
                f'select * from right_build."{schema}"."{name}"',
            )
            if only_left or only_right:
                differences.append(f"{schema}.{name}: {only_left} row(s) only in {left}, {only_right} only in {right}")
            compared += 1
        return compared, differences
    finally:
        connection.close()
