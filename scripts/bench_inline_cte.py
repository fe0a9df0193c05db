"""Same-hour before/after of inlining the judging CTEs (macros/portable/billing_inline_cte.sql).

Runs a compiled `base_` model of a built warehouse both ways, alternating, each in a child
process of its own (so that each run's peak RSS is its own): as compiled by the code now (the
CTEs marked `not materialized`) and with the marks removed (the code before: DuckDB stores a CTE
that a query reads more than once). Each run writes the model's rows into a temporary table and
prints its wall time, peak RSS and a checksum of the rows, which must be equal both ways.

    python scripts/bench_inline_cte.py WAREHOUSE COMPILED_SQL [ROUNDS] [MEMORY_LIMIT]

WAREHOUSE is a published warehouse file (it has the `raw` tables; it is opened read-only);
COMPILED_SQL is the model's compiled SQL from the refresh's target folder, e.g.
`<warehouse folder>/.dbt-target/compiled/billing_reports/models/staging/billing/base/base_billing__documents.sql`.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

INLINE = re.compile(r"\bas not materialized \(", re.IGNORECASE)


def _child(warehouse: str, sql_path: str, variant: str, memory_limit: str) -> None:
    import duckdb

    sql = Path(sql_path).read_text()
    if variant == "stored":
        sql = INLINE.sub("as (", sql)
    # The compiled SQL names the database after the warehouse file's stem.
    connection = duckdb.connect(warehouse, read_only=True)
    connection.execute(f"set memory_limit = '{memory_limit}'")
    started = time.perf_counter()
    connection.execute(f"create temp table judged as {sql}")
    seconds = time.perf_counter() - started
    rows, checksum = connection.execute(
        "select count(*), sum(hash(_source_file, _source_row, _row_status, _reject_reason))::varchar from judged"
    ).fetchone()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "variant": variant,
                "seconds": round(seconds, 2),
                "peak_mib": round(peak_mib),
                "rows": rows,
                "checksum": checksum,
            }
        )
    )


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        _child(*sys.argv[2:6])
        return 0
    if len(sys.argv) < 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    warehouse, sql_path = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    memory_limit = sys.argv[4] if len(sys.argv) > 4 else "6GB"
    if not INLINE.search(Path(sql_path).read_text()):
        print(f"{sql_path} has no inlined CTE: compile it with the code of 2026-11-30 or later", file=sys.stderr)
        return 2
    for _ in range(rounds):
        for variant in ("stored", "inlined"):
            subprocess.run(
                [sys.executable, __file__, "--child", warehouse, sql_path, variant, memory_limit], check=True
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
