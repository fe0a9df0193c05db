"""Job tracking (R6), the Job Activity Report (R11) and job approval (R7)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import duckdb
import pandas as pd
import streamlit as st

from dashboards.data._warehouse import (
    _READERS,
    CACHE_SECONDS,
    _distinct,
    _execute,
    _fingerprint,
    _frame,
    _local_date,
    _Where,
    _with_client_names,
    current_scope,
    warehouse_file,
)

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
    return _with_client_names(
        "marts.rpt_job_tracking",
        [
            "job_id",
            "job_name",
            "created_at",
            "current_status_code",
            "current_status_label",
            "current_step_order",
            "current_status_at",
            "document_count",
            "pulled_document_count",
            "is_complete",
            "job_completed_at",
            "job_complete_date",
            "ops_approval_required",
            "customer_approval_required",
            "tracker_completed_at",
            "is_tracker_complete",
        ],
        where,
        "created_at desc, job_id",
        timezone=True,
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
    return _with_client_names(
        "marts.fct_documents",
        [
            "job_id",
            "document_id",
            "document_number",
            "document_type",
            "customer_account_id",
            "branch_code",
            "delivery_channel",
            "delivery_method",
            "pull_class",
            "is_pulled",
            "pulled_at",
            "amount_due",
            "currency",
            "page_count",
        ],
        where,
        "job_id, document_number, document_id",
        timezone=True,
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
    return _distinct("marts.rpt_job_documents", "document_type", where)


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
    order, so a lookup by number reads only the block that holds it. A lookup by customer account
    first reads the account's document numbers from ``lookup.lookup_documents_by_account`` (stored
    in account order: one block), then those documents by number; the account, the client and
    branch scope are still applied to ``rpt_job_documents`` itself."""
    if by not in FIND_BY:
        raise ValueError(f"unknown search {by!r}; expected one of {sorted(FIND_BY)}")
    column = FIND_BY[by]
    needle = (text or "").strip()
    where = _Where().for_clients(client_ids).for_branches(None)
    if not needle:
        return _job_documents(where.condition("false"), limit)
    where.condition(f"{column} in (?, ?)", needle, needle.upper())
    if by == "customer_account":
        where.one_of("document_number", _account_document_numbers(needle, client_ids))
    return _job_documents(where, limit)


def _account_document_numbers(account: str, client_ids: Iterable[str] | None) -> list[str] | None:
    """The document numbers of a customer account (as typed or in capitals) in the clients in scope,
    from ``lookup.lookup_documents_by_account``, the narrow table in customer-account order that a
    lookup by customer account reads first. None (no condition: the lookup scans
    ``rpt_job_documents``) when the warehouse has no such table (built before it existed) or a
    document of the account has no number (it could not be found by number)."""
    where = _Where().for_clients(client_ids).condition("customer_account_id in (?, ?)", account, account.upper())
    try:
        found = _frame(
            f"select distinct document_number from lookup.lookup_documents_by_account {where.sql}", where.params
        )
    except duckdb.CatalogException:
        return None
    numbers = found["document_number"]
    return None if numbers.isna().any() else numbers.tolist()


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
