"""``billing-reports notify``: the e-mails of the warehouse, each sent once per recipient.

Three kinds of message, all read from the published warehouse (read-only, one connection,
closed before anything is sent):

``job_activity``
    The Job Activity Report (R11) of every job in ``marts.rpt_job_activity``, to each row of
    ``marts.rpt_job_activity_recipients`` (the client's ``primary_support`` and ``billing``
    contacts valid at completion). HTML body and PDF attachment from
    ``billing_reports.activity_report``. Once per job x recipient.
``overdue_file``
    An alert for every upload that ``marts.rpt_file_pickup`` shows ``overdue`` (R12), to the
    client's ``primary_support`` contacts valid now. Once per file x recipient.
``approval_reminder``
    A reminder for every job awaiting customer approval (``marts.rpt_job_approval``) for longer
    than ``--approval-reminder-hours``, to the client's ``primary_support`` and ``billing``
    contacts valid now. Once per job x recipient x approval episode (``awaiting_since``). Not
    for an approval already decided, as landed or as logged by the portal.
``approval_decision``
    The confirmation of a decision made in the portal or with ``billing-reports approve|reject``
    (``billing_reports.approvals``), to the client's primary support contacts valid at the
    decision, read from the decision log (not the warehouse). Queued in the outbox when the
    decision is written; sent by the next run. Once per approval x recipient.

The alert and the reminder read the contacts valid now from ``marts.dim_contacts`` and the
client's name and time zone from ``marts.dim_clients``: like the dashboard, notify reads public
models only.

Exactly once goes through an outbox: a SQLite file (``BILLING_OUTBOX``, default ``outbox.sqlite``
beside the warehouse file, so that it outlives every published warehouse file). Each message has
a deterministic Message-ID, which is the outbox key. The protocol, one commit per step:

1. insert the row as ``pending`` (ignored when it exists);
2. mark it ``sending``, attempts + 1, and commit, *before* talking to the server;
3. send over SMTP;
4. mark it ``sent`` (or ``failed`` with a backoff, ``dead`` after ``--max-attempts``).

A run that dies between 3 and 4 leaves ``sending``. The next run does not know whether the
server took the message, and the requirement is that a job's report never reaches the same
person twice, so it marks such rows ``sent`` with ``last_error`` = "recovered after crash:
assumed delivered" (at most once). A connection lost during SMTP ``DATA`` is treated the same
way, for the same reason. See docs/notify.md.
"""

from __future__ import annotations

import argparse
import contextlib
import email.policy
import email.utils
import hashlib
import html
import re
import smtplib
import sqlite3
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from billing_reports import fileio, settings
from billing_reports.cli import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, UserError, non_negative_number, progress
from billing_reports.settings import SmtpSettings

KINDS = ("job_activity", "overdue_file", "approval_reminder", "approval_decision")
KIND_PREFIXES = {
    "job_activity": "job-activity",
    "overdue_file": "overdue-file",
    "approval_reminder": "approval-reminder",
    "approval_decision": "approval-decision",
}
STATES = ("pending", "sending", "sent", "failed", "dead")

MESSAGE_ID_DOMAIN = "billing-reports.local"
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_BASE = timedelta(minutes=5)
PICKUP_WINDOW = timedelta(minutes=15)
MAX_NOTES = 20  # notes shown in the summary (no recipient, recovered rows, ...)

RECOVERED_NOTE = "recovered after crash: assumed delivered"
UNCERTAIN_NOTE = "connection lost during SMTP DATA: assumed delivered"
#: On the wire: CRLF, and headers folded only past 200 characters (RFC 5322 allows 998), so that
#: a subject is one line (Python folds a long unstructured header badly, leaving a leading space).
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=200)


class NotifyLocked(Exception):
    """Another notify run holds the outbox."""


class DeliveryFailed(Exception):
    """The server did not take the message (it is safe to send it again later)."""


class DeliveryUncertain(Exception):
    """The connection broke while the message was being handed over: it may have been delivered."""


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


def default_outbox_path(warehouse: Path | None = None) -> Path:
    """env ``BILLING_OUTBOX``; else ``outbox.sqlite`` beside the warehouse file (``warehouse/outbox.sqlite``)."""
    return settings.beside_warehouse("BILLING_OUTBOX", "outbox.sqlite", warehouse)


def default_eml_dir(warehouse: Path | None = None) -> Path:
    """``outbox-eml/`` beside the warehouse file (``warehouse/outbox-eml/``)."""
    return (warehouse or settings.warehouse_path()).parent / "outbox-eml"


# --------------------------------------------------------------------------------------------
# Time and identifiers
# --------------------------------------------------------------------------------------------


