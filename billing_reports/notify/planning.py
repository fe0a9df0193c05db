"""What notify sends: read from the published warehouse (public models only) and planned as messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from billing_reports.cli import UserError
from billing_reports.notify.outbox import _fmt_local, _fmt_utc, _naive_utc, _one_line, _utc, message_id, normalize_email

PICKUP_WINDOW = timedelta(minutes=15)


# --------------------------------------------------------------------------------------------
# What to send: read from the warehouse
# --------------------------------------------------------------------------------------------


@dataclass
class PlannedMessage:
    message_id: str
    kind: str
    recipient: str
    recipient_name: str | None
    subject: str
    key: tuple  # (client_id, job_id | file_id, ...): what the message is about
    context: dict[str, Any]


@dataclass
class WarehouseSnapshot:
    job_activity: list[dict[str, Any]]
    overdue_files: list[dict[str, Any]]
    approvals: list[dict[str, Any]]


def _query(connection: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


JOB_ACTIVITY_SQL = """
select
    activity.client_id,
    activity.job_id,
    activity.job_name,
    activity.completed_at,
    activity.completed_date,
    recipients.contact_id,
    recipients.full_name,
    recipients.email
from marts.rpt_job_activity as activity
left join marts.rpt_job_activity_recipients as recipients
    on activity.client_id = recipients.client_id and activity.job_id = recipients.job_id
order by activity.completed_at, activity.client_id, activity.job_id, recipients.email
"""

# Contacts valid at the reference time (?), of the roles given, per client.
CURRENT_CONTACTS_SQL = """
select client_id, contact_id, full_name, email, role
from marts.dim_contacts
where
    role in ({roles})
    and (valid_from is null or valid_from <= ?)
    and (valid_to is null or ? < valid_to)
"""

OVERDUE_FILES_SQL = """
with clients as (
    select client_id, display_name as client_name, timezone from marts.dim_clients
),

contacts as ({contacts})

select
    pickup.client_id,
    clients.client_name,
    clients.timezone,
    pickup.file_id,
    pickup.file_name,
    pickup.uploaded_at,
    pickup.expected_pickup_by,
    contacts.contact_id,
    contacts.full_name,
    contacts.email
from marts.rpt_file_pickup as pickup
left join clients on pickup.client_id = clients.client_id
left join contacts on pickup.client_id = contacts.client_id
where pickup.pickup_state = 'overdue'
order by pickup.uploaded_at, pickup.client_id, pickup.file_id, contacts.email
"""

APPROVALS_SQL = """
with clients as (
    select client_id, display_name as client_name, timezone from marts.dim_clients
),

contacts as ({contacts}),

jobs as (
    select client_id, job_id, job_name from marts.rpt_job_tracking
),

currencies as (
    select client_id, job_id, case when count(distinct currency) = 1 then min(currency) end as currency
    from marts.fct_documents
    group by client_id, job_id
)

select
    approval.client_id,
    approval.approval_id,
    clients.client_name,
    clients.timezone,
    approval.job_id,
    jobs.job_name,
    approval.awaiting_since,
    approval.document_count,
    approval.amount_due,
    currencies.currency,
    approval.pulled_document_count,
    contacts.contact_id,
    contacts.full_name,
    contacts.email
from marts.rpt_job_approval as approval
left join clients on approval.client_id = clients.client_id
left join jobs on approval.client_id = jobs.client_id and approval.job_id = jobs.job_id
left join currencies on approval.client_id = currencies.client_id and approval.job_id = currencies.job_id
left join contacts on approval.client_id = contacts.client_id
where
    approval.approval_stage = 'customer'
    and approval.awaiting_since <= ?
    and approval.approval_decided_at is null
