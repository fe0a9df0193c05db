"""One notify run: plan, record in the outbox, send (or write .eml files), and sum up."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from billing_reports import fileio, settings
from billing_reports.cli import EXIT_FAILED, EXIT_OK, UserError, progress
from billing_reports.notify.messages import WIRE_POLICY, MessageBuilder
from billing_reports.notify.outbox import (
    KINDS,
    RECOVERED_NOTE,
    Outbox,
    _utc,
    default_eml_dir,
    default_outbox_path,
    outbox_lock,
)
from billing_reports.notify.planning import PlannedMessage, plan_messages, read_warehouse
from billing_reports.notify.smtp import UNCERTAIN_NOTE, DeliveryFailed, DeliveryUncertain, SmtpSender, _describe
from billing_reports.settings import SmtpSettings

DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_BASE = timedelta(minutes=5)
MAX_NOTES = 20  # notes shown in the summary (no recipient, recovered rows, ...)


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