def _utc(value: datetime | str | None) -> datetime | None:
    """A timezone-aware UTC datetime; naive values (DuckDB TIMESTAMP) are UTC by the contract."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _naive_utc(value: datetime) -> datetime:
    return _utc(value).replace(tzinfo=None)


def _fmt_utc(value: datetime | None) -> str:
    return "" if value is None else _utc(value).strftime("%Y-%m-%d %H:%M UTC")


def _fmt_local(value: datetime | None, timezone: str | None) -> str | None:
    """``2026-03-15 07:00 EDT`` in the client's zone, or None when the zone is unknown."""
    if value is None or not timezone:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return _utc(value).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _fmt_both(value: datetime | None, timezone: str | None) -> str:
    local = _fmt_local(value, timezone)
    return f"{_fmt_utc(value)} ({local}, {timezone})" if local else _fmt_utc(value)


def _token(value: Any) -> str:
    """An id made safe for a Message-ID and a file name; unsafe ids keep a hash, so they stay distinct."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", text):
        return text
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "x"
    return f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def normalize_email(address: str | None) -> str | None:
    address = (address or "").strip()
    if not address or "@" not in address or any(char in address for char in "\r\n<>,; "):
        return None
    return address.lower()


def message_id(kind: str, *parts: Any, recipient: str) -> str:
    """Deterministic: ``<job-activity.C1.J1.<sha256(recipient)[:12]>@billing-reports.local>``."""
    digest = hashlib.sha256(recipient.encode()).hexdigest()[:12]
    tokens = ".".join(_token(part) for part in parts)
    return f"<{KIND_PREFIXES[kind]}.{tokens}.{digest}@{MESSAGE_ID_DOMAIN}>"


def _one_line(text: Any) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


# --------------------------------------------------------------------------------------------
# The outbox
# --------------------------------------------------------------------------------------------

OUTBOX_SCHEMA = """
create table if not exists outbox (
    message_id      text primary key,
    kind            text not null,
    recipient       text not null,
    subject         text not null,
    state           text not null check (state in ('pending', 'sending', 'sent', 'failed', 'dead')),
    attempts        integer not null default 0,
    last_error      text,
    next_attempt_at text,
    created_at      text not null,
    sent_at         text
);
create index if not exists outbox_state on outbox (state);
"""


class Outbox:
    """The outbox table; every method commits at once (autocommit), so each step is durable."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if read_only:
            self.connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        else:
            fileio.private_dir(self.path.parent)
            if not self.path.exists():
                self.path.touch(mode=fileio.PRIVATE_FILE_MODE)  # SQLite would create it with the umask's mode
            self.connection = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.connection.executescript(OUTBOX_SCHEMA)
        self.connection.row_factory = sqlite3.Row

    def close(self) -> None:
        self.connection.close()

    def rows(self) -> dict[str, sqlite3.Row]:
        return {row["message_id"]: row for row in self.connection.execute("select * from outbox")}

    def row(self, message_id: str) -> sqlite3.Row | None:
        return self.connection.execute("select * from outbox where message_id = ?", [message_id]).fetchone()

    def insert_pending(self, message: PlannedMessage, now: datetime) -> None:
        self.connection.execute(
            "insert or ignore into outbox (message_id, kind, recipient, subject, state, attempts, created_at) "
            "values (?, ?, ?, ?, 'pending', 0, ?)",
            [message.message_id, message.kind, message.recipient, message.subject, _iso(now)],
        )

    def claim(self, message_id: str, now: datetime) -> bool:
        """pending/failed -> sending, attempts + 1; False when another run got there first."""
        cursor = self.connection.execute(
            "update outbox set state = 'sending', attempts = attempts + 1, next_attempt_at = null "
            "where message_id = ? and state in ('pending', 'failed')",
            [message_id],
        )
        return cursor.rowcount == 1

    def mark_sent(self, message_id: str, now: datetime, note: str | None = None) -> None:
        self.connection.execute(
            "update outbox set state = 'sent', sent_at = ?, last_error = ?, next_attempt_at = null "
            "where message_id = ?",
            [_iso(now), note, message_id],
        )

    def mark_failed(
        self,
        message_id: str,
        now: datetime,
        error: str,
        *,
        retry_base: timedelta,
        max_attempts: int,
        count_attempt: bool = False,
    ) -> sqlite3.Row:
        """failed with next_attempt_at = now + base x 2^(attempts-1), or dead after max_attempts."""
        if count_attempt:  # a failure before the message was claimed (it could not be built)
            self.connection.execute("update outbox set attempts = attempts + 1 where message_id = ?", [message_id])
        attempts = self.row(message_id)["attempts"]
        if attempts >= max_attempts:
            self.connection.execute(
                "update outbox set state = 'dead', last_error = ?, next_attempt_at = null where message_id = ?",
                [error, message_id],
            )
        else:
            next_attempt = now + retry_base * (2 ** max(attempts - 1, 0))
            self.connection.execute(
                "update outbox set state = 'failed', last_error = ?, next_attempt_at = ? where message_id = ?",
                [error, _iso(next_attempt), message_id],
            )
        return self.row(message_id)

    def recover_sending(self, now: datetime) -> list[sqlite3.Row]:
        """Rows left ``sending`` by a run that died mid-send: possibly delivered, so recorded as sent."""
        rows = self.connection.execute("select * from outbox where state = 'sending'").fetchall()
        for row in rows:
            self.connection.execute(
                "update outbox set state = 'sent', sent_at = ?, last_error = ? where message_id = ? "
                "and state = 'sending'",
                [_iso(now), RECOVERED_NOTE, row["message_id"]],
            )
        return rows

    def requeue_dead(self) -> int:
        cursor = self.connection.execute(
            "update outbox set state = 'failed', attempts = 0, next_attempt_at = null where state = 'dead'"
        )
        return cursor.rowcount


