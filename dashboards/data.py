"""The dashboard's one data-access module: every query the pages show goes through here.

Rules this module keeps (STYLE.md, "Dashboards"):

* It reads only the public models in schema ``marts``, and the ``ops`` tables of a refresh:
  ``ops.refresh_runs`` for the time of the last refresh (everyone) and, for operations users
  only, ``ops.landing_accounting`` and ``ops.rejected_rows`` (the data-quality page). Pages hold
  no SQL; they call the functions below.
* Client names and time zones come from ``marts.dim_clients``. Times leave this module in UTC
  (naive, as the marts store them) with the row's ``timezone`` beside them; pages show them with
  ``ui.local_time``/``ui.with_local_times``. Date filters on a timestamp are on the client's
  local date (``_local_date``), like the models' ``*_date`` columns (R3).
* Every query is parameterised: a value that comes from a user (a client, a date, a branch, a
  search text) is bound with ``?``. The SQL text is assembled only from constant fragments
  written in this module (``_Where`` takes column names from the code, never from a caller).
* The published warehouse is opened READ-ONLY, once per published file (``_Readers``): the
  queries of a page view share that connection (a cursor each) instead of opening the file once
  per query. A refresh publishes a new file by atomic rename; within one process
  ``duckdb.connect(path)`` hands back a database that is still open, so when the file's inode
  changes the old connection is closed (after its in-flight queries) before the new one opens.
  The connection is also closed after ``READER_IDLE_SECONDS`` without a query, so that an
  in-place ``billing-reports build`` is not locked out by an idle dashboard.
* Results are cached with ``st.cache_data`` for ``BILLING_DASHBOARD_CACHE_SECONDS`` (default 60).
  The cache key holds the warehouse file's path, inode, mtime and size, so a new publish is
  read at once, without waiting for the TTL.

Every function takes the filters as arguments, ``client_ids`` first. ``client_ids=None`` means
every client; a list means only those clients, and an EMPTY list means none (so that a user who
may see no client sees nothing, not everything).

Tenant scoping happens here, not in the pages (docs/security.md). Every query's ``where`` is
built by ``_Where.for_clients`` (and ``for_branches`` on the marts with a branch), which takes
the signed-in user's scope from ``current_scope()`` (``dashboards.auth``: a signed session
re-validated against the users file on every call) and binds it as parameters: a client user
gets ``client_id = ?`` with their own client, whatever the page asked for; the page's filter is
intersected with it, so asking for another client's id returns nothing. Nobody signed in reads
nothing. The scope is part of every query's parameters, hence of its cache key.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from billing_reports import settings
from dashboards import auth

DEFAULT_CACHE_SECONDS = 60
DEFAULT_STALE_AFTER_HOURS = 26.0


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        return default
    return value if value >= 0 else default


#: Seconds a query result is kept; read once, when the module is imported.
CACHE_SECONDS = int(_env_number("BILLING_DASHBOARD_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))


def stale_after_hours() -> float:
    """Hours after which the data counts as stale: env ``BILLING_STALE_AFTER_HOURS``, default 26."""
    return _env_number("BILLING_STALE_AFTER_HOURS", DEFAULT_STALE_AFTER_HOURS)


class WarehouseMissing(FileNotFoundError):
    """The published warehouse file does not exist yet."""


class WarehouseUnavailable(RuntimeError):
    """The warehouse file exists but cannot be opened read-only (a build is writing it in place)."""


@dataclass(frozen=True)
class WarehouseFile:
    """The published warehouse and what identifies one publish of it."""

    path: str
    fingerprint: tuple[int, int, int]


def warehouse_file() -> WarehouseFile:
    """The warehouse file (``BILLING_WAREHOUSE``) with its inode, mtime and size, for cache keys."""
    path = settings.warehouse_path()
    try:
        stat = path.stat()
    except FileNotFoundError as error:
        raise WarehouseMissing(
            f"The warehouse {path} does not exist yet: run `billing-reports build` first."
        ) from error
    return WarehouseFile(str(path), (stat.st_ino, stat.st_mtime_ns, stat.st_size))


def _bindable(value: Any) -> Any:
    # Lists travel through the cache as tuples (hashable); DuckDB binds a Python list as a LIST.
    return list(value) if isinstance(value, tuple) else value


def _connect(path: str) -> duckdb.DuckDBPyConnection:
    try:
        # Opened with the default configuration, so that other read-only connections to the file
        # in this process (the Job Activity Report, notify, tests) are not refused while it is open.
        return duckdb.connect(path, read_only=True)
    except duckdb.IOException as error:
        raise WarehouseUnavailable(f"The warehouse {path} cannot be opened read-only: {error}") from error


#: Seconds without a query after which the shared read-only connection is closed.
READER_IDLE_SECONDS = 2.0


class _Readers:
    """One read-only connection per published warehouse file, shared by this process's queries.

    ``cursor(path, fingerprint)`` hands out a cursor of the connection to that publish. A new
    fingerprint (a new publish: another inode) waits for the old connection's in-flight cursors,
    closes it and opens the new file. After ``READER_IDLE_SECONDS`` without a cursor in use the
    connection is closed, so that nothing holds the file while the dashboard is idle.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._key: tuple[str, tuple[int, int, int]] | None = None
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._in_use = 0
        self._generation = 0
        self.opened = 0  # connections opened, for tests and the benchmark

    @contextmanager
    def cursor(self, path: str, fingerprint: tuple[int, int, int]) -> Iterator[duckdb.DuckDBPyConnection]:
        key = (path, fingerprint)
        with self._lock:
            if self._key != key:
                while self._in_use:
                    self._lock.wait()
                self._close_locked()
                self._connection = _connect(path)
                self._key = key
                self.opened += 1
            self._in_use += 1
            self._generation += 1
            cursor = self._connection.cursor()
            # No replacement scans: a missing table is an error, never a Python object of the same name.
            cursor.execute("set python_enable_replacements = false")
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                self._in_use -= 1
                self._lock.notify_all()
                if not self._in_use:
                    generation = self._generation
                    timer = threading.Timer(READER_IDLE_SECONDS, self._close_if_idle, args=(generation,))
                    timer.daemon = True
                    timer.start()

    def _close_if_idle(self, generation: int) -> None:
        with self._lock:
            if not self._in_use and self._generation == generation:
                self._close_locked()

    def close(self) -> None:
        """Close the shared connection now (waiting for in-flight queries)."""
        with self._lock:
            while self._in_use:
                self._lock.wait()
            self._close_locked()

    def _close_locked(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection, self._key = None, None


_READERS = _Readers()


def _execute(path: str, sql: str, params: Sequence[Any]) -> pd.DataFrame:
    """Run one query on a cursor of the shared read-only connection to this publish of the file."""
    fingerprint = _fingerprint(path)
    with _READERS.cursor(path, fingerprint) as cursor:
        return cursor.execute(sql, [_bindable(value) for value in params]).df()


def _fingerprint(path: str) -> tuple[int, int, int]:
    try:
        stat = os.stat(path)
    except FileNotFoundError as error:
        raise WarehouseMissing(
            f"The warehouse {path} does not exist yet: run `billing-reports build` first."
        ) from error
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=512)
def _cached_frame(path: str, fingerprint: tuple[int, int, int], sql: str, params: tuple) -> pd.DataFrame:
    return _execute(path, sql, params)


