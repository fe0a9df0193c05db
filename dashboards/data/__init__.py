"""The dashboard's one data-access module: every query the pages show goes through here.

Pages call ``data.<function>`` (``from dashboards import data``) and nothing else of it; what
they may call is re-exported below (``__all__``). The code lives in the package's private
modules, one per part of the portal: ``_warehouse`` (the shared connection, the cache and the
scoped ``where``), ``_choices`` (the refresh banner and the filters' choices), ``_jobs`` (job
tracking, the Job Activity Report, job approval), ``_billing`` (the billing reports) and
``_operations`` (file pickup, rule changes, data quality).

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
  written in this package (``_Where`` takes column names from the code, never from a caller;
  ``_with_client_names`` and ``_distinct`` take a model and columns written by their callers).
* The published warehouse is opened READ-ONLY, once per published file (``_warehouse._Readers``):
  the queries of a page view share that connection (a cursor each) instead of opening the file once
  per query. A refresh publishes a new file by atomic rename; within one process
  ``duckdb.connect(path)`` hands back a database that is still open, so when the file's inode
  changes the old connection is closed (after its in-flight queries) before the new one opens.
  One reaper thread closes the connection after ``READER_IDLE_SECONDS`` without a query, so
  that an in-place ``billing-reports build`` is not locked out by an idle dashboard.
* Results are cached with ``st.cache_data`` for ``BILLING_DASHBOARD_CACHE_SECONDS`` (default 60;
  ``billing_reports.settings``, where a bad value is a ``SettingsError``).
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

from dashboards.data._billing import (
    billing_activity_details,
    billing_statistics,
    branch_activity,
    branch_billing,
    customer_routing,
    routing_as_of,
    routing_channels,
)
from dashboards.data._choices import (
    PUBLISHED,
    REPORT_DATES,
    RefreshInfo,
    branches,
    client_ids,
    client_names,
    clients,
    date_bounds,
    default_date_range,
    delivery_methods,
    last_refresh,
)
from dashboards.data._jobs import (
    DOCUMENT_STATES,
    FIND_BY,
    SEARCH_LIMIT,
    approval_jobs,
    document_deliveries,
    find_documents,
    job_activity,
    job_activity_files,
    job_delivery_counts,
    job_document_count,
    job_document_page,
    job_document_types,
    job_documents,
    job_steps,
    jobs,
)
from dashboards.data._operations import (
    OpsOnly,
    file_pickup,
    landing_accounting,
    refresh_runs,
    rejected_rows,
    rule_change_audit,
)
from dashboards.data._warehouse import (
    CACHE_SECONDS,
    WarehouseFile,
    WarehouseMissing,
    WarehouseUnavailable,
    current_scope,
    warehouse_file,
)

__all__ = [
    "CACHE_SECONDS",
    "DOCUMENT_STATES",
    "FIND_BY",
    "PUBLISHED",
    "REPORT_DATES",
    "SEARCH_LIMIT",
    "OpsOnly",
    "RefreshInfo",
    "WarehouseFile",
    "WarehouseMissing",
    "WarehouseUnavailable",
    "approval_jobs",
    "billing_activity_details",
    "billing_statistics",
    "branch_activity",
    "branch_billing",
    "branches",
    "clear_caches",
    "client_ids",
    "client_names",
    "clients",
    "current_scope",
    "customer_routing",
    "date_bounds",
    "default_date_range",
    "delivery_methods",
    "document_deliveries",
    "file_pickup",
    "find_documents",
    "job_activity",
    "job_activity_files",
    "job_delivery_counts",
    "job_document_count",
    "job_document_page",
    "job_document_types",
    "job_documents",
    "job_steps",
    "jobs",
    "landing_accounting",
    "last_refresh",
    "refresh_runs",
    "rejected_rows",
    "routing_as_of",
    "routing_channels",
    "rule_change_audit",
    "warehouse_file",
]


def clear_caches() -> None:
    """Forget every cached query result of this package (the benchmark measures uncached reads)."""
    from dashboards.data import _choices, _jobs, _warehouse

    for module in (_warehouse, _choices, _jobs):
        for name in dir(module):
            clear = getattr(getattr(module, name), "clear", None)
            if callable(clear) and name.startswith("_cached"):
                clear()
