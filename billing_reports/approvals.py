"""Approve or reject a job awaiting approval, and pull documents from it, exactly once (issue 15).

One module decides, for the dashboard's Job approval page and for ``billing-reports approve`` /
``reject`` alike, so that both keep the same rules (docs/dashboard.md, docs/security.md).

Who may decide (``may_decide``; checked here, not only by the page's buttons):
    the ops stage: ops users; the customer stage: a client user with ``approver = true``
    (``users add --approver``), for their own client only. Everyone else is refused. With
    sign-in off (``BILLING_AUTH=off``, a local demo) the demo user acts for both sides.

What a decision writes, for the billing system, in the landing-file format (contract section 2),
under ``$BILLING_OUTBOUND_DIR`` (default ``warehouse/outbound``):
    ``document_pulls/<decided_at>-<approval_id>.csv``: one row per pulled document;
    ``job_approvals/<decided_at>-<approval_id>.csv``: the approval's row with ``decided_at``,
    ``decision`` and ``decided_by``. Names sort by decision time; each file is written atomically.
Beside them, not in the outbound folder: the append-only decision log (``BILLING_DECISION_LOG``,
default ``decisions.jsonl`` beside the warehouse), one JSON line per decision (who, when, from
which session as a keyed digest, what) and one per decision whose files are all written; and a
confirmation e-mail to the client's primary support contacts, queued in notify's outbox.

Exactly once. Everything below runs under one ``flock`` (``<log>.lock``), so two clicks, two tabs
or two processes take turns; the second finds the first's decision in the log and is told
"already decided by … at …" (the same user repeating the same decision gets it back instead).
The steps, in this order:

1. check rights and the landed data (the approval is the one its job awaits, not decided there);
2. append the decision to the log and fsync it: from here on the decision is made;
3. write the pulls file, 4. write the approval file (pulls first, so that the billing system
   never acts on an approval without its pulls), 5. queue the e-mail in the outbox,
6. append "written" to the log.

Steps 3 to 5 are derived from the logged decision alone: file names come from the approval id and
the logged decision time, the content from the logged record, the outbox key from the approval id
and recipient. A crash between any two steps is therefore finished by the next decision made
(any approval; ``finish_unwritten``), which redoes 3 to 6 for every logged decision without
"written": a file already there with the same bytes is left alone, a missing one is written, the
outbox insert is ignored when the row exists; the Job approval page does the same on every run
(``recover``). Nothing is lost (the log holds it) and nothing is written twice (same names, same
bytes, same outbox key). A crash before step 2 leaves nothing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import socket
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from billing_reports import fileio, settings

DECISIONS = ("approved", "rejected")
STAGES = ("ops", "customer")
OUTBOUND_TABLES = ("document_pulls", "job_approvals")
EXIT_DECIDED = 0
EXIT_REFUSED = 2
EXIT_ALREADY_DECIDED = 3
LOCK_WAIT_SECONDS = 15.0
MAX_REASON = 500
CONFIRMATION_KIND = "approval_decision"

LOGGER = logging.getLogger("billing_reports.approvals")


class Refused(Exception):
    """The decision is not allowed (rights, state of the landed data, bad input): exit 2."""


class AlreadyDecided(Exception):
    """Someone else decided this approval first: exit 3."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        super().__init__(f"already decided by {record['decided_by']} at {record['decided_at']} ({record['decision']})")


# --------------------------------------------------------------------------------------------
# Settings and places
# --------------------------------------------------------------------------------------------


def decision_log_path(warehouse: Path | None = None) -> Path:
    """env ``BILLING_DECISION_LOG``; default ``decisions.jsonl`` beside the warehouse file."""
    return settings.beside_warehouse("BILLING_DECISION_LOG", "decisions.jsonl", warehouse)


@dataclass(frozen=True)
class Places:
    """Where a decision is read from and written to."""

    warehouse: Path
    outbound: Path
    log: Path
    outbox: Path

    @classmethod
    def from_env(cls) -> Places:
        from billing_reports.notify.outbox import default_outbox_path

        warehouse = settings.warehouse_path()
        return cls(warehouse, settings.outbound_dir(), decision_log_path(warehouse), default_outbox_path(warehouse))


