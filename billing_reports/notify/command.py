"""``billing-reports notify``: the command line."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import Any

from billing_reports import settings
from billing_reports.cli import EXIT_LOCKED, UserError, non_negative_number
from billing_reports.notify.outbox import NotifyLocked
from billing_reports.notify.run import DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_BASE, run_notify

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