@contextlib.contextmanager
def outbox_lock(outbox_path: Path, timeout: float) -> Iterator[None]:
    """``<outbox>.lock`` (flock) for the whole run, so that two runs never work the same rows."""
    lock_file = fileio.lock_path(outbox_path)
    try:
        with fileio.exclusive_lock(lock_file, wait_seconds=timeout):
            yield
    except fileio.LockBusy as error:
        raise NotifyLocked(f"another notify run holds {lock_file}") from error


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


# --------------------------------------------------------------------------------------------
# Building the e-mails
# --------------------------------------------------------------------------------------------


class MessageBuilder:
    """Turns a planned message into an ``EmailMessage``; renders each job's report once per run."""

    def __init__(self, warehouse: Path, mail_from: str, clock: Callable[[], datetime]):
        self.warehouse = warehouse
        self.mail_from = mail_from
        self.clock = clock
        self._report_key: tuple | None = None
        self._report: tuple[dict[str, Any], str, bytes] | None = None

    def build(self, message: PlannedMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.mail_from
        mail["To"] = email.utils.formataddr((_one_line(message.recipient_name or ""), message.recipient))
        mail["Date"] = email.utils.format_datetime(self.clock())
        mail["Message-ID"] = message.message_id
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Billing-Kind"] = message.kind
        getattr(self, f"_build_{message.kind}")(message, mail)
        return mail

    # The Job Activity Report -------------------------------------------------------------

    def _job_report(self, client_id: str, job_id: str) -> tuple[dict[str, Any], str, bytes]:
        from billing_reports.activity_report import load_job_activity, render_html, render_pdf

        if self._report_key != (client_id, job_id):
            data = load_job_activity(self.warehouse, job_id, client_ids=[client_id])
            self._report = (data, render_html(data), render_pdf(data))
            self._report_key = (client_id, job_id)
        assert self._report is not None
        return self._report

    def _build_job_activity(self, message: PlannedMessage, mail: EmailMessage) -> None:
        client_id, job_id = message.key
        data, report_html, report_pdf = self._job_report(client_id, job_id)
        job, activity = data["job"], data["activity"] or {}
        lines = [
            f"Hello {message.recipient_name or ''},".replace(" ,", ","),
            "",
            f"Job {job_id} ({job.get('job_name') or ''}) has completed. Its Job Activity Report is below "
            "and attached as a PDF.",
            "",
            f"  Completed:             {_fmt_utc(activity.get('completed_at'))} "
            f"(local date {activity.get('completed_date') or ''})",
            f"  Documents:             {job.get('document_count')}",
            f"  Print documents:       {activity.get('print_document_count')}",
            f"  Electronic documents:  {activity.get('electronic_document_count')}",
            f"  Pulled documents:      {activity.get('pulled_document_count')}",
            f"  Failed deliveries:     {activity.get('failed_delivery_count')}",
            f"  Bounced deliveries:    {activity.get('bounced_delivery_count')}",
            "",
            "You can also view this report in Client Connect: Reporting tab, Job Tracking Report, "
            "details of the job, View Job Activity Report.",
            "",
            "This report is e-mailed once per completed job.",
        ]
        mail.set_content("\n".join(lines) + "\n")
        mail.add_alternative(report_html, subtype="html")
        mail.add_attachment(
            report_pdf, maintype="application", subtype="pdf", filename=f"job-activity-{_token(job_id)}.pdf"
        )

    # The overdue-file alert --------------------------------------------------------------

    def _build_overdue_file(self, message: PlannedMessage, mail: EmailMessage) -> None:
        row = message.context
        timezone = row.get("timezone")
        client = f"{row.get('client_name') or row['client_id']} ({row['client_id']})"
        expected = _utc(row["expected_pickup_by"])
        uploaded = _utc(row["uploaded_at"])
        processing_start = expected - PICKUP_WINDOW
        facts = [
            ("Client", client),
            ("File", f"{row['file_name']} (file id {row['file_id']})"),
            ("Uploaded", _fmt_both(uploaded, timezone)),
            ("Expected pickup by", _fmt_both(expected, timezone)),
        ]
        if processing_start > uploaded:
            window = (
                "A timed start rule holds processing until "
                f"{_fmt_local(processing_start, timezone) or _fmt_utc(processing_start)}; "
                "the 15-minute pickup window starts then."
            )
        else:
            window = "A file is normally picked up for processing within 15 minutes of its upload."
        action = (
            "What to do: if your job does not appear in the Job Tracking report in Client Connect, "
            "please submit a ticket to Customer Support, quoting the file name and file id above."
        )
        intro = f"The file {row['file_name']} was uploaded but has not been picked up for processing."
        footer = "You receive this alert once per file."
        _set_text_and_html(mail, message.recipient_name, intro, facts, [window, action], footer)

    # The approval reminder ---------------------------------------------------------------

    def _build_approval_reminder(self, message: PlannedMessage, mail: EmailMessage) -> None:
        row = message.context
        timezone = row.get("timezone")
        since = _utc(row["awaiting_since"])
        waited = _utc(row["reference_time"]) - since
        hours = waited.total_seconds() / 3600
        amount = row.get("amount_due")
        amount_text = "" if amount is None else f"{Decimal(amount):,.2f} {row.get('currency') or ''}".strip()
        facts = [
            ("Client", f"{row.get('client_name') or row['client_id']} ({row['client_id']})"),
            ("Job", f"{row['job_id']} ({row.get('job_name') or ''})"),
            ("Awaiting customer approval since", _fmt_both(since, timezone)),
            ("Waiting for", f"{hours:,.0f} hours"),
            ("Documents", f"{row.get('document_count')}"),
            ("Amount due", amount_text),
            ("Pulled documents (pull class T)", f"{row.get('pulled_document_count')}"),
        ]
        intro = f"Job {row['job_id']} is waiting for your approval before it can be processed to completion."
        action = (
            "What to do: in Client Connect, open the Reporting tab and run the Job Approval report; "
            "approve the job there (documents you select to be pulled are converted to pull class T)."
        )
        footer = "You receive this reminder once each time a job starts waiting for your approval."
        _set_text_and_html(mail, message.recipient_name, intro, facts, [action], footer)

    # The confirmation of a decision -------------------------------------------------------

    def _build_approval_decision(self, message: PlannedMessage, mail: EmailMessage) -> None:
        from billing_reports.approvals import describe_amounts

        row = message.context
        timezone = row.get("timezone")
        approved = row["decision"] == "approved"
        stage = "operations" if row["stage"] == "ops" else "customer"
        facts = [
            ("Client", f"{row.get('client_name') or row['client_id']} ({row['client_id']})"),
            ("Job", f"{row['job_id']} ({row.get('job_name') or ''})"),
            ("Decision", f"{row['decision']} ({stage} approval)"),
            ("Decided by", row["decided_by"]),
            ("Decided at", _fmt_both(row["decided_at"], timezone)),
        ]
        if approved:
            facts.append(("Documents to send", f"{row['send_count']} ({describe_amounts(row['send_amounts'])})"))
            facts.append(
                ("Documents pulled (Pull Class T)", f"{len(row['pulls'])} ({describe_amounts(row['pull_amounts'])})")
            )
            facts += [
                (
                    f"  pulled {pull['document_number'] or pull['document_id']}",
                    f"{pull['amount_due']} {pull['currency']}",
                )
                for pull in row["pulls"]
            ]
        if row.get("reason"):
            facts.append(("Reason", row["reason"]))
        verb = "approved" if approved else "rejected"
        intro = f"Job {row['job_id']} was {verb} in Client Connect. This confirms the decision."
        paragraphs = [
            "The decision has been passed to the billing system; the Job approval and Job tracking reports show "
            "it once the billing system has taken it."
        ]
        footer = "You receive this confirmation once per decision."
        _set_text_and_html(mail, message.recipient_name, intro, facts, paragraphs, footer)


def _set_text_and_html(
    mail: EmailMessage,
    name: str | None,
    intro: str,
    facts: list[tuple[str, str]],
    paragraphs: list[str],
    footer: str,
) -> None:
    greeting = f"Hello {name}," if name else "Hello,"
    width = max(len(label) for label, _ in facts) + 2
    text = [greeting, "", intro, ""]
    text += [f"  {label + ':':<{width}} {value}" for label, value in facts]
    text += [""] + [line for paragraph in paragraphs for line in (paragraph, "")] + [footer]
    mail.set_content("\n".join(text) + "\n")
    rows = "".join(
        f"<tr><th style='text-align:left;padding:2px 12px 2px 0;color:#52606d'>{html.escape(label)}</th>"
        f"<td>{html.escape(value)}</td></tr>"
        for label, value in facts
    )
    body = "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs)
    mail.add_alternative(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'></head>"
        "<body style='font-family:Helvetica,Arial,sans-serif;font-size:14px;color:#1f2933'>"
        f"<p>{html.escape(greeting)}</p><p>{html.escape(intro)}</p><table>{rows}</table>{body}"
        f"<p style='color:#7b8794;font-size:12px'>{html.escape(footer)}</p></body></html>\n",
        subtype="html",
    )


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    return _one_line(f"{type(error).__name__}: {error}")[:500]


class SmtpSender:
    """One SMTP connection for the run, opened on the first message and re-opened after an error.

    ``send`` raises ``DeliveryFailed`` when the server certainly did not take the message (refused
    connection, login, sender, recipient, or a reply code to DATA) and ``DeliveryUncertain`` when
    the connection broke during DATA, after which nobody knows.
    """

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.envelope_from = email.utils.parseaddr(settings.mail_from)[1]
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        config = self.settings
        if config.tls == "ssl":
            smtp = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            smtp.ehlo()
            if config.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.user:
                smtp.login(config.user, config.password or "")
        except BaseException:
            self._drop(smtp)
            raise
        return smtp

    @staticmethod
    def _drop(smtp: smtplib.SMTP | None) -> None:
        if smtp is None:
            return
        with contextlib.suppress(Exception):
            smtp.quit()
        with contextlib.suppress(Exception):
            smtp.close()

    def close(self) -> None:
        self._drop(self._smtp)
        self._smtp = None

    def send(self, mail: EmailMessage, recipient: str) -> None:
        payload = mail.as_bytes(policy=WIRE_POLICY)
        for fresh in (False, True):
            reused = self._smtp is not None and not fresh
            try:
                if self._smtp is None or fresh:
                    self.close()
                    self._smtp = self._connect()
                code, reply = self._smtp.mail(self.envelope_from)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, reply, self.envelope_from)
                code, reply = self._smtp.rcpt(recipient)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
            except smtplib.SMTPServerDisconnected as error:
                self.close()
                if reused:  # an idle connection the server closed: try once on a new one
                    continue
                raise DeliveryFailed(_describe(error)) from error
            except (smtplib.SMTPException, OSError) as error:
                self._reset_or_close()
                raise DeliveryFailed(_describe(error)) from error
            break
        try:
            code, reply = self._smtp.data(payload)
            if code != 250:  # smtplib returns (not raises) the reply to the end of the message
                raise smtplib.SMTPDataError(code, reply)
        except smtplib.SMTPDataError as error:  # the server answered with an error code: not taken
            self._reset_or_close()
            raise DeliveryFailed(_describe(error)) from error
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise DeliveryUncertain(_describe(error)) from error

    def _reset_or_close(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except Exception:
            self.close()


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class KindCounts:
    sent: int = 0
    skipped: int = 0  # already sent (or recorded as delivered) in an earlier run
    failed: int = 0  # failed in this run; retried after the backoff
    dead: int = 0  # gave up in this run after --max-attempts
    waiting: int = 0  # failed earlier, not due for a retry yet
    recovered: int = 0  # left 'sending' by a crashed run: recorded as sent, not re-sent
    dead_before: int = 0  # dead in an earlier run: not retried (see --retry-dead)
    written: int = 0  # --dry-run: .eml files written


@dataclass
class NotifyResult:
    dry_run: bool
    outbox: Path
    counts: dict[str, KindCounts] = field(default_factory=lambda: {kind: KindCounts() for kind in KINDS})
    failures: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    eml_dir: Path | None = None
    eml_files: list[Path] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(counts, name) for counts in self.counts.values())

    @property
    def exit_code(self) -> int:
        """1 when a message went dead in this run; transient failures are retried and exit 0."""
        return EXIT_FAILED if self.dead else EXIT_OK

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def summary(self) -> str:
        if self.dry_run:
            head = (
                f"notify --dry-run: {self.total('written')} .eml file(s) written to {self.eml_dir}; "
                f"nothing sent, outbox {self.outbox} untouched"
            )
            columns = ["written", "skipped", "waiting", "dead_before"]
        else:
            head = (
                f"notify: {self.total('sent')} sent, {self.total('skipped')} skipped (already sent), "
                f"{self.total('failed')} failed, {self.total('dead')} dead"
            )
            columns = ["sent", "skipped", "failed", "dead", "waiting", "recovered", "dead_before"]
        titles = [name.replace("_", "-") for name in columns]
        lines = [head, f"  {'kind':<18}" + "".join(f"  {title:>11}" for title in titles)]
        for kind in KINDS:
            counts = self.counts[kind]
            lines.append(f"  {kind:<18}" + "".join(f"  {getattr(counts, name):>11}" for name in columns))
        legend = {
            "skipped": "skipped: sent by an earlier run",
            "waiting": "waiting: failed earlier, retried once its backoff is over",
            "recovered": "recovered: left 'sending' by a crashed run, recorded as sent, not re-sent",
            "dead_before": "dead-before: gave up in an earlier run (--retry-dead puts them back)",
        }
        lines.append("  (" + "; ".join(legend[name] for name in columns if name in legend) + ")")
        lines += [f"  FAILED {line}" for line in self.failures]
        lines += [f"  DEAD {line}" for line in self.dead]
        lines += [f"  note: {line}" for line in self.notes[:MAX_NOTES]]
        if len(self.notes) > MAX_NOTES:
            lines.append(f"  note: ... and {len(self.notes) - MAX_NOTES} more")
        return "\n".join(lines)