# --------------------------------------------------------------------------------------------
# Who may decide
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decider:
    """Who decides: from the users file (CLI) or the signed-in scope (dashboard), never from a page."""

    username: str
    role: str  # "ops" or "client"
    client_id: str | None = None
    branches: tuple[str, ...] | None = None
    approver: bool = False
    demo: bool = False
    session: str = "-"  # the raw session id; only a keyed digest of it is written
    via: str = "dashboard"

    @classmethod
    def from_user(cls, user: Any, session: str, via: str = "cli") -> Decider:
        return cls(user.username, user.role, user.client_id, user.branches, user.approver, False, session, via)

    @classmethod
    def from_scope(cls, scope: Any, session: str) -> Decider:
        return cls(
            scope.username or "-",
            scope.role,
            scope.client_id,
            scope.branches,
            bool(getattr(scope, "approver", False)),
            bool(scope.demo),
            session,
            "dashboard",
        )


def queue_stages(role: str, demo: bool = False) -> tuple[str, ...]:
    """The stages a user's "Awaiting your approval" queue holds: a client's customer stage, the
    ops team's ops stage; with sign-in off, both."""
    if demo:
        return STAGES
    return ("ops",) if role == "ops" else ("customer",) if role == "client" else ()


def may_decide(decider: Decider, stage: str, client_id: str | None) -> str | None:
    """None when ``decider`` may decide an approval of ``stage`` for ``client_id``, else why not."""
    from billing_reports.users import APPROVER_WITH_BRANCHES

    if decider.demo:
        return None
    if stage == "ops":
        return None if decider.role == "ops" else "the ops stage is decided by the provider's operations team"
    if stage != "customer":
        return f"unknown approval stage {stage!r}"
    if decider.role != "client":
        return "the customer stage is decided by the client's approvers, not by operations"
    if not decider.approver:
        return f"{decider.username} may not approve jobs (ask an administrator for `users add --approver`)"
    if client_id != decider.client_id:
        return "this approval is not one of your client's"
    if decider.branches:
        return APPROVER_WITH_BRANCHES
    return None


