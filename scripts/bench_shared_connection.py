"""Same-hour before/after of the shared read-only connection: the page queries with a fresh
connection per query (the code before) against the shared one (now), alternating, at 10M."""

import sys
from pathlib import Path

from billing_reports import bench
from dashboards.data import _warehouse as data  # the shared connection and its _execute

warehouse = Path(sys.argv[1])
shared_execute = data._execute


def per_query_execute(path, sql, params):
    connection = data._connect(path)
    try:
        cursor = connection.cursor()
        cursor.execute("set python_enable_replacements = false")
        return cursor.execute(sql, [data._bindable(value) for value in params]).df()
    finally:
        connection.close()


for round_ in range(2):
    for name, execute in (
        ("per-query connection (before)", per_query_execute),
        ("shared connection (after)", shared_execute),
    ):
        data._READERS.close()
        data._execute = execute
        result = bench.dashboard_queries(warehouse, 20, ["job tracking"])
        print(round_, name, result, flush=True)