def run_notify(
    warehouse: Path | str,
    *,
    dry_run: bool = False,
    eml_dir: Path | str | None = None,
    outbox: Path | str | None = None,
    now: datetime | str | None = None,
    as_of: datetime | str | None = None,
    approval_reminder_hours: float | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    retry_base: timedelta = DEFAULT_RETRY_BASE,
    retry_dead: bool = False,
    smtp: SmtpSettings | None = None,
    lock_timeout: float = 60.0,
    log: Callable[[str], None] = progress,
) -> NotifyResult:
    """Send (or, with ``dry_run``, write as .eml) every message the warehouse calls for, once.

    ``now`` is the clock of the outbox (created, sent, next attempt) and, unless ``as_of`` is
    given, the time that approval waits and contact validity are measured at; default: the
    current UTC time. ``as_of`` (the build's dbt ``as_of``, which ``refresh --notify`` passes) is
    used for the latter instead, so that reminders agree with the warehouse they were read from.
    Raises ``UserError`` for settings or input problems and ``NotifyLocked`` when another run
    holds the outbox.
    """
    warehouse = Path(warehouse)
    fixed_now = _utc(now)
    clock: Callable[[], datetime] = (lambda: fixed_now) if fixed_now else (lambda: datetime.now(UTC))
    reference_time = _utc(as_of) or clock()
    hours = settings.approval_reminder_hours() if approval_reminder_hours is None else float(approval_reminder_hours)
    if hours < 0:
        raise UserError("--approval-reminder-hours must be 0 or more")
    if max_attempts < 1:
        raise UserError("--max-attempts must be 1 or more")
    outbox_path = Path(outbox) if outbox else default_outbox_path(warehouse)
    if dry_run:
        smtp_settings = None
        mail_from = settings.mail_from()
    else:
        smtp_settings = smtp or SmtpSettings.from_env()
        mail_from = smtp_settings.mail_from

    log(f"notify: reading {warehouse}")
    snapshot = read_warehouse(warehouse, reference_time, timedelta(hours=hours))
    planned, notes = plan_messages(snapshot, reference_time)
    planned = _with_portal_decisions(planned, warehouse)
    log(f"notify: {len(planned)} message(s) called for by the warehouse; outbox {outbox_path}")
    result = NotifyResult(dry_run=dry_run, outbox=outbox_path, notes=notes)
    builder = MessageBuilder(warehouse, mail_from, clock)

    if dry_run:
        result.eml_dir = Path(eml_dir) if eml_dir else default_eml_dir(warehouse)
        _dry_run(planned, builder, outbox_path, clock, result)
        return result

    assert smtp_settings is not None
    sender = SmtpSender(smtp_settings)
    with outbox_lock(outbox_path, lock_timeout):
        box = Outbox(outbox_path)
        try:
            if retry_dead:
                log(f"notify: {box.requeue_dead()} dead message(s) put back for retry")
            recovered = set()
            for row in box.recover_sending(clock()):
                recovered.add(row["message_id"])
                if row["kind"] in result.counts:
                    result.counts[row["kind"]].recovered += 1
                result.notes.append(f"{row['message_id']} to {row['recipient']}: {RECOVERED_NOTE}")
            _send_all(
                planned,
                builder,
                box,
                sender,
                clock,
                result,
                retry_base=retry_base,
                max_attempts=max_attempts,
                recovered=recovered,
            )
        finally:
            sender.close()
            box.close()
    log(f"notify: {result.total('sent')} sent, {result.total('failed')} failed, {result.total('dead')} dead")
    return result