def session_digest(session: str, key_path: Path) -> str:
    """A keyed digest (HMAC-SHA256, 16 hex) of a session id: the same session gives the same digest,
    and the raw id cannot be read back from the log. The key is made once, private, beside the log."""
    if not key_path.exists():
        fileio.atomic_write_text(key_path, secrets.token_hex(32) + "\n")
    key = key_path.read_text(encoding="utf-8").strip().encode("ascii")
    return hmac.new(key, session.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# The landed data: what the published warehouse says about an approval and its documents
# --------------------------------------------------------------------------------------------

AWAITED_SQL = """
select
    approval.approval_id,
    approval.client_id,
    approval.job_id,
    approval.job_name,
    approval.approval_stage,
    approval.approval_requested_at,
    approval.approval_decision,
    approval.approval_decided_at,
    approval.approval_decided_by,
    clients.client_name,
    clients.timezone
from marts.rpt_job_approval as approval
left join marts.dim_clients as clients on approval.client_id = clients.client_id
where approval.approval_id = ?
"""

# An approval that is not the one its job awaits: why not (staging holds every landed approval).
NOT_AWAITED_SQL = """
select
    approvals.job_id,
    approvals.approval_stage,
    approvals.decided_at,
    approvals.decision,
    approvals.decided_by,
    jobs.client_id,
    jobs.current_status_label,
    awaiting.approval_id as awaited_approval_id
from staging.stg_billing__job_approvals as approvals
left join marts.rpt_job_tracking as jobs on approvals.job_id = jobs.job_id
left join marts.rpt_job_approval as awaiting
    on approvals.job_id = awaiting.job_id and approvals.approval_stage = awaiting.approval_stage
where approvals.approval_id = ?
"""

DOCUMENTS_SQL = """
select document_id, document_number, customer_account_id, amount_due, currency, delivery_method, is_pulled
from marts.fct_documents
where job_id = ?
order by document_number, document_id
"""


def _rows(connection: Any, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, list(params))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass
class Landed:
    """An approval as the published warehouse shows it."""

    approval_id: str
    client_id: str | None
    job_id: str | None
    stage: str | None
    awaited: dict[str, Any] | None  # its rpt_job_approval row when its job awaits it
    other: dict[str, Any] | None  # else what staging knows of it
    documents: list[dict[str, Any]] = field(default_factory=list)
    recipients: list[dict[str, Any]] = field(default_factory=list)


def read_landed(warehouse: Path, approval_id: str, at: datetime) -> Landed:
    """The approval, its job's documents and the client's primary support contacts valid ``at``."""
    import duckdb

    from billing_reports.notify.outbox import _naive_utc
    from billing_reports.notify.planning import CURRENT_CONTACTS_SQL

    if not Path(warehouse).is_file():
        raise Refused(f"the warehouse {warehouse} does not exist yet: run `billing-reports refresh` first")
    try:
        connection = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        raise Refused(f"the warehouse {warehouse} cannot be read now ({error}); try again in a minute") from error
    try:
        awaited = _rows(connection, AWAITED_SQL, [approval_id])
        other: list[dict[str, Any]] = []
        if not awaited:
            try:
                other = _rows(connection, NOT_AWAITED_SQL, [approval_id])
            except duckdb.Error:  # a warehouse without staging: nothing more to say
                other = []
        row = awaited[0] if awaited else (other[0] if other else None)
        landed = Landed(
            approval_id,
            row and row["client_id"],
            row and row["job_id"],
            row and (row.get("approval_stage")),
            awaited[0] if awaited else None,
            other[0] if other else None,
        )
        if landed.awaited is not None:
            landed.documents = _rows(connection, DOCUMENTS_SQL, [landed.job_id])
            try:
                contacts = _rows(
                    connection,
                    CURRENT_CONTACTS_SQL.format(roles="'primary_support'") + " and client_id = ? order by email",
                    [_naive_utc(at), _naive_utc(at), landed.client_id],
                )
            except duckdb.Error:
                contacts = []
            landed.recipients = [{"email": row["email"], "name": row["full_name"]} for row in contacts]
    finally:
        connection.close()
    return landed


# --------------------------------------------------------------------------------------------
# What a decision does: documents to send and to pull, with amounts
# --------------------------------------------------------------------------------------------


def _amounts(documents: Iterable[dict[str, Any]]) -> dict[str, str]:
    totals: dict[str, Decimal] = {}
    for document in documents:
        currency = document.get("currency") or "?"
        totals[currency] = totals.get(currency, Decimal("0")) + Decimal(str(document.get("amount_due") or 0))
    return {currency: f"{total:.2f}" for currency, total in sorted(totals.items())}


def summarize(documents: Sequence[dict[str, Any]], decision: str, pulls: Iterable[str]) -> dict[str, Any]:
    """What approving (with ``pulls``) or rejecting does to a job's documents: the confirmation step.

    ``documents`` are the job's fct_documents rows (document_id, document_number, amount_due,
    currency, is_pulled). Approved: the documents neither pulled before nor chosen now are sent;
    the chosen ones are pulled (Pull Class T, R1). Rejected: nothing is sent or pulled.
    """
    chosen = set(pulls)
    pulled_before = [doc for doc in documents if doc.get("is_pulled")]
    to_pull = [doc for doc in documents if doc["document_id"] in chosen and not doc.get("is_pulled")]
    to_send = [] if decision == "rejected" else [
        doc for doc in documents if doc["document_id"] not in chosen and not doc.get("is_pulled")
    ]  # fmt: skip
    return {
        "send_count": len(to_send),
        "send_amounts": _amounts(to_send),
        "pull_count": len(to_pull),
        "pull_amounts": _amounts(to_pull),
        "pulls": [
            {
                "document_id": doc["document_id"],
                "document_number": doc.get("document_number"),
                "amount_due": f"{Decimal(str(doc.get('amount_due') or 0)):.2f}",
                "currency": doc.get("currency"),
            }
            for doc in to_pull
        ],
        "pulled_before_count": len(pulled_before),
    }


def describe_amounts(amounts: dict[str, str]) -> str:
    """``{"USD": "30.00"}`` as ``30.00 USD``; several currencies joined with " + "."""
    return " + ".join(f"{Decimal(value):,.2f} {currency}" for currency, value in amounts.items()) or "0.00"


# --------------------------------------------------------------------------------------------
# The decision log
# --------------------------------------------------------------------------------------------


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every complete record of the log, oldest first. A torn last line (a crash mid-append) is
    not a record: nothing was done after it, since every later step waits for the append."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _append(path: Path, record: dict[str, Any]) -> None:
    """Append one record; first end a torn last line, so that the new record stays on its own line."""
    path = Path(path)
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            torn = handle.read(1) != b"\n"
        if torn:
            fileio.append_line_durably(path, "\n")
    fileio.append_line_durably(path, json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")


def decisions(path: Path) -> dict[str, dict[str, Any]]:
    """approval_id -> its logged decision, with ``written`` True once its files are all written."""
    found: dict[str, dict[str, Any]] = {}
    for record in read_log(path):
        if record.get("event") == "decided" and record.get("approval_id") not in found:
            found[record["approval_id"]] = {**record, "written": False}
        elif record.get("event") == "written" and record.get("approval_id") in found:
            found[record["approval_id"]]["written"] = True
    return found


def submitted(approval_ids: Iterable[str], places: Places | None = None) -> dict[str, dict[str, Any]]:
    """The logged decisions of some approvals (for the page: "submitted at …, waiting for the billing system")."""
    wanted = {str(value) for value in approval_ids if value is not None}
    if not wanted:
        return {}
    found = decisions((places or Places.from_env()).log)
    return {approval_id: record for approval_id, record in found.items() if approval_id in wanted}


# --------------------------------------------------------------------------------------------
# The outbound files, derived from a logged decision alone
# --------------------------------------------------------------------------------------------


def outbound_files(record: dict[str, Any]) -> dict[str, tuple[str, bytes]]:
    """table -> (relative path, CSV bytes) of a decision: same record, same names, same bytes."""
    from billing_reports.notify.outbox import _token
    from billing_reports.validate import load_table_specs

    specs = load_table_specs()
    stamp = datetime.fromisoformat(record["decided_at"].replace("Z", "+00:00")).strftime("%Y-%m-%dT%H%M%SZ")
    name = f"{stamp}-{_token(record['approval_id'])}.csv"
    rows = {
        "document_pulls": [
            {
                "pull_id": f"{record['approval_id']}-{pull['document_id']}",
                "job_id": record["job_id"],
                "document_id": pull["document_id"],
                "pulled_at": record["decided_at"],
                "pulled_by": record["decided_by"],
            }
            for pull in record["pulls"]
        ],
        "job_approvals": [
            {
                "approval_id": record["approval_id"],
                "job_id": record["job_id"],
                "approval_stage": record["stage"],
                "requested_at": record.get("requested_at") or "",
                "decided_at": record["decided_at"],
                "decision": record["decision"],
                "decided_by": record["decided_by"],
            }
        ],
    }
    files = {}
    for table in OUTBOUND_TABLES:
        if not rows[table]:
            continue
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=specs[table].column_names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[table])
        files[table] = (f"{table}/{name}", buffer.getvalue().encode("utf-8"))
    return files


def _write_once(path: Path, data: bytes) -> None:
    """Write ``data`` atomically unless ``path`` already holds exactly it (a landed file keeps its
    time, so an incremental refresh does not see it as changed)."""
    try:
        if path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    fileio.atomic_write_bytes(path, data)


def _step(name: str) -> None:
    """A point between two steps of a decision (tests raise here to simulate a crash)."""


def _complete(record: dict[str, Any], places: Places) -> None:
    """Steps 3 to 6 of a logged decision; each is idempotent."""
    files = outbound_files(record)
    for table in OUTBOUND_TABLES:  # pulls first, then the approval
        if table in files:
            relative, data = files[table]
            _write_once(places.outbound / relative, data)
        _step(f"{table}_written")
    _queue_confirmation(record, places.outbox)
    _step("mail_queued")
    _append(places.log, {"event": "written", "approval_id": record["approval_id"], "at": _now_iso()})
    _step("done")


def finish_unwritten(places: Places) -> list[str]:
    """Finish every logged decision whose files are not all written (after a crash). Call under the lock."""
    finished = []
    for approval_id, record in decisions(places.log).items():
        if not record["written"]:
            _complete(record, places)
            finished.append(approval_id)
    return finished


def recover(places: Places | None = None) -> list[str]:
    """Finish the logged decisions a crash left unwritten, without waiting for the next decision
    (the Job approval page calls it on every run; a cheap read of the log when there is none)."""
    places = places or Places.from_env()
    if all(record["written"] for record in decisions(places.log).values()):
        return []
    try:
        with fileio.exclusive_lock(fileio.lock_path(places.log), wait_seconds=LOCK_WAIT_SECONDS):
            return finish_unwritten(places)
    except fileio.LockBusy:
        return []  # a decision is being made right now: it finishes them first


# --------------------------------------------------------------------------------------------
# The confirmation e-mail, through notify's outbox
# --------------------------------------------------------------------------------------------


def confirmation_messages(records: Iterable[dict[str, Any]]) -> list[Any]:
    """notify's PlannedMessage of each decision's confirmation, one per recipient (key: approval x recipient)."""
    from billing_reports.notify.outbox import _one_line, message_id, normalize_email
    from billing_reports.notify.planning import PlannedMessage

    planned = []
    for record in records:
        verb = "Approved" if record["decision"] == "approved" else "Rejected"
        subject = _one_line(f"{verb}: {record.get('job_name') or record['job_id']} ({record['job_id']})")
        seen = set()
        for recipient in record.get("recipients") or []:
            address = normalize_email(recipient.get("email"))
            if not address or address in seen:
                continue
            seen.add(address)
            planned.append(
                PlannedMessage(
                    message_id=message_id(
                        CONFIRMATION_KIND, record["client_id"], record["approval_id"], recipient=address
                    ),
                    kind=CONFIRMATION_KIND,
                    recipient=address,
                    recipient_name=recipient.get("name"),
                    subject=subject,
                    key=(record["client_id"], record["approval_id"]),
                    context=record,
                )
            )
    return planned


def written_decisions(log: Path) -> list[dict[str, Any]]:
    """Decisions whose files are all written: what notify confirms by e-mail."""
    return [record for record in decisions(log).values() if record["written"]]


def _queue_confirmation(record: dict[str, Any], outbox_path: Path) -> None:
    from billing_reports.notify.outbox import Outbox, _utc

    messages = confirmation_messages([record])
    if not messages:
        return
    box = Outbox(outbox_path)
    try:
        for message in messages:
            box.insert_pending(message, _utc(record["decided_at"]))
    finally:
        box.close()


# --------------------------------------------------------------------------------------------
# Deciding
# --------------------------------------------------------------------------------------------


def _now_iso(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean_reason(reason: str | None) -> str | None:
    text = re.sub(r"\s+", " ", reason or "").strip()
    if len(text) > MAX_REASON:
        raise Refused(f"the reason is {len(text)} characters long; at most {MAX_REASON}")
    return text or None


def _iso_or_none(value: Any) -> str | None:
    from billing_reports.notify.outbox import _iso

    return None if value is None else _iso(value)


def _refuse(decider: Decider, approval_id: str, reason: str) -> Refused:
    LOGGER.warning(
        "decision refused: approval %r, user %r (%s), via %s: %s",
        approval_id,
        decider.username,
        decider.role,
        decider.via,
        reason,
    )
    return Refused(reason)


def _check_landed(landed: Landed, decider: Decider) -> None:
    """Rights first (the same answer whether or not another client's approval exists), then state."""
    unknown = f"no approval {landed.approval_id} awaits a decision"
    if landed.awaited is None and landed.other is None:
        raise _refuse(decider, landed.approval_id, unknown)
    why_not = may_decide(decider, landed.stage or "", landed.client_id)
    if why_not:
        if decider.role == "client" and landed.client_id != decider.client_id:
            why_not = unknown
        raise _refuse(decider, landed.approval_id, why_not)


def _check_state(landed: Landed, decider: Decider) -> None:
    """The landed data must show the approval pending and awaited by its job."""
    awaited, other = landed.awaited, landed.other
    if awaited is not None:
        if awaited["approval_decided_at"] is not None:
            raise _refuse(
                decider,
                landed.approval_id,
                f"approval {landed.approval_id} is already decided in the billing system: "
                f"{awaited['approval_decision']} by {awaited['approval_decided_by']} at "
                f"{_iso_or_none(awaited['approval_decided_at'])}",
            )
        return
    assert other is not None
    if other["decided_at"] is not None:
        reason = (
            f"approval {landed.approval_id} is already decided in the billing system: {other['decision']} by "
            f"{other['decided_by']} at {_iso_or_none(other['decided_at'])}"
        )
    elif other["awaited_approval_id"]:
        reason = f"job {landed.job_id} awaits approval {other['awaited_approval_id']}, not {landed.approval_id}"
    else:
        reason = (
            f"job {landed.job_id} is no longer awaiting {landed.stage} approval "
            f"(now: {other['current_status_label'] or 'no status'})"
        )
    raise _refuse(decider, landed.approval_id, reason)


def _check_pulls(landed: Landed, decision: str, pulls: Sequence[str], decider: Decider) -> None:
    if pulls and decision != "approved":
        raise _refuse(
            decider, landed.approval_id, "documents are pulled with an approval; a rejected job sends nothing"
        )
    by_id = {doc["document_id"]: doc for doc in landed.documents}
    for document_id in pulls:
        document = by_id.get(document_id)
        if document is None:
            raise _refuse(decider, landed.approval_id, f"document {document_id} is not in job {landed.job_id}")
        if document["is_pulled"]:
            raise _refuse(decider, landed.approval_id, f"document {document_id} is already pulled")


@dataclass
class Result:
    """A decision made (``repeated``: the same user's same decision, made before and returned again)."""

    record: dict[str, Any]
    repeated: bool = False

    def summary(self) -> str:
        record = self.record
        pulls = len(record["pulls"])
        return (
            f"{record['decision']} {record['approval_id']} (job {record['job_id']}) as {record['decided_by']} "
            f"at {record['decided_at']}: {record['send_count']} document(s) to send, {pulls} pulled"
            + (" (already recorded)" if self.repeated else "")
        )


def _same(record: dict[str, Any], decider: Decider, decision: str, pulls: Sequence[str]) -> bool:
    return (
        record["decided_by"] == decider.username
        and record["decision"] == decision
        and sorted(pull["document_id"] for pull in record["pulls"]) == sorted(pulls)
    )


def decide(
    approval_id: str,
    decision: str,
    decider: Decider,
    *,
    pulls: Iterable[str] = (),
    reason: str | None = None,
    places: Places | None = None,
    now: datetime | None = None,
) -> Result:
    """Decide an approval once. Raises ``Refused`` (exit 2) or ``AlreadyDecided`` (exit 3)."""
    places = places or Places.from_env()
    approval_id = str(approval_id).strip()
    pulls = list(dict.fromkeys(str(value).strip() for value in pulls if str(value).strip()))
    if decision not in DECISIONS:
        raise _refuse(decider, approval_id, f"a decision is one of {', '.join(DECISIONS)}, not {decision!r}")
    reason = _clean_reason(reason)
    if decision == "rejected" and not reason:
        raise _refuse(decider, approval_id, "a rejection needs a reason")
    holder = f"{decider.via} {decider.username} pid {os.getpid()} on {socket.gethostname()}"
    try:
        with fileio.exclusive_lock(fileio.lock_path(places.log), wait_seconds=LOCK_WAIT_SECONDS, holder=holder):
            finish_unwritten(places)
            decided_at = _now_iso(now)
            landed = read_landed(places.warehouse, approval_id, datetime.fromisoformat(decided_at[:-1] + "+00:00"))
            _check_landed(landed, decider)
            logged = decisions(places.log).get(approval_id)
            if logged is not None:
                if _same(logged, decider, decision, pulls):
                    return Result(logged, repeated=True)
                raise AlreadyDecided(logged)
            _check_state(landed, decider)
            _check_pulls(landed, decision, pulls, decider)
            awaited = landed.awaited
            assert awaited is not None
            effect = summarize(landed.documents, decision, pulls)
            record = {
                "event": "decided",
                "approval_id": approval_id,
                "job_id": landed.job_id,
                "job_name": awaited["job_name"],
                "client_id": landed.client_id,
                "client_name": awaited["client_name"],
                "timezone": awaited["timezone"],
                "stage": landed.stage,
                "requested_at": _iso_or_none(awaited["approval_requested_at"]),
                "decision": decision,
                "reason": reason,
                "decided_at": decided_at,
                "decided_by": decider.username,
                "role": "demo" if decider.demo else decider.role,
                "via": decider.via,
                "session": session_digest(decider.session, places.log.with_name(places.log.name + ".key")),
                "pulls": effect["pulls"],
                "send_count": effect["send_count"],
                "send_amounts": effect["send_amounts"],
                "pull_amounts": effect["pull_amounts"],
                "recipients": landed.recipients,
            }
            _append(places.log, record)
            _step("logged")
            _complete(record, places)
    except fileio.LockBusy as error:
        raise Refused(f"another decision is being written ({error.holder or 'busy'}); try again") from error
    LOGGER.info(
        "decision: %s %r (job %r) by %r via %s, session %s, %d pull(s)",
        decision,
        approval_id,
        record["job_id"],
        decider.username,
        decider.via,
        record["session"],
        len(record["pulls"]),
    )
    return Result({**record, "written": True})


# --------------------------------------------------------------------------------------------
# billing-reports approve / reject
# --------------------------------------------------------------------------------------------


def _document_ids(text: str) -> list[str]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise argparse.ArgumentTypeError("--pull needs at least one document id, e.g. --pull D801,D802")
    return ids


def _cli_decider(username: str) -> Decider:
    from billing_reports import users

    try:
        known = users.load_users()
    except users.UsersFileError as error:
        raise Refused(str(error)) from error
    user = known.get(users.normalize_username(username))
    if user is None:
        raise Refused(f"no user {username!r} in {users.users_file()}")
    return Decider.from_user(user, session=f"cli pid {os.getpid()} on {socket.gethostname()}")


def cmd_decide(args: argparse.Namespace) -> int:
    if not LOGGER.handlers:  # the one line printed below says it; no second line from logging
        LOGGER.addHandler(logging.NullHandler())
    decision = "approved" if args.command == "approve" else "rejected"
    try:
        result = decide(
            args.approval_id,
            decision,
            _cli_decider(args.as_user),
            pulls=getattr(args, "pull", None) or (),
            reason=args.reason,
        )
    except Refused as error:
        print(f"billing-reports {args.command}: refused: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_REFUSED
    except AlreadyDecided as error:
        print(f"billing-reports {args.command}: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_ALREADY_DECIDED
    print(result.summary())
    return EXIT_DECIDED


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def register(subparsers: argparse._SubParsersAction) -> None:
    epilog = (
        "Exit codes: 0 decided (or the same decision by the same user was already recorded); 2 refused, with "
        "the reason on one line (rights, the approval is not pending, a document not in the job); 3 already "
        "decided by someone else. Settings: BILLING_WAREHOUSE (what is pending), BILLING_OUTBOUND_DIR (where "
        "the decision is written, default warehouse/outbound), BILLING_DECISION_LOG (default decisions.jsonl "
        "beside the warehouse), BILLING_USERS_FILE. See docs/dashboard.md."
    )
    approve = subparsers.add_parser(
        "approve",
        help="approve a job awaiting approval, optionally pulling some of its documents",
        description="Approve APPROVAL_ID as USER, with the same rules as the dashboard's Job approval page: "
        "ops users decide the ops stage, a client's approvers (users add --approver) the customer stage of "
        "their own client. Writes job_approvals/ and document_pulls/ rows for the billing system under "
        "BILLING_OUTBOUND_DIR, logs the decision and queues a confirmation e-mail, exactly once.",
        epilog=epilog,
    )
    approve.add_argument("approval_id", metavar="APPROVAL_ID", help="the approval (rpt_job_approval.approval_id)")
    approve.add_argument("--as", dest="as_user", required=True, metavar="USER", help="the user who decides")
    approve.add_argument(
        "--pull",
        type=_document_ids,
        metavar="DOCUMENT_ID,...",
        help="documents of the job to pull (they become Pull Class T, R1)",
    )
    approve.add_argument("--reason", metavar="TEXT", help="why (optional for an approval)")
    approve.set_defaults(func=cmd_decide)

    reject = subparsers.add_parser(
        "reject",
        help="reject a job awaiting approval (a reason is required)",
        description="Reject APPROVAL_ID as USER, with the same rules as the dashboard's Job approval page.",
        epilog=epilog,
    )
    reject.add_argument("approval_id", metavar="APPROVAL_ID", help="the approval (rpt_job_approval.approval_id)")
    reject.add_argument("--as", dest="as_user", required=True, metavar="USER", help="the user who decides")
    reject.add_argument("--reason", required=True, metavar="TEXT", help="why the job is rejected")
    reject.set_defaults(func=cmd_decide)