def _frame(sql: str, params: Iterable[Any] = ()) -> pd.DataFrame:
    warehouse = warehouse_file()
    return _cached_frame(warehouse.path, warehouse.fingerprint, sql, tuple(params))


def current_scope() -> auth.Scope:
    """The signed-in user's scope (``dashboards.auth.current_scope``), checked on every call."""
    return auth.current_scope()


def _scoped(client_ids: Iterable[str] | None) -> tuple[str, ...] | None:
    """The clients a query may read: ``client_ids`` (None = all) limited to the user's scope."""
    return current_scope().clients(client_ids)


class _Where:
    """A ``where`` clause built from constant fragments, with its values bound as parameters."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def for_clients(self, client_ids: Iterable[str] | None, column: str = "client_id") -> _Where:
        """The page's client filter, limited to the signed-in user's scope (bound parameters).

        A client user: ``client_id = ?`` (their client) and the filter intersected with it. Ops:
        the filter as asked. Nobody signed in: no rows.
        """
        scope = current_scope()
        if scope.role == "client" and scope.client_id:
            self.clauses.append(f"{column} = ?")
            self.params.append(scope.client_id)
        elif not scope.is_ops:
            self.clauses.append("false")
        return self.one_of(column, scope.clients(client_ids))

    def for_branches(self, branch_codes: Iterable[str] | None, column: str = "branch_code") -> _Where:
        """The page's branch filter, limited to the user's branches (marts with a branch column)."""
        return self.one_of(column, current_scope().branch_codes(branch_codes))

    def one_of(self, column: str, values: Iterable[Any] | None) -> _Where:
        """``column`` is one of ``values``; None = no condition, an empty list = no rows."""
        if values is not None:
            self.clauses.append(f"list_contains(?::varchar[], {column})")
            self.params.append(tuple(str(value) for value in values))
        return self

    def between(self, column: str, start: date | None, end: date | None) -> _Where:
        """``column`` (a date) from ``start`` to ``end``, both inclusive; None = open."""
        if start is not None:
            self.clauses.append(f"{column} >= ?")
            self.params.append(start)
        if end is not None:
            self.clauses.append(f"{column} <= ?")
            self.params.append(end)
        return self

    def condition(self, clause: str, *params: Any) -> _Where:
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    @property
    def sql(self) -> str:
        return ("where " + "\n    and ".join(self.clauses)) if self.clauses else ""


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


def _as_utc(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


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
        stale_after=timedelta(hours=stale_after_hours()),
    )


# --------------------------------------------------------------------------------------------
# Filter choices and default date ranges
# --------------------------------------------------------------------------------------------


def _local_date(column: str) -> str:
    """The client's local date (R3) of a UTC timestamp column, in a query joined to
    ``marts.dim_clients as clients`` (a client without a zone falls back to UTC)."""
    return f"cast(timezone(coalesce(clients.timezone, 'UTC'), timezone('UTC', {column})) as date)"


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
    where = _Where().for_clients(client_ids)
    frame = _frame(
        f"select distinct delivery_method from marts.rpt_job_delivery_counts {where.sql} order by 1",
        where.params,
    )
    return frame["delivery_method"].tolist()


# --------------------------------------------------------------------------------------------
# Job tracking (R6) and the Job Activity Report (R11)
# --------------------------------------------------------------------------------------------


def jobs(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    delivery_methods: Iterable[str] | None = None,
    search: str | None = None,
) -> pd.DataFrame:
    """Jobs created from ``start`` to ``end`` (the client's local dates, inclusive), newest first.

    ``delivery_methods`` keeps jobs with at least one document of those methods; ``search``
    matches part of the job id or name, case-insensitively.
    """
    where = _Where().for_clients(client_ids).between(_local_date("created_at"), start, end)
    if delivery_methods is not None:
        where.condition(
            "job_id in (select job_id from marts.rpt_job_delivery_counts"
            " where list_contains(?::varchar[], delivery_method))",
            tuple(delivery_methods),
        )
    if search and search.strip():
        needle = search.strip().lower()
        where.condition("(contains(lower(job_id), ?) or contains(lower(job_name), ?))", needle, needle)
    return _frame(
        f"""
        select
            client_id,
            clients.display_name as client_name,
            clients.timezone,
            job_id,
            job_name,
            created_at,
            current_status_code,
            current_status_label,
            current_step_order,
            current_status_at,
            document_count,
            pulled_document_count,
            is_complete,
            job_completed_at,
            job_complete_date,
            ops_approval_required,
            customer_approval_required,
            tracker_completed_at,
            is_tracker_complete
        from marts.rpt_job_tracking
        left join marts.dim_clients as clients using (client_id)
        {where.sql}
        order by created_at desc, job_id
        """,
        where.params,
    )


def job_steps(job_ids: Iterable[str], client_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The 10 tracker steps of each job (R6): state, entry time and the date of steps 7 and 9."""
    where = _Where().one_of("job_id", job_ids).for_clients(client_ids)
    return _frame(
        f"""
        select
            client_id, job_id, step_order, status_code, status_label, step_state, entered_at, status_date,
            step_title, help_text, not_applicable_reason
        from marts.rpt_job_tracking_steps
        {where.sql}
        order by job_id, step_order
        """,
        where.params,
    )


def job_delivery_counts(job_ids: Iterable[str], client_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Item counts per delivery method (R1, R6) of each job."""
    where = _Where().one_of("job_id", job_ids).for_clients(client_ids)
    return _frame(
        f"""
        select client_id, job_id, delivery_method, document_count, pulled_document_count
        from marts.rpt_job_delivery_counts
        {where.sql}
        order by job_id, delivery_method
        """,
        where.params,
    )


def job_documents(
    job_ids: Iterable[str], client_ids: Iterable[str] | None = None, pulled_only: bool = False
) -> pd.DataFrame:
    """The documents of some jobs; ``pulled_only`` keeps those pulled at approval (pull class T)."""
    where = _Where().one_of("job_id", job_ids).for_clients(client_ids).for_branches(None)
    if pulled_only:
        where.condition("is_pulled")
    return _frame(
        f"""
        select
            client_id,
            clients.display_name as client_name,
            clients.timezone,
            job_id,
            document_id,
            document_number,
            document_type,
            customer_account_id,
            branch_code,
            delivery_channel,
            delivery_method,
            pull_class,
            is_pulled,
            pulled_at,
            amount_due,
            currency,
            page_count
        from marts.fct_documents
        left join marts.dim_clients as clients using (client_id)
        {where.sql}
        order by job_id, document_number, document_id
        """,
        where.params,
    )


#: The states a document can be in on the Job tracking page (rpt_job_documents.delivery_state).
DOCUMENT_STATES = {
    "sent": "Sent",
    "bounced_or_failed": "Bounced or failed",
    "pulled": "Pulled (Pull Class T or routed to pull)",
    "waiting": "Waiting",
}


def _job_documents_where(
    job_id: str,
    client_ids: Iterable[str] | None,
    delivery_methods: Iterable[str] | None,
    document_types: Iterable[str] | None,
    states: Iterable[str] | None,
) -> _Where:
    return (
        _Where()
        .condition("job_id = ?", str(job_id))
        .for_clients(client_ids)
        .for_branches(None)
        .one_of("delivery_method", delivery_methods)
        .one_of("document_type", document_types)
        .one_of("delivery_state", states)
    )


def _job_documents(where: _Where, limit: int, offset: int = 0) -> pd.DataFrame:
    """Documents as the Job tracking page lists them (job details and search), by document number,
    with the client's zone (``timezone``, from ``dim_clients``) for showing times."""
    return _frame(
        f"""
        select
            client_id,
            job_id,
            job_name,
            batch_id,
            batch_type,
            document_id,
            document_number,
            document_type,
            customer_account_id,
            customer_name,
            delivery_channel,
            delivery_method,
            pull_class,
            is_pulled,
            amount_due,
            currency,
            delivery_attempt_count,
            sent_attempt_count,
            bounced_attempt_count,
            failed_attempt_count,
            last_attempt_outcome,
            first_sent_at,
            mailed_at,
            mailed_or_sent_at,
            mailed_or_sent_date,
            delivery_state,
            timezone
        from marts.rpt_job_documents
        left join (select client_id, timezone from marts.dim_clients) as clients using (client_id)
        {where.sql}
        order by document_number, job_id, document_id
        limit ? offset ?
        """,
        [*where.params, int(limit), int(offset)],
    )


def job_document_count(
    job_id: str,
    client_ids: Iterable[str] | None = None,
    delivery_methods: Iterable[str] | None = None,
    document_types: Iterable[str] | None = None,
    states: Iterable[str] | None = None,
) -> int:
    """How many documents of a job match the filters (``rpt_job_documents``)."""
    where = _job_documents_where(job_id, client_ids, delivery_methods, document_types, states)
    total = _frame(f"select count(*) as documents from marts.rpt_job_documents {where.sql}", where.params)
    return int(total.iloc[0]["documents"])


def job_document_page(
    job_id: str,
    client_ids: Iterable[str] | None = None,
    delivery_methods: Iterable[str] | None = None,
    document_types: Iterable[str] | None = None,
    states: Iterable[str] | None = None,
    page: int = 1,
    page_size: int = 100,
) -> pd.DataFrame:
    """One page of a job's documents (``rpt_job_documents``) matching the filters, by document
    number; ``page`` counts from 1."""
    where = _job_documents_where(job_id, client_ids, delivery_methods, document_types, states)
    page_size = max(1, int(page_size))
    return _job_documents(where, page_size, (max(1, int(page)) - 1) * page_size)


def job_document_types(job_id: str, client_ids: Iterable[str] | None = None) -> list[str]:
    """The document types that occur in a job (the choices of its document-type filter)."""
    where = _job_documents_where(job_id, client_ids, None, None, None)
    frame = _frame(f"select distinct document_type from marts.rpt_job_documents {where.sql} order by 1", where.params)
    return frame["document_type"].tolist()


#: At most this many documents answer one search (a customer account can have many).
SEARCH_LIMIT = 200


#: What a document can be found by (``find_documents``' ``by``): the column it matches.
FIND_BY = {"document_number": "document_number", "customer_account": "customer_account_id"}


def find_documents(
    text: str,
    client_ids: Iterable[str] | None = None,
    by: str = "document_number",
    limit: int = SEARCH_LIMIT,
) -> pd.DataFrame:
    """Documents whose document (invoice) number (``by="document_number"``) or customer account
    (``by="customer_account"``) is ``text``, across the jobs of the clients in scope (at most
    ``limit``, by document number). The match is exact, as typed or in capitals (numbers are
    usually upper case); no text finds nothing. ``rpt_job_documents`` is stored in document-number
    order, so a lookup by number reads only the block that holds it."""
    if by not in FIND_BY:
        raise ValueError(f"unknown search {by!r}; expected one of {sorted(FIND_BY)}")
    column = FIND_BY[by]
    needle = (text or "").strip()
    where = _Where().for_clients(client_ids).for_branches(None)
    if needle:
        where.condition(f"{column} in (?, ?)", needle, needle.upper())
    else:
        where.condition("false")
    return _job_documents(where, limit)


def document_deliveries(document_ids: Iterable[str], client_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The delivery attempts of some documents (``rpt_document_deliveries``), in the order made."""
    # rpt_document_deliveries has no branch: a user limited to some branches sees the attempts of
    # those branches' documents only.
    where = _Where().one_of("document_id", document_ids).for_clients(client_ids)
    branch_codes = current_scope().branch_codes(None)
    if branch_codes is not None:
        where.condition(
            "document_id in (select document_id from marts.rpt_job_documents"
            " where list_contains(?::varchar[], branch_code))",
            tuple(branch_codes),
        )
    return _frame(
        f"""
        select client_id, job_id, document_id, document_number, delivery_id, attempt_number,
            delivery_channel, attempted_at, sent_at, outcome
        from marts.rpt_document_deliveries
        {where.sql}
        order by document_id, attempt_number
        """,
        where.params,
    )


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=64)
def _cached_job_activity(
    path: str,
    fingerprint: tuple[int, int, int],
    job_id: str,
    client_ids: tuple[str, ...] | None,
    branch_codes: tuple[str, ...] | None = None,
) -> dict:
    from billing_reports.activity_report import load_job_activity

    with _READERS.cursor(path, _fingerprint(path)) as cursor:
        report = load_job_activity(path, job_id, client_ids=client_ids, connection=cursor)
    if branch_codes is not None:
        # A user limited to some branches sees only those branches' documents (fct_documents has
        # a branch); the job's totals are job-level, like the Job tracking page's.
        allowed = _execute(
            path,
            "select document_id from marts.fct_documents"
            " where job_id = ? and client_id = ? and list_contains(?::varchar[], branch_code)",
            [str(job_id), report["job"]["client_id"], list(branch_codes)],
        )
        keep = set(allowed["document_id"])
        report = {
            **report,
            "pulled_documents": [row for row in report["pulled_documents"] if row["document_id"] in keep],
        }
    return report


def _job_activity_scope(client_ids: Iterable[str] | None) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    scope = current_scope()
    return scope.clients(client_ids), scope.branch_codes(None)


def job_activity(job_id: str, client_ids: Iterable[str] | None = None) -> dict:
    """The Job Activity Report's data for one job (``billing_reports.activity_report``), within the
    user's scope: a job of another client is not found (``JobNotFound``)."""
    warehouse = warehouse_file()
    clients, branch_codes = _job_activity_scope(client_ids)
    return _cached_job_activity(warehouse.path, warehouse.fingerprint, str(job_id), clients, branch_codes)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=64)
def _cached_job_activity_files(
    path: str,
    fingerprint: tuple[int, int, int],
    job_id: str,
    client_ids: tuple[str, ...] | None,
    branch_codes: tuple[str, ...] | None = None,
) -> tuple[str, bytes]:
    from billing_reports.activity_report import render_html, render_pdf

    report = _cached_job_activity(path, fingerprint, job_id, client_ids, branch_codes)
    return render_html(report), render_pdf(report)


def job_activity_files(job_id: str, client_ids: Iterable[str] | None = None) -> tuple[str, bytes]:
    """The Job Activity Report of one job as (HTML text, PDF bytes), within the user's scope."""
    warehouse = warehouse_file()
    clients, branch_codes = _job_activity_scope(client_ids)
    return _cached_job_activity_files(warehouse.path, warehouse.fingerprint, str(job_id), clients, branch_codes)


# --------------------------------------------------------------------------------------------
# Job approval (R7)
# --------------------------------------------------------------------------------------------


def approval_jobs(
    client_ids: Iterable[str] | None = None, approval_stages: Iterable[str] | None = None
) -> pd.DataFrame:
    """Jobs awaiting ops or customer approval, longest waiting first, with the awaited approval
    (its id and, once the billing system's row has landed, its decision) and the client's name
    and time zone."""
    where = (
        _Where().for_clients(client_ids, column="approval.client_id").one_of("approval.approval_stage", approval_stages)
    )
    return _frame(
        f"""
        select
            approval.client_id,
            clients.display_name as client_name,
            clients.timezone,
            approval.job_id,
            approval.job_name,
            approval.approval_stage,
            approval.awaiting_since,
            approval.approval_requested_at,
            approval.approval_id,
            approval.approval_decision,
            approval.approval_decided_at,
            approval.approval_decided_by,
            approval.document_count,
            approval.amount_due,
            approval.currency,
            approval.pulled_document_count
        from marts.rpt_job_approval as approval
        left join marts.dim_clients as clients on approval.client_id = clients.client_id
        {where.sql}
        order by approval.awaiting_since, approval.job_id
        """,
        where.params,
    )


# --------------------------------------------------------------------------------------------
# Customer routing (R5)
# --------------------------------------------------------------------------------------------


def customer_routing(
    client_ids: Iterable[str] | None = None, delivery_channels: Iterable[str] | None = None
) -> pd.DataFrame:
    """Customers per client and delivery channel at the build's ``as_of``."""
    where = _Where().for_clients(client_ids).one_of("delivery_channel", delivery_channels)
    return _frame(
        f"""
        select client_id, clients.display_name as client_name, delivery_channel, customer_count, as_of
        from marts.rpt_customer_routing
        left join marts.dim_clients as clients using (client_id)
        {where.sql}
        order by client_id, delivery_channel
        """,
        where.params,
    )


def routing_channels(client_ids: Iterable[str] | None = None) -> list[str]:
    """Delivery channels that have routed customers (the choices of the channel filter)."""
    where = _Where().for_clients(client_ids)
    frame = _frame(
        f"select distinct delivery_channel from marts.rpt_customer_routing {where.sql} order by 1", where.params
    )
    return frame["delivery_channel"].tolist()


def routing_as_of(client_ids: Iterable[str] | None = None) -> datetime | None:
    """The ``as_of`` time the customer-routing report was computed for (UTC), or None."""
    where = _Where().for_clients(client_ids)
    frame = _frame(f"select max(as_of) as as_of from marts.rpt_customer_routing {where.sql}", where.params)
    return _as_utc(frame.iloc[0]["as_of"])


# --------------------------------------------------------------------------------------------
# Billing statistics (R4), branch activity (R8), branch billing (R9), billing activity (R10)
# --------------------------------------------------------------------------------------------


def billing_statistics(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    delivery_methods: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Bills and jobs per client, local completion date and delivery method (range inclusive)."""
    where = (
        _Where()
        .for_clients(client_ids)
        .between("job_complete_date", start, end)
        .one_of("delivery_method", delivery_methods)
    )
    return _frame(
        f"""
        select client_id, clients.display_name as client_name, job_complete_date, delivery_method, job_count, bill_count
        from marts.rpt_billing_statistics
        left join marts.dim_clients as clients using (client_id)
        {where.sql}
        order by job_complete_date, client_id, delivery_method
        """,
        where.params,
    )


def branch_activity(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    branch_codes: Iterable[str] | None = None,
    delivery_methods: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Documents of completed jobs per branch, local completion date and delivery method."""
    where = (
        _Where()
        .for_clients(client_ids)
        .between("activity_date", start, end)
        .for_branches(branch_codes)
        .one_of("delivery_method", delivery_methods)
    )
    return _frame(
        f"""
        select
            client_id,
            clients.display_name as client_name,
            branch_code,
            branch_name,
            activity_date,
            delivery_method,
            document_count,
            invoice_count,
            statement_count,
            amount_due,
            currency
        from marts.rpt_branch_activity
        left join marts.dim_clients as clients using (client_id)
        {where.sql}
        order by activity_date, client_id, branch_code, delivery_method
        """,
        where.params,
    )


def branch_billing(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    branch_codes: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Fees per branch, fee date, fee type, currency and print facility, in their own currency.

    The model's ``fee_amount_usd`` used the rate of the build; the page converts with the rate
    the user types instead, so it is not read here.
    """
    where = _Where().for_clients(client_ids).between("fee_date", start, end).for_branches(branch_codes)
    return _frame(
        f"""
        select
            client_id,
            clients.display_name as client_name,
            branch_code,
            branch_name,
            fee_date,
            fee_type,
            currency,
            print_facility,
            fee_count,
            fee_amount
        from marts.rpt_branch_billing
        left join marts.dim_clients as clients using (client_id)
        {where.sql}
        order by fee_date, client_id, branch_code, fee_type, currency
        """,
        where.params,
    )


def billing_activity_details(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    batch_types: Iterable[str] | None = None,
) -> pd.DataFrame:
    """One row per batch, by local date mailed (R10)."""
    where = _Where().for_clients(client_ids).between("date_mailed", start, end).one_of("batch_type", batch_types)
    return _frame(
        f"""
        select
            client_id,
            clients.display_name as client_name,
            clients.timezone,
            job_id,
            batch_id,
            batch_type,
            print_facility,
            date_mailed,
            mailed_at,
            mail_class,
            document_count,
            invoice_count,
            statement_count,
            cast(page_count as bigint) as page_count,
            sheet_count,
            piece_count,
            postage_amount,
            postage_currency
        from marts.rpt_billing_activity_details
        left join marts.dim_clients as clients using (client_id)
        {where.sql}
        order by date_mailed, client_id, job_id, batch_id
        """,
        where.params,
    )


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
    return _frame(
        f"""
        select
            client_id,
            clients.display_name as client_name,
            clients.timezone,
            file_id,
            file_name,
            uploaded_at,
            expected_pickup_by,
            picked_up_at,
            job_id,
            pickup_state,
            timed_start_rule_id,
            size_bytes,
            as_of
        from marts.rpt_file_pickup
        left join marts.dim_clients as clients using (client_id)
        {where.sql}
        order by uploaded_at desc, file_id
        """,
        where.params,
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
    return _frame(
        f"""
        select
            client_id,
            clients.display_name as client_name,
            clients.timezone,
            change_id,
            rule_id,
            summary,
            requested_by_contact_id,
            requested_by_name,
            requested_by_role,
            requested_at,
            applied_at,
            is_applied,
            is_authorized,
            authorization_reason
        from marts.rpt_rule_change_audit
        left join marts.dim_clients as clients using (client_id)
        {where.sql}
        order by requested_at desc, change_id
        """,
        where.params,
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
