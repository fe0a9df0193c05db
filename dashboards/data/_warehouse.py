"""Reading the published warehouse: the shared read-only connection, the query cache and the
tenant-scoped ``where`` clause that every query of ``dashboards.data`` is built with.

Pages do not import this module; they call ``dashboards.data`` (its ``__init__`` names what is
public). The rules it keeps are in that module's docstring.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from billing_reports import settings
from dashboards import auth

#: Seconds a query result is kept (``BILLING_DASHBOARD_CACHE_SECONDS``); read once, on import.
CACHE_SECONDS = settings.dashboard_cache_seconds()


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
    path = str(settings.warehouse_path())
    return WarehouseFile(path, _fingerprint(path))


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
    closes it and opens the new file. One reaper thread (started with the first connection) closes
    the connection once no cursor has been in use for ``READER_IDLE_SECONDS``, so that nothing
    holds the file while the dashboard is idle.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._key: tuple[str, tuple[int, int, int]] | None = None
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._in_use = 0
        self._idle_since = 0.0  # time.monotonic() when the last cursor was given back
        self._reaper: threading.Thread | None = None
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
                self._start_reaper_locked()
            self._in_use += 1
            cursor = self._connection.cursor()
            # No replacement scans: a missing table is an error, never a Python object of the same name.
            cursor.execute("set python_enable_replacements = false")
        try:
            yield cursor
        finally:
            cursor.close()
            with self._lock:
                self._in_use -= 1
                if not self._in_use:
                    self._idle_since = time.monotonic()
                self._lock.notify_all()

    def _start_reaper_locked(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(target=self._reap, name="dashboard-reader-reaper", daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        """Close the connection once it has been idle for ``READER_IDLE_SECONDS`` (for ever, in the
        background; it sleeps on the lock's condition while nothing is open or a query runs)."""
        with self._lock:
            while True:
                if self._connection is None or self._in_use:
                    self._lock.wait()
                    continue
                remaining = self._idle_since + READER_IDLE_SECONDS - time.monotonic()
                if remaining <= 0:
                    self._close_locked()
                else:
                    self._lock.wait(remaining)

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
# Query fragments shared by the reports
# --------------------------------------------------------------------------------------------


def _local_date(column: str) -> str:
    """The client's local date (R3) of a UTC timestamp column, in a query joined to
    ``marts.dim_clients as clients`` (a client without a zone falls back to UTC)."""
    return f"cast(timezone(coalesce(clients.timezone, 'UTC'), timezone('UTC', {column})) as date)"


def _as_utc(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def _with_client_names(
    model: str, columns: Sequence[str], where: _Where, order_by: str, *, timezone: bool = False
) -> pd.DataFrame:
    """The rows of ``model`` (a mart with a ``client_id``) that ``where`` keeps, as ``client_id``,
    ``client_name`` (``dim_clients.display_name``), with ``timezone`` the client's zone, then
    ``columns``, in ``order_by`` order. The query joins ``marts.dim_clients as clients``, so
    ``where`` may use ``_local_date``. ``model``, ``columns`` and ``order_by`` are constant text
    of this package, never a caller's."""
    selected = ["client_id", "clients.display_name as client_name"]
    selected += ["clients.timezone"] if timezone else []
    select_list = ",\n            ".join([*selected, *columns])
    return _frame(
        f"""
        select
            {select_list}
        from {model}
        left join marts.dim_clients as clients using (client_id)
        {where.sql}
        order by {order_by}
        """,
        where.params,
    )


def _distinct(model: str, column: str, where: _Where) -> list[str]:
    """The distinct values of ``column`` in the rows of ``model`` that ``where`` keeps, sorted (the
    choices of a filter)."""
    frame = _frame(f"select distinct {column} from {model} {where.sql} order by 1", where.params)
    return frame[column].tolist()