order by approval.awaiting_since, approval.client_id, approval.job_id, contacts.email
"""


def read_warehouse(warehouse: Path, reference_time: datetime, reminder_after: timedelta) -> WarehouseSnapshot:
    """Everything to plan from, in one read-only connection closed at once (the file is replaced on refresh)."""
    import duckdb

    if not Path(warehouse).is_file():
        raise UserError(f"warehouse {warehouse} does not exist; run `billing-reports refresh` first")
    reference = _naive_utc(reference_time)
    try:
        connection = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        raise UserError(f"cannot open warehouse {warehouse} read-only: {error}") from error
    try:
        job_activity = _query(connection, JOB_ACTIVITY_SQL)
        primary = CURRENT_CONTACTS_SQL.format(roles="'primary_support'")
        overdue = _query(connection, OVERDUE_FILES_SQL.format(contacts=primary), [reference, reference])
        approvers = CURRENT_CONTACTS_SQL.format(roles="'primary_support', 'billing'")
        approvals = _query(
            connection,
            APPROVALS_SQL.format(contacts=approvers),
            [reference, reference, _naive_utc(reference_time - reminder_after)],
        )
    except duckdb.Error as error:
        raise UserError(f"warehouse {warehouse} lacks what notify reads (is it built?): {error}") from error
    finally:
        connection.close()
    return WarehouseSnapshot(job_activity=job_activity, overdue_files=overdue, approvals=approvals)


def _group(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], tuple]) -> dict[tuple, list[dict[str, Any]]]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups


def _recipients(rows: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Distinct (normalized e-mail, name): two contacts with one address get one message."""
    seen: dict[str, str | None] = {}
    for row in rows:
        address = normalize_email(row.get("email"))
        if address and address not in seen:
            seen[address] = row.get("full_name")
    return sorted(seen.items())


def plan_messages(snapshot: WarehouseSnapshot, reference_time: datetime) -> tuple[list[PlannedMessage], list[str]]:
    """Every message the warehouse calls for, in a stable order, and notes on what has no recipient."""
    planned: list[PlannedMessage] = []
    notes: list[str] = []

    for (client_id, job_id), rows in _group(snapshot.job_activity, lambda r: (r["client_id"], r["job_id"])).items():
        first = rows[0]
        recipients = _recipients(rows)
        if not recipients:
            notes.append(f"job_activity: job {job_id} ({client_id}) has no recipient with an e-mail address")
        completed_date = first.get("completed_date")
        local_date = completed_date.isoformat() if isinstance(completed_date, date) else _fmt_utc(first["completed_at"])
        subject = _one_line(f"Job Activity Report: {first['job_name'] or job_id} ({job_id}) completed {local_date}")
        for address, name in recipients:
            planned.append(
                PlannedMessage(
                    message_id=message_id("job_activity", client_id, job_id, recipient=address),
                    kind="job_activity",
                    recipient=address,
                    recipient_name=name,
                    subject=subject,
                    key=(client_id, job_id),
                    context=dict(first),
                )
            )

    for (client_id, file_id), rows in _group(snapshot.overdue_files, lambda r: (r["client_id"], r["file_id"])).items():
        first = rows[0]
        recipients = _recipients(rows)
        if not recipients:
            notes.append(f"overdue_file: file {file_id} ({client_id}) has no current primary support contact")
        subject = _one_line(
            f"File not picked up: {first['file_name'] or file_id} ({file_id}), uploaded "
            f"{_fmt_local(first['uploaded_at'], first['timezone']) or _fmt_utc(first['uploaded_at'])}"
        )
        context = dict(first)
        for address, name in recipients:
            planned.append(
                PlannedMessage(
                    message_id=message_id("overdue_file", client_id, file_id, recipient=address),
                    kind="overdue_file",
                    recipient=address,
                    recipient_name=name,
                    subject=subject,
                    key=(client_id, file_id),
                    context=context,
                )
            )

    for (client_id, job_id, since), rows in _group(
        snapshot.approvals, lambda r: (r["client_id"], r["job_id"], r["awaiting_since"])
    ).items():
        first = rows[0]
        recipients = _recipients(rows)
        if not recipients:
            notes.append(f"approval_reminder: job {job_id} ({client_id}) has no current approver contact")
        episode = _utc(since).strftime("%Y%m%dT%H%M%SZ")
        subject = _one_line(
            f"Approval needed: {first['job_name'] or job_id} ({job_id}) awaiting your approval since "
            f"{_fmt_local(since, first['timezone']) or _fmt_utc(since)}"
        )
        context = dict(first, reference_time=reference_time)
        for address, name in recipients:
            planned.append(
                PlannedMessage(
                    message_id=message_id("approval_reminder", client_id, job_id, episode, recipient=address),
                    kind="approval_reminder",
                    recipient=address,
                    recipient_name=name,
                    subject=subject,
                    key=(client_id, job_id, episode),
                    context=context,
                )
            )
    return planned, notes