def _with_portal_decisions(planned: list[PlannedMessage], warehouse: Path) -> list[PlannedMessage]:
    """Add the confirmation of each decision the portal logged, and drop the reminders of the
    approvals it decided (the billing system's row may not have landed yet)."""
    from billing_reports import approvals

    decided = approvals.written_decisions(approvals.decision_log_path(warehouse))
    done = {record["approval_id"] for record in decided}
    kept = [
        message
        for message in planned
        if not (message.kind == "approval_reminder" and message.context.get("approval_id") in done)
    ]
    return kept + approvals.confirmation_messages(decided)


def _not_due(row, now) -> str | None:
    """Why an outbox row is not to be sent now, as the counter it adds to; None when it is due.

    'sending' counts as skipped: another run is on it right now, or it was recovered as delivered.
    """
    if row["state"] in ("sent", "sending"):
        return "skipped"
    if row["state"] == "dead":
        return "dead_before"
    if row["state"] == "failed" and row["next_attempt_at"] and _utc(row["next_attempt_at"]) > now:
        return "waiting"
    return None


def _send_all(
    planned: list[PlannedMessage],
    builder: MessageBuilder,
    box: Outbox,
    sender: SmtpSender,
    clock: Callable[[], datetime],
    result: NotifyResult,
    *,
    retry_base: timedelta,
    max_attempts: int,
    recovered: set[str] = frozenset(),
) -> None:
    from billing_reports.activity_report import JobNotFound

    known = box.rows()
    for message in planned:
        counts = result.counts[message.kind]
        row = known.get(message.message_id)
        if message.message_id in recovered:  # counted as recovered, not re-sent
            continue
        if row is None:
            box.insert_pending(message, clock())
        elif skip := _not_due(row, clock()):
            setattr(counts, skip, getattr(counts, skip) + 1)
            continue

        try:
            mail = builder.build(message)
        except JobNotFound:  # gone from a warehouse published since the plan: leave it pending
            result.notes.append(f"{message.message_id}: job no longer in the warehouse; left pending")
            continue
        except Exception as error:  # a message that cannot be built must not stop the others
            _record_failure(
                box,
                message,
                clock(),
                f"could not build the message: {_describe(error)}",
                result,
                retry_base=retry_base,
                max_attempts=max_attempts,
                count_attempt=True,
            )
            continue

        if not box.claim(message.message_id, clock()):
            counts.skipped += 1
            continue
        try:
            sender.send(mail, message.recipient)
        except DeliveryUncertain as error:
            box.mark_sent(message.message_id, clock(), note=f"{UNCERTAIN_NOTE} ({error})")
            counts.sent += 1
            result.notes.append(f"{message.message_id} to {message.recipient}: {UNCERTAIN_NOTE} ({error})")
            continue
        except DeliveryFailed as error:
            _record_failure(box, message, clock(), str(error), result, retry_base=retry_base, max_attempts=max_attempts)
            continue
        box.mark_sent(message.message_id, clock())
        counts.sent += 1


