"""``billing-reports refresh`` and ``rollback``: the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from billing_reports import settings
from billing_reports.cli import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    UserError,
    add_dbt_vars_option,
    non_negative_number,
)
from billing_reports.refresh.plan import DEFAULT_KEEP_REPORTS, RefreshOptions
from billing_reports.refresh.publish import Locked, rollback
from billing_reports.refresh.run import run_refresh
from billing_reports.validate import DEFAULT_SAMPLE_ROWS


def register(subparsers: argparse._SubParsersAction) -> None:
    refresh = subparsers.add_parser(
        "refresh",
        help="check the landing files, build a new warehouse file, validate its rows and publish it atomically",
        description="The scheduled path. Under a lock (a second refresh exits with code 3): check every "
        "landing file's header and move the files rejected whole to quarantine; build into a new DuckDB "
        "file (incrementally when the published one can be extended); validate the landed rows with "
        "Great Expectations; record the quarantined files in ops.rejected_rows and the run in "
        "ops.refresh_runs; publish by atomic rename only if the build and its error tests passed, keeping "
        "the replaced file as <warehouse>.previous. Readers never see a half-built file. "
        "BILLING_ENGINE=spark builds on Apache Spark (in full) and publishes a DuckDB file all the same. "
        "Exit codes: 0 published, 1 failed (nothing published), 2 usage error, 3 locked, 130 interrupted.",
    )
    refresh.add_argument("--raw-dir", help="landing folder (default: BILLING_RAW_DIR or data/raw)")
    refresh.add_argument(
        "--warehouse", help="published DuckDB file (default: BILLING_WAREHOUSE or warehouse/billing.duckdb)"
    )
    add_dbt_vars_option(refresh)
    refresh.add_argument("--notify", action="store_true", help="after publishing, run billing-reports notify")
    refresh.add_argument("--log-file", help="log file of this run (default: <warehouse dir>/logs/refresh-<run-id>.log)")
    refresh.add_argument(
        "--quarantine-dir",
        help="where files rejected whole are moved, under <run-id>/<table>/ (default: <raw-dir>/../quarantine)",
    )
    refresh.add_argument(
        "--report-dir",
        help="where each run's validation report goes, under <run-id>/ (default: <warehouse dir>/validation)",
    )
    refresh.add_argument(
        "--keep-reports",
        type=int,
        default=DEFAULT_KEEP_REPORTS,
        metavar="N",
        help=f"keep the validation reports of the last N runs, delete older ones (default {DEFAULT_KEEP_REPORTS})",
    )
    refresh.add_argument(
        "--sample-rows",
        type=int,
        default=None,
        metavar="N",
        help="validate about N new rows per table with Great Expectations (a repeatable sample above it; "
        "dbt still checks every row); 0 = every row (default 200000)",
    )
    refresh.add_argument(
        "--full",
        action="store_true",
        help="rebuild from nothing, even when the published warehouse could be extended with the new files "
        "only (by default the refresh builds incrementally when it can, and in full when it must)",
    )
    refresh.add_argument(
        "--no-export",
        action="store_true",
        help="do not export the published marts to Parquet (default: export to BILLING_EXPORT_DIR)",
    )
    refresh.add_argument(
        "--watch",
        action="store_true",
        help="stay resident: poll the landing folder and refresh whenever new or changed files have settled "
        "(a failed refresh is retried only when the folder changes again); stop with Ctrl-C or SIGTERM. "
        "See docs/refresh.md for systemd and cron",
    )
    refresh.add_argument(
        "--interval",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="with --watch: seconds between looks at the landing folder (default 30)",
    )
    refresh.add_argument(
        "--settle",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="with --watch: how long the folder must stay unchanged before a refresh starts, so that a file "
        "still being copied is not taken (default 5)",
    )
    refresh.set_defaults(func=cmd_refresh)

    rollback = subparsers.add_parser(
        "rollback",
        help="put the previously published warehouse file back",
        description="Atomically replace the published warehouse by <warehouse>.previous (kept by the last "
        "refresh). The replaced file is kept as <warehouse>.rolled-back. Takes the refresh lock.",
    )
    rollback.add_argument(
        "--warehouse", help="published DuckDB file (default: BILLING_WAREHOUSE or warehouse/billing.duckdb)"
    )
    rollback.set_defaults(func=cmd_rollback)


_seconds = non_negative_number("seconds")


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected more than 0 seconds, got {text}")
    return value


def cmd_refresh(args: argparse.Namespace) -> int:
    raw_dir = Path(args.raw_dir).resolve() if args.raw_dir else settings.raw_dir()
    warehouse = Path(args.warehouse).resolve() if args.warehouse else settings.warehouse_path()
    if not raw_dir.is_dir():
        raise UserError(
            f"landing folder {raw_dir} does not exist; a refresh will not publish an empty warehouse "
            "(use `billing-reports build` for that)"
        )
    if args.sample_rows is not None and args.sample_rows < 0:
        raise UserError("--sample-rows must be 0 (every row) or more")
    if args.keep_reports < 1:
        raise UserError("--keep-reports must be 1 or more")
    try:
        settings.engine()
    except settings.SettingsError as error:
        raise UserError(str(error)) from None
    options = RefreshOptions(
        raw_dir=raw_dir,
        warehouse=warehouse,
        dbt_vars=args.vars,
        notify=args.notify,
        export=not args.no_export,
        log_file=Path(args.log_file).resolve() if args.log_file else None,
        quarantine_root=Path(args.quarantine_dir).resolve() if args.quarantine_dir else None,
        report_root=Path(args.report_dir).resolve() if args.report_dir else None,
        sample_rows=DEFAULT_SAMPLE_ROWS if args.sample_rows is None else args.sample_rows,
        keep_reports=args.keep_reports,
        full=args.full,
    )
    if args.watch:
        from billing_reports import watch

        return watch.watch(
            options,
            interval_seconds=watch.DEFAULT_INTERVAL_SECONDS if args.interval is None else args.interval,
            settle_seconds=watch.DEFAULT_SETTLE_SECONDS if args.settle is None else args.settle,
        )
    if args.interval is not None or args.settle is not None:
        raise UserError("--interval and --settle only apply with --watch")
    try:
        outcome = run_refresh(options)
    except Locked as error:
        print(f"billing-reports refresh: {error}", file=sys.stderr)
        return EXIT_LOCKED
    print(outcome.summary())
    return EXIT_OK if outcome.ok else EXIT_FAILED


def cmd_rollback(args: argparse.Namespace) -> int:
    warehouse = Path(args.warehouse).resolve() if args.warehouse else settings.warehouse_path()
    try:
        message = rollback(warehouse)
    except Locked as error:
        print(f"billing-reports rollback: {error}", file=sys.stderr)
        return EXIT_LOCKED
    print(message)
    return EXIT_OK
