"""The record of every refresh: the run log beside the warehouse (JSON lines) and ``ops.refresh_runs``."""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import secrets
from pathlib import Path

from billing_reports import fileio
from billing_reports.sql import sql_string

RUN_LOG = "refresh_runs.jsonl"

#: ``ops.refresh_runs``: one row per refresh (and rollback), carried from file to file.
REFRESH_RUNS_COLUMNS = {
    "run_id": "varchar",
    "started_at": "timestamp",
    "finished_at": "timestamp",
    "outcome": "varchar",
    "files_seen": "integer",
    "files_quarantined": "integer",
    "rows_landed": "bigint",
    "rows_accepted": "bigint",
    "rows_rejected": "bigint",
    "duplicates_collapsed": "bigint",
    "dbt_failures": "varchar",
    "warehouse_path": "varchar",
    "raw_dir": "varchar",
    "log_file": "varchar",
    "validation_report": "varchar",
    "build_mode": "varchar",
    "build_note": "varchar",
}


def new_run_id() -> str:
    """A sortable, unique run id: UTC time and a random suffix."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def _carry_refresh_runs(connection, warehouse: Path, log: logging.Logger) -> int:
    """Create ``ops.refresh_runs`` with the history of the published file and of the run log."""
    import duckdb

    columns = ", ".join(f"{name} {kind}" for name, kind in REFRESH_RUNS_COLUMNS.items())
    # Created afresh: a file copied forward already holds the history this carries over again.
    connection.execute(f"create or replace table ops.refresh_runs ({columns})")
    if warehouse.exists():
        try:
            connection.execute(f"attach {sql_string(warehouse)} as published (read_only)")
        except duckdb.Error as error:
            log.warning(f"warning: could not open {warehouse} read-only to carry ops.refresh_runs: {error}")
        else:
            try:
                has_history = connection.execute(
                    """
                    select count(*) from duckdb_tables()
                    where database_name = 'published' and schema_name = 'ops' and table_name = 'refresh_runs'
                    """
                ).fetchone()[0]
                if has_history:
                    connection.execute("insert into ops.refresh_runs by name select * from published.ops.refresh_runs")
            finally:
                connection.execute("detach published")
    known = {row[0] for row in connection.execute("select run_id from ops.refresh_runs").fetchall()}
    for entry in read_run_log(warehouse):
        if entry.get("run_id") not in known:
            _insert_refresh_run(connection, entry)
            known.add(entry.get("run_id"))
    return len(known)


def _insert_refresh_run(connection, record: dict) -> None:
    names = list(REFRESH_RUNS_COLUMNS)
    placeholders = ", ".join(
        "cast(cast(? as timestamptz) as timestamp)" if REFRESH_RUNS_COLUMNS[name] == "timestamp" else "?"
        for name in names
    )
    connection.execute(
        f"insert into ops.refresh_runs ({', '.join(names)}) values ({placeholders})",
        [record.get(name) for name in names],
    )


def run_log_path(warehouse: Path) -> Path:
    return warehouse.parent / RUN_LOG


def append_run_log(warehouse: Path, record: dict) -> None:
    """Append one run as a JSON line; durable before returning."""
    fileio.append_line_durably(run_log_path(warehouse), json.dumps(record, default=str) + "\n")


def read_run_log(warehouse: Path) -> list[dict]:
    """Every run recorded in the run log (lines that do not parse, e.g. cut by a crash, are skipped)."""
    path = run_log_path(warehouse)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("run_id"):
                entries.append(entry)
    return entries


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