def _record_failure(
    box: Outbox,
    message: PlannedMessage,
    now: datetime,
    error: str,
    result: NotifyResult,
    *,
    retry_base: timedelta,
    max_attempts: int,
    count_attempt: bool = False,
) -> None:
    row = box.mark_failed(
        message.message_id, now, error, retry_base=retry_base, max_attempts=max_attempts, count_attempt=count_attempt
    )
    counts = result.counts[message.kind]
    if row["state"] == "dead":
        counts.dead += 1
        result.dead.append(f"{message.message_id} to {message.recipient} after {row['attempts']} attempt(s): {error}")
    else:
        counts.failed += 1
        result.failures.append(
            f"{message.message_id} to {message.recipient} (attempt {row['attempts']}, "
            f"retry after {row['next_attempt_at']}): {error}"
        )


def _dry_run(
    planned: list[PlannedMessage],
    builder: MessageBuilder,
    outbox_path: Path,
    clock: Callable[[], datetime],
    result: NotifyResult,
) -> None:
    """Write what a real run would send now as .eml files. The outbox is read (if it exists), never written."""
    from billing_reports.activity_report import JobNotFound

    known: dict[str, sqlite3.Row] = {}
    if outbox_path.is_file():
        box = Outbox(outbox_path, read_only=True)
        try:
            known = box.rows()
        except sqlite3.Error:
            known = {}
        finally:
            box.close()
    assert result.eml_dir is not None
    fileio.private_dir(result.eml_dir)
    for message in planned:
        counts = result.counts[message.kind]
        row = known.get(message.message_id)
        if row is not None and (skip := _not_due(row, clock())):
            setattr(counts, skip, getattr(counts, skip) + 1)
            continue
        try:
            mail = builder.build(message)
        except JobNotFound:
            continue
        path = result.eml_dir / f"{message.message_id.strip('<>').split('@')[0]}.eml"
        path.write_bytes(mail.as_bytes(policy=WIRE_POLICY))
        result.eml_files.append(path)
        counts.written += 1


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


