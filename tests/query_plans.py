"""How DuckDB read each table for a query, from its EXPLAIN ANALYZE (as JSON)."""

from __future__ import annotations

import json


def scan_types(connection, sql: str, params: list | None = None) -> dict[str, str]:
    """``{table name: "Index Scan" | "Sequential Scan" | ...}`` for every table ``sql`` read, run on
    ``connection`` under EXPLAIN ANALYZE (a table the optimizer proved empty is absent)."""
    plan = json.loads(connection.execute("explain (analyze, format json) " + sql, params or []).fetchall()[0][1])
    scans: dict[str, str] = {}

    def walk(operator: dict) -> None:
        info = operator.get("extra_info") or {}
        if "Table" in info:
            scans[info["Table"].rsplit(".", 1)[-1]] = info.get("Type")
        for child in operator.get("children", []):
            walk(child)

    for operator in plan["operator"]:
        walk(operator)
    return scans
