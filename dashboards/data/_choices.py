"""The refresh banner, the filters' choices and the reports' default date ranges."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from billing_reports import settings
from dashboards.data._warehouse import (
    _READERS,
    CACHE_SECONDS,
    _as_utc,
    _distinct,
    _frame,
    _local_date,
    _Where,
    warehouse_file,
)

# --------------------------------------------------------------------------------------------
# The refresh banner
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshInfo:
    """When the data shown was last refreshed, and whether that is too long ago."""

    refreshed_at: datetime  # aware, UTC
    source: str  # "refresh_runs" (a successful billing-reports refresh) or "file_mtime"
    age: timedelta
    stale_after: timedelta

    @property
    def is_stale(self) -> bool:
        return self.age > self.stale_after


#: The ``ops.refresh_runs`` outcome of a run that published a warehouse (billing_reports.refresh;
#: the others are ``failed``, ``interrupted`` and ``rolled_back``).
PUBLISHED = "published"


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=16)
def _cached_last_success(path: str, fingerprint: tuple[int, int, int]) -> datetime | None:
    with _READERS.cursor(path, fingerprint) as cursor:
        try:
            row = cursor.execute(
                "select max(finished_at) from ops.refresh_runs where outcome = ?", [PUBLISHED]
            ).fetchone()
        except duckdb.Error:
            # No ops.refresh_runs in this file (a plain `billing-reports build`): use the file's time.
            return None
    return _as_utc(row[0]) if row else None


def last_refresh(now: datetime | None = None) -> RefreshInfo:
    """The last published refresh (``ops.refresh_runs``), else the warehouse file's mtime."""
    warehouse = warehouse_file()
    refreshed_at = _cached_last_success(warehouse.path, warehouse.fingerprint)
    source = "refresh_runs"
    if refreshed_at is None:
        refreshed_at = datetime.fromtimestamp(Path(warehouse.path).stat().st_mtime, tz=UTC)
        source = "file_mtime"
    now = now or datetime.now(UTC)
    return RefreshInfo(
        refreshed_at=refreshed_at,
        source=source,
        age=max(now - refreshed_at, timedelta(0)),
        stale_after=timedelta(hours=settings.stale_after_hours()),
    )


# --------------------------------------------------------------------------------------------
# Filter choices and default date ranges
# --------------------------------------------------------------------------------------------


#: The date each report is filtered on: (model, date expression), always the client's local date
#: (R3): a model's ``*_date`` column, or the local date of its UTC timestamp (job creation,
#: uploads, change requests). The queries join ``marts.dim_clients as clients``.
REPORT_DATES: dict[str, tuple[str, str]] = {
    "job_tracking": ("marts.rpt_job_tracking", _local_date("created_at")),
    "billing_statistics": ("marts.rpt_billing_statistics", "job_complete_date"),
    "branch_activity": ("marts.rpt_branch_activity", "activity_date"),
    "branch_billing": ("marts.rpt_branch_billing", "fee_date"),
    "billing_activity_details": ("marts.rpt_billing_activity_details", "date_mailed"),
    "file_pickup": ("marts.rpt_file_pickup", _local_date("uploaded_at")),
    "rule_change_audit": ("marts.rpt_rule_change_audit", _local_date("requested_at")),
}


def clients(client_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The clients the user may see (``marts.dim_clients``), by name: client_id, client_name (the
    display name: the name, else the id), timezone, invoices_by_branch."""
    where = _Where().for_clients(client_ids)
    return _frame(
        f"""
        select client_id, display_name as client_name, timezone, invoices_by_branch
        from marts.dim_clients
        {where.sql}
        order by display_name, client_id
        """,
        where.params,
    )


def client_ids(client_ids: Iterable[str] | None = None) -> list[str]:
    """Every client the user may see, by name (the choices of the client filter)."""
    return clients(client_ids)["client_id"].tolist()


def client_names(client_ids: Iterable[str] | None = None) -> dict[str, str]:
    """Client id -> the name to show."""
    frame = clients(client_ids)
    return dict(zip(frame["client_id"], frame["client_name"], strict=True))


def date_bounds(report: str, client_ids: Iterable[str] | None = None) -> tuple[date, date] | None:
    """The first and last date a report has data for, or None when it has none."""
    if report not in REPORT_DATES:
        raise ValueError(f"unknown report {report!r}; expected one of {sorted(REPORT_DATES)}")
    model, column = REPORT_DATES[report]
    where = _Where().for_clients(client_ids)
    frame = _frame(
        f"select min({column}) as first, max({column}) as last from {model}"
        f" left join marts.dim_clients as clients using (client_id) {where.sql}",
        where.params,
    )
    first, last = frame.iloc[0]["first"], frame.iloc[0]["last"]
    if pd.isna(first) or pd.isna(last):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def default_date_range(report: str, client_ids: Iterable[str] | None = None, days: int = 30) -> tuple[date, date]:
    """The last ``days`` days up to the report's latest date (not today: demo data stays visible)."""
    bounds = date_bounds(report, client_ids)
    last = bounds[1] if bounds else datetime.now(UTC).date()
    return last - timedelta(days=days - 1), last


def branches(client_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Branches that have activity or fees: client_id, branch_code, branch_name."""
    where = _Where().for_clients(client_ids).for_branches(None)
    return _frame(
        f"""
        select client_id, branch_code, max(branch_name) as branch_name
        from (
            select client_id, branch_code, branch_name from marts.rpt_branch_activity
            union all
            select client_id, branch_code, branch_name from marts.rpt_branch_billing
        ) as branches
        {where.sql}
        group by client_id, branch_code
        order by branch_code, client_id
        """,
        where.params,
    )


def delivery_methods(client_ids: Iterable[str] | None = None) -> list[str]:
    """Delivery methods (R1) that occur in the documents."""
    return _distinct("marts.rpt_job_delivery_counts", "delivery_method", _Where().for_clients(client_ids))