_hours = non_negative_number("hours")


def _attempts(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from error
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "notify",
        help="e-mail the Job Activity Reports, overdue-file alerts and approval reminders, each once",
        description="Read the published warehouse and e-mail, once per recipient: the Job Activity Report of "
        "every completed job (R11: HTML body and PDF attachment) to the contacts valid at completion; an alert "
        "for every overdue upload (R12) to the client's primary support contacts; a reminder for every job "
        "awaiting customer approval longer than --approval-reminder-hours. An outbox (SQLite) records every "
        "message, so a second run sends nothing twice; failed messages are retried with exponential backoff "
        "and given up ('dead') after --max-attempts. Exit codes: 0 done (failures are retried later), "
        "1 a message went dead, 2 usage or settings error, 3 another notify run holds the outbox.",
        epilog="Settings: BILLING_SMTP_HOST (required unless --dry-run), BILLING_SMTP_PORT (default 25/587/465 "
        "by TLS mode), BILLING_SMTP_TLS (none, starttls, ssl; default none), BILLING_SMTP_USER, "
        "BILLING_SMTP_PASSWORD, BILLING_SMTP_TIMEOUT (seconds, default 30), BILLING_MAIL_FROM, "
        "BILLING_OUTBOX (default outbox.sqlite beside the warehouse), BILLING_APPROVAL_REMINDER_HOURS "
        "(default 24). See docs/notify.md.",
    )
    parser.add_argument(
        "--warehouse", help="published DuckDB file (default: BILLING_WAREHOUSE or warehouse/billing.duckdb)"
    )
    parser.add_argument(
        "--outbox",
        metavar="PATH",
        help="outbox SQLite file (default: BILLING_OUTBOX or outbox.sqlite beside the warehouse)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="write .eml files instead of sending; needs no server; the outbox is read, never written",
    )
    parser.add_argument(
        "--eml-dir",
        metavar="DIR",
        help="with --dry-run: where the .eml files go (default: outbox-eml/ beside the warehouse)",
    )
    parser.add_argument(
        "--approval-reminder-hours",
        type=_hours,
        default=None,
        metavar="N",
        help="remind about jobs awaiting customer approval longer than N hours "
        f"(default: BILLING_APPROVAL_REMINDER_HOURS or {settings.DEFAULT_APPROVAL_REMINDER_HOURS:g})",
    )
    parser.add_argument(
        "--max-attempts",
        type=_attempts,
        default=DEFAULT_MAX_ATTEMPTS,
        metavar="N",
        help=f"give a message up ('dead') after N failed attempts (default {DEFAULT_MAX_ATTEMPTS})",
    )
    parser.add_argument(
        "--retry-base-minutes",
        type=_hours,
        default=DEFAULT_RETRY_BASE.total_seconds() / 60,
        metavar="M",
        help="backoff after the n-th failure: M x 2^(n-1) minutes (default 5)",
    )
    parser.add_argument(
        "--retry-dead", action="store_true", help="put dead messages back for retry (attempts start again at 0)"
    )
    parser.set_defaults(func=cmd_notify)


def cmd_notify(args: argparse.Namespace) -> int:
    if args.eml_dir and not args.dry_run:
        raise UserError("--eml-dir only goes with --dry-run")
    warehouse = Path(args.warehouse).resolve() if args.warehouse else settings.warehouse_path()
    try:
        result = run_notify(
            warehouse,
            dry_run=args.dry_run,
            eml_dir=Path(args.eml_dir).resolve() if args.eml_dir else None,
            outbox=Path(args.outbox).resolve() if args.outbox else None,
            approval_reminder_hours=args.approval_reminder_hours,
            max_attempts=args.max_attempts,
            retry_base=timedelta(minutes=args.retry_base_minutes),
            retry_dead=args.retry_dead,
        )
    except NotifyLocked as error:
        print(f"billing-reports notify: {error}", flush=True)
        return EXIT_LOCKED
    print(result.summary(), flush=True)
    return result.exit_code
