"""Operations: file pickup (R12), processing-rule changes (R13) and, for operations users only,
data quality (R14)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from dashboards.data._warehouse import _frame, _local_date, _Where, _with_client_names, current_scope

# --------------------------------------------------------------------------------------------
# Operations: file pickup (R12) and processing-rule changes (R13)
# --------------------------------------------------------------------------------------------


def file_pickup(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    pickup_states: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Uploaded files (by the client's local upload date) with their expected pickup time and state."""
    where = (
        _Where()
        .for_clients(client_ids)
        .between(_local_date("uploaded_at"), start, end)
        .one_of("pickup_state", pickup_states)
    )
    return _with_client_names(
        "marts.rpt_file_pickup",
        [
            "file_id",
            "file_name",
            "uploaded_at",
            "expected_pickup_by",
            "picked_up_at",
            "job_id",
            "pickup_state",
            "timed_start_rule_id",
            "size_bytes",
            "as_of",
        ],
        where,
        "uploaded_at desc, file_id",
        timezone=True,
    )


def rule_change_audit(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    is_authorized: bool | None = None,
) -> pd.DataFrame:
    """Processing-rule change requests (by the client's local request date) and whether each was authorized."""
    where = _Where().for_clients(client_ids).between(_local_date("requested_at"), start, end)
    if is_authorized is not None:
        where.condition("is_authorized = ?", bool(is_authorized))
    return _with_client_names(
        "marts.rpt_rule_change_audit",
        [
            "change_id",
            "rule_id",
            "summary",
            "requested_by_contact_id",
            "requested_by_name",
            "requested_by_role",
            "requested_at",
            "applied_at",
            "is_applied",
            "is_authorized",
            "authorization_reason",
        ],
        where,
        "requested_at desc, change_id",
        timezone=True,
    )


# --------------------------------------------------------------------------------------------
# Data quality (operations users only): refresh runs, landing accounting, rejected rows (R14)
# --------------------------------------------------------------------------------------------


class OpsOnly(PermissionError):
    """A data-quality query asked for by someone who is not an operations user."""


def _ops_frame(sql: str, params: Sequence[Any] = ()) -> pd.DataFrame | None:
    """An ``ops`` query for operations users only; None when the warehouse has no such table
    (a plain ``billing-reports build`` records no refresh runs)."""
    if not current_scope().is_ops:
        raise OpsOnly("the data-quality tables are for operations users only")
    try:
        return _frame(sql, params)
    except duckdb.CatalogException:
        return None


def refresh_runs(limit: int = 50) -> pd.DataFrame | None:
    """The latest ``limit`` refresh runs, newest first: when, full or incremental, outcome, duration
    in seconds and the rows landed, accepted and rejected. None: no refresh recorded in this file."""
    return _ops_frame(
        """
        select
            run_id,
            started_at,
            finished_at,
            build_mode,
            outcome,
            date_diff('second', started_at, finished_at) as duration_seconds,
            files_seen,
            files_quarantined,
            rows_landed,
            rows_accepted,
            rows_rejected,
            build_note,
            dbt_failures
        from ops.refresh_runs
        order by started_at desc nulls last, run_id desc
        limit ?
        """,
        [int(limit)],
    )


def landing_accounting() -> pd.DataFrame | None:
    """What landed per raw table and what became of it (``ops.landing_accounting``, R14)."""
    return _ops_frame(
        """
        select
            source_table,
            files_seen,
            files_rejected,
            rows_landed,
            rows_accepted,
            rows_rejected,
            duplicates_collapsed,
            rows_current,
            rows_superseded,
            rows_unreadable
        from ops.landing_accounting
        order by source_table
        """
    )


def rejected_rows(source_tables: Iterable[str] | None = None, limit: int = 10_000) -> pd.DataFrame | None:
    """Rows and files kept out of the reports (``ops.rejected_rows``): table, file, row, reason and
    key, at most ``limit`` of them, by table, file and row."""
    where = _Where().one_of("source_table", source_tables)
    return _ops_frame(
        f"""
        select source_table, source_file, source_row, reason, record_key, reject_level
        from ops.rejected_rows
        {where.sql}
        order by source_table, source_file, source_row
        limit ?
        """,
        [*where.params, int(limit)],
    )
