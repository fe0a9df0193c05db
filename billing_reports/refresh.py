"""``billing-reports refresh`` and ``rollback``: the scheduled path that never breaks what readers see.

A refresh, under a lock:

1. takes ``<warehouse>.lock`` (``fcntl.flock``, non-blocking: a second refresh exits with code 3;
   the kernel releases the lock when a process dies, so a killed run never blocks the next);
2. checks every landing file's header (``billing_reports.validate``), moving files rejected whole
   to the quarantine folder;
3. builds into a new file, ``<warehouse>.building-next``, with ``dbt build``: in full, or
   incrementally when it can (see "Incremental builds" below); dbt's landing step reads each
   landing file once;
4. validates the rows the build landed with Great Expectations, read from its ``raw`` tables
   (a report: row problems are rejected by the build itself);
5. records in that file every file still in quarantine (``ops.rejected_rows``, reject_level
   ``file``; ``ops.quarantined_files``) and the run in ``ops.refresh_runs``, carrying the
   history of the published file (opened read-only) and of the run log;
6. publishes only when the build and its error-severity tests passed: the published file is
   kept as ``<warehouse>.previous`` (a hard link), then ``os.replace(new, warehouse)``. A
   reader that has the old file open keeps reading it; the next open sees the new one. On
   failure the published file is untouched and the half-built file deleted.

Every run, published or not, is appended to ``<warehouse dir>/refresh_runs.jsonl``; each run
logs its progress and dbt's output to ``<warehouse dir>/logs/refresh-<run-id>.log`` and keeps its
validation report in ``<warehouse dir>/validation/<run-id>/``. See docs/refresh.md.

Incremental builds. When the published warehouse was built by the same project (models, macros,
seeds, settings: ``raw._build_state``) from the same landing folder, and every file it landed is
still there, unchanged (name, size, modification time: ``raw._landing_signatures``) and still
first in its table's file order, the refresh copies the published file forward as the new file
and builds with the var ``billing_incremental``: only the new files are validated and landed, and
the ``base_`` models re-judge only the key groups the new rows touch (plus rows waiting for a
parent); everything downstream is rebuilt from them. Otherwise, or with ``--full``, it builds
from nothing. Both give the same warehouse; tests/refresh/test_refresh_incremental.py proves it.

On Spark (``BILLING_ENGINE=spark``, docs/scale-out.md) step 3 builds in full on Spark, which writes
Parquet, and copies its tables into the new file (``billing_reports.spark_warehouse``); every other
step, and what readers see, is the same.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import logging
import os
import secrets
import shutil
import signal
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from billing_reports import fileio, settings, validate
from billing_reports.cli import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    UserError,
    add_dbt_vars_option,
    non_negative_number,
)
from billing_reports.sql import sql_string
from billing_reports.validate import DEFAULT_SAMPLE_ROWS

RUN_LOG = "refresh_runs.jsonl"
DEFAULT_KEEP_REPORTS = 50

#: ``ops.refresh_runs``: one row per refresh (and rollback), carried from file to file.
REFRESH_RUNS_COLUMNS = {
    "run_id": "varchar",
    "started_at": "timestamp",
    "finished_at": "timestamp",
    "outcome": "varchar",
    "files_seen": "integer",
    "files_quarantined": "integer",
    "rows_landed": "bigint",
    "rows_accepted": "bigint",
    "rows_rejected": "bigint",
    "duplicates_collapsed": "bigint",
    "dbt_failures": "varchar",
    "warehouse_path": "varchar",
    "raw_dir": "varchar",
    "log_file": "varchar",
    "validation_report": "varchar",
    "build_mode": "varchar",
    "build_note": "varchar",
}


class Locked(Exception):
    """Another refresh (or rollback) holds the warehouse lock."""


class RefreshFailed(Exception):
    """The refresh ran and failed; the published warehouse was left as it was."""


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


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
    refresh.add_argument(
        "--notify", action="store_true", help="after publishing, run billing_reports.notify (when installed)"
    )
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


# --------------------------------------------------------------------------------------------
# The refresh
# --------------------------------------------------------------------------------------------


@dataclass
class RefreshOptions:
    raw_dir: Path
    warehouse: Path
    dbt_vars: dict = field(default_factory=dict)
    notify: bool = False
    export: bool = True
    log_file: Path | None = None
    quarantine_root: Path | None = None
    report_root: Path | None = None
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    keep_reports: int = DEFAULT_KEEP_REPORTS
    run_id: str | None = None
    full: bool = False


@dataclass
class BuildPlan:
    """How this refresh builds: ``full`` from nothing, or ``incremental`` on a copy of the published file."""

    mode: str
    reason: str
    #: (table, file name) of the landing files the published build already landed, unchanged.
    landed_before: set = field(default_factory=set)
    #: Landing files the published build has not landed yet (incremental plans only).
    new_files: int = 0


@dataclass
class RefreshOutcome:
    run_id: str
    outcome: str  # published | failed | interrupted
    warehouse: Path
    log_file: Path
    record: dict
    tables: list[dict] = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)
    still_quarantined: int = 0
    failures: list[str] = field(default_factory=list)
    validation_report: str | None = None
    data_docs: str | None = None
    previous: Path | None = None
    notify_message: str | None = None
    notify_failed: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome == "published" and not self.notify_failed

    def summary(self) -> str:
        record = self.record
        if self.outcome == "published":
            kept = f" (the file it replaced is kept as {self.previous})" if self.previous else ""
            lines = [f"refresh {self.run_id}: published {self.warehouse}{kept}"]
        else:
            lines = [
                f"refresh {self.run_id}: {self.outcome.upper()}; the published warehouse {self.warehouse} is untouched"
            ]
        lines.append(
            f"files: {record.get('files_seen', 0)} seen, {record.get('files_quarantined', 0)} rejected whole "
            "and moved to quarantine"
        )
        for entry in self.quarantined:
            lines.append(f"  quarantined {entry['reason']}")
            lines.append(f"    -> {entry['quarantined_to']}")
        earlier = self.still_quarantined - len(self.quarantined)
        if earlier > 0:
            lines.append(f"  {earlier} file(s) from earlier runs still in quarantine (listed in ops.rejected_rows)")
        if self.tables:
            lines.append(f"  {'table':<26}{'landed':>10}{'accepted':>10}{'rejected':>10}{'duplicates':>12}")
            for row in self.tables:
                lines.append(
                    f"  {row['source_table']:<26}{row['rows_landed']:>10}{row['rows_accepted']:>10}"
                    f"{row['rows_rejected']:>10}{row['duplicates_collapsed']:>12}"
                )
            lines.append(
                f"  {'total':<26}{record['rows_landed']:>10}{record['rows_accepted']:>10}"
                f"{record['rows_rejected']:>10}{record['duplicates_collapsed']:>12}"
            )
        for failure in self.failures[:20]:
            lines.append(f"  FAILED {failure}")
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more failure(s): see the log")
        if self.validation_report:
            docs = f"; data docs {self.data_docs}" if self.data_docs else ""
            lines.append(f"validation report: {self.validation_report}{docs}")
        if self.notify_message:
            lines.append(self.notify_message)
        lines.append(f"log: {self.log_file}")
        return "\n".join(lines)


def new_run_id() -> str:
    """A sortable, unique run id: UTC time and a random suffix."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def run_refresh(options: RefreshOptions) -> RefreshOutcome:
    """Validate, build into a new file and publish it; see the module docstring. Raises ``Locked``."""
    run_id = options.run_id or new_run_id()
    warehouse = options.warehouse
    fileio.private_dir(warehouse.parent)
    started_at = _now()
    with warehouse_lock(warehouse, f"refresh {run_id}"):
        log_file = options.log_file or warehouse.parent / "logs" / f"refresh-{run_id}.log"
        log = _run_logger(run_id, log_file)
        try:
            outcome = RefreshOutcome(run_id=run_id, outcome="failed", warehouse=warehouse, log_file=log_file, record={})
            outcome.record.update(
                dict.fromkeys(REFRESH_RUNS_COLUMNS),
                run_id=run_id,
                started_at=started_at.isoformat(),
                files_seen=0,
                files_quarantined=0,
                warehouse_path=str(warehouse),
                raw_dir=str(options.raw_dir),
                log_file=str(log_file),
            )
            _refresh_steps(options, outcome, log)
            if outcome.outcome == "published" and options.notify:
                _notify(options, outcome, log)
        finally:
            for handler in list(log.handlers):
                handler.close()
                log.removeHandler(handler)
    return outcome


def _refresh_steps(options: RefreshOptions, outcome: RefreshOutcome, log: logging.Logger) -> None:
    """Validate, build, record, publish; whatever happens, record the run in the run log."""
    warehouse, record = options.warehouse, outcome.record
    # One name for every run's new file (the lock allows one run at a time, and a killed run's file
    # is removed first): dbt's profile then renders the same path each run, so dbt can reuse the
    # previous run's parse (partial parsing) instead of parsing the whole project again.
    building = warehouse.with_name(f"{warehouse.name}.building-next")
    previous_sigterm = _raise_on_sigterm()
    try:
        log.info(f"refresh {outcome.run_id}: landing folder {options.raw_dir} -> {warehouse}")
        _remove_leftovers(warehouse, log)
        plan = plan_build(options)
        record.update(build_mode=plan.mode, build_note=plan.reason)
        log.info(f"{plan.mode} build: {plan.reason}")
        report = _validate(options, outcome.run_id, outcome, log, skip=plan.landed_before)
        validate.preload_great_expectations()  # its import overlaps the dbt build (child process)
        try:
            _build(options, building, outcome, log, plan)
        except RefreshFailed as error:
            if plan.mode != "incremental" or _only_data_tests_failed(outcome.failures):
                raise
            # Not the data: the incremental path itself failed (a model or hook error). Do not
            # leave the schedule stuck on it; a full build does not depend on the published file.
            log.warning(f"the incremental build failed ({error}); rebuilding in full")
            _remove_database(building)
            first = (outcome.failures or [str(error)])[0].splitlines()[0]
            plan = BuildPlan("full", f"the incremental build failed ({first}); rebuilt in full")
            record.update(build_mode=plan.mode, build_note=plan.reason, dbt_failures=None)
            outcome.failures = []
            _build(options, building, outcome, log, plan)
        _validate_rows(report, building, outcome, log)
        _check_volume(report, building, outcome, log)
        _finish_build(options, building, outcome, log)
        outcome.previous = publish(building, warehouse)
        outcome.outcome = "published"
        log.info(f"published {warehouse}")
        if options.export:
            _export(warehouse, log)
    except RefreshFailed as error:
        outcome.outcome = "failed"
        outcome.failures = outcome.failures or [str(error)]
        log.error(f"refresh failed: {error}; the published warehouse is untouched")
    except KeyboardInterrupt:
        outcome.outcome = "interrupted"
        log.error("refresh interrupted; the published warehouse is untouched")
        raise
    except Exception as error:  # record every failure before reporting it
        outcome.outcome = "failed"
        outcome.failures = [f"{type(error).__name__}: {error}"]
        log.error(f"refresh failed: {type(error).__name__}: {error}\n{traceback.format_exc()}")
    finally:
        _restore_sigterm(previous_sigterm)
        _remove_database(building)
        record["outcome"] = outcome.outcome
        record["finished_at"] = record.get("finished_at") or _now().isoformat()
        if outcome.outcome != "published":
            record["dbt_failures"] = record.get("dbt_failures") or "\n".join(outcome.failures) or None
        append_run_log(warehouse, record)
        log.info(f"run recorded in {run_log_path(warehouse)}")


def _export(warehouse: Path, log: logging.Logger) -> None:
    """Export the published marts to Parquet (billing_reports.export); a failure leaves the publish standing."""
    from billing_reports import export

    try:
        # BILLING_EXPORT_DIR when set; else `export/` beside the published warehouse file.
        target = export.export_dir() if os.environ.get("BILLING_EXPORT_DIR") else warehouse.parent / "export"
        export.export_marts(warehouse, target, progress=log.info)
    except Exception as error:  # the warehouse is published; the export is retried by the next run
        log.error(f"Parquet export failed (the warehouse is published): {type(error).__name__}: {error}")
        return
    log.info(f"Parquet export written to {target}")


def _quarantine_root(options: RefreshOptions) -> Path:
    return options.quarantine_root or validate.default_quarantine_root(options.raw_dir)


def _validate(
    options: RefreshOptions, run_id: str, outcome: RefreshOutcome, log: logging.Logger, *, skip: set = frozenset()
) -> validate.ValidationReport:
    report_root = options.report_root or options.warehouse.parent / "validation"
    _prune_reports(report_root, keep=options.keep_reports - 1, log=log)
    quarantine_root = _quarantine_root(options)
    log.info(f"checking the landing files' headers (quarantine: {quarantine_root})")
    report = validate.check_landing_files(
        options.raw_dir,
        run_id=run_id,
        report_dir=report_root / run_id,
        quarantine_root=quarantine_root,
        dbt_vars=options.dbt_vars,
        sample_rows=options.sample_rows,
        progress=log.info,
        skip=skip,
    )
    outcome.record.update(
        files_seen=len(report.files) + len(report.skipped),
        files_quarantined=len(report.quarantined),
        validation_report=report.json_path,
    )
    outcome.validation_report = report.json_path
    outcome.quarantined = [
        {"reason": check.message, "quarantined_to": check.quarantined_to} for check in report.quarantined
    ]
    return report


def _validate_rows(report: validate.ValidationReport, building: Path, outcome: RefreshOutcome, log) -> None:
    """GX on the rows the build landed (read from its ``raw`` tables, not from the files again)."""
    log.info("validating the landed rows with Great Expectations")
    report = validate.validate_landed_rows(report, building, progress=log.info)
    outcome.data_docs = report.data_docs


def _check_volume(report: validate.ValidationReport, building: Path, outcome: RefreshOutcome, log) -> None:
    """The day's volume and distribution against recent days (billing_reports/volume.py): warnings only.

    Results go to ``volume.json`` and ``volume_docs/`` beside the validation report and to
    ``ops.volume_checks`` in the warehouse being built; a failed check, or a check that cannot
    run, is a warning in the log and never stops the publish."""
    from billing_reports import volume

    try:
        summary = volume.check_volume(building, Path(report.report_dir), run_id=outcome.run_id)
    except Exception as error:  # a report, not a gate
        log.warning(f"volume checks did not run: {type(error).__name__}: {error}")
        return
    log.info(f"volume checks of {summary['day']}: {len(summary['checks'])} run, {len(summary['warnings'])} warning(s)")
    for line in volume.warning_lines(summary):
        log.warning(f"volume check: {line}")


def _prune_reports(report_root: Path, *, keep: int, log: logging.Logger) -> None:
    """Delete all but the newest ``keep`` run folders of validation reports (run ids sort by time)."""
    if not report_root.is_dir():
        return
    runs = sorted(path for path in report_root.iterdir() if path.is_dir())
    for old in runs[: max(len(runs) - keep, 0)]:
        log.info(f"removing the validation report of an old run: {old}")
        shutil.rmtree(old, ignore_errors=True)


def _build(
    options: RefreshOptions, building: Path, outcome: RefreshOutcome, log: logging.Logger, plan: BuildPlan
) -> None:
    from billing_reports.dbt_runner import run_dbt

    dbt_vars = dict(options.dbt_vars or {})
    if plan.mode == "incremental":
        log.info(f"copying the published warehouse forward to {building}")
        shutil.copyfile(options.warehouse, building)
        dbt_vars["billing_incremental"] = True
    extra_args = ["--no-use-colors"]
    if plan.mode == "incremental":
        # The unit tests check the SQL on fixed fixtures, not the data: an incremental build runs the
        # very code (plan_build compared the digests) whose unit tests passed in a build before.
        extra_args += ["--exclude-resource-type", "unit_test"]
        log.info("unit tests skipped: the code is the one the published build was tested with")
    log.info(f"dbt build into {building}")
    # A target folder of its own, beside the warehouse: a refresh never races another build over
    # target/ (the lock serialises refreshes of one warehouse), and dbt's partial parsing can reuse
    # the previous run's manifest instead of parsing the whole project again.
    target = building.parent / ".dbt-target"
    result = run_dbt(
        "build",
        raw_dir=options.raw_dir,
        warehouse=building,
        dbt_vars=dbt_vars,
        target_path=target,
        extra_args=extra_args,
        on_line=lambda line: log.info(f"  dbt: {line}") if line.strip() else None,
    )
    counts: dict[str, int] = {}
    for item in result.results:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    log.info(
        "dbt build: " + (", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "no results")
    )
    if not result.success:
        outcome.failures = result.failures or ["dbt build failed (see the log)"]
        outcome.record["dbt_failures"] = "\n".join(outcome.failures)
        for failure in outcome.failures:
            log.error(f"FAILED {failure}")
        raise RefreshFailed(f"dbt build failed ({len(outcome.failures)} failure(s))")
    if not building.exists():
        raise RefreshFailed(f"dbt reported success but wrote no {building}")


def _only_data_tests_failed(failures: list[str]) -> bool:
    """True when every failure is a data or unit test (``test.`` / ``unit_test.`` nodes): the data, not the build."""
    return bool(failures) and all(failure.startswith(("test.", "unit_test.")) for failure in failures)


def _finish_build(options: RefreshOptions, building: Path, outcome: RefreshOutcome, log: logging.Logger) -> None:
    """Record quarantined files and this run inside the new file, before it is published."""
    import duckdb

    log.info(f"recording the run in {building}")
    quarantined = validate.quarantined_files(_quarantine_root(options), options.raw_dir)
    outcome.still_quarantined = len(quarantined)
    record = outcome.record
    connection = duckdb.connect(str(building))
    try:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute("begin transaction")
        _record_quarantined_files(connection, quarantined)
        outcome.tables = _landing_accounting(connection)
        record.update(
            rows_landed=sum(row["rows_landed"] for row in outcome.tables),
            rows_accepted=sum(row["rows_accepted"] for row in outcome.tables),
            rows_rejected=sum(row["rows_rejected"] for row in outcome.tables),
            duplicates_collapsed=sum(row["duplicates_collapsed"] for row in outcome.tables),
            outcome="published",
            finished_at=_now().isoformat(),
        )
        _record_build_state(connection, options)
        carried = _carry_refresh_runs(connection, options.warehouse, log)
        _insert_refresh_run(connection, record)
        connection.execute("commit")
        connection.execute("checkpoint")
    finally:
        connection.close()
    log.info(
        f"recorded {len(quarantined)} quarantined file(s) in ops.rejected_rows and the run in ops.refresh_runs "
        f"({carried} earlier run(s) carried over)"
    )


def _record_quarantined_files(connection, quarantined: list[dict]) -> None:
    """Files rejected whole appear in ``ops.rejected_rows`` (source_row 0, reject_level 'file')."""
    connection.execute(
        """
        create or replace table ops.quarantined_files (
            run_id varchar,
            source_table varchar,
            source_file varchar,
            quarantined_to varchar,
            reason varchar,
            missing_columns varchar,
            quarantined_at timestamp
        )
        """
    )
    for entry in quarantined:
        reason = f"{entry['reason']} (quarantined to {entry['quarantined_to']} by refresh {entry['run_id']})"
        connection.execute(
            """
            insert into ops.rejected_rows (source_table, source_file, source_row, reason, record_key, reject_level)
            values (?, ?, 0, ?, null, 'file')
            """,
            [entry["source_table"], entry["source_file"], reason],
        )
        connection.execute(
            "insert into ops.quarantined_files values (?, ?, ?, ?, ?, ?, cast(? as timestamptz))",
            [
                entry["run_id"],
                entry["source_table"],
                entry["source_file"],
                entry["quarantined_to"],
                entry["reason"],
                ", ".join(entry.get("missing_columns") or []) or None,
                entry["quarantined_at"],
            ],
        )
    if quarantined:
        # The build never saw these files: count them where it counts the files it rejected itself.
        columns = {row[0] for row in connection.execute("describe ops.landing_accounting").fetchall()}
        if {"files_seen", "files_rejected"} <= columns:
            per_table: dict[str, int] = {}
            for entry in quarantined:
                per_table[entry["source_table"]] = per_table.get(entry["source_table"], 0) + 1
            for table, count in per_table.items():
                connection.execute(
                    """
                    update ops.landing_accounting
                    set files_seen = files_seen + ?, files_rejected = files_rejected + ?
                    where source_table = ?
                    """,
                    [count, count, table],
                )


def _landing_accounting(connection) -> list[dict]:
    rows = connection.execute(
        """
        select source_table, rows_landed, rows_accepted, rows_rejected, duplicates_collapsed
        from ops.landing_accounting
        order by source_table
        """
    ).fetchall()
    names = ("source_table", "rows_landed", "rows_accepted", "rows_rejected", "duplicates_collapsed")
    return [dict(zip(names, row, strict=True)) for row in rows]


def _carry_refresh_runs(connection, warehouse: Path, log: logging.Logger) -> int:
    """Create ``ops.refresh_runs`` with the history of the published file and of the run log."""
    import duckdb

    columns = ", ".join(f"{name} {kind}" for name, kind in REFRESH_RUNS_COLUMNS.items())
    # Created afresh: a file copied forward already holds the history this carries over again.
    connection.execute(f"create or replace table ops.refresh_runs ({columns})")
    if warehouse.exists():
        try:
            connection.execute(f"attach {sql_string(warehouse)} as published (read_only)")
        except duckdb.Error as error:
            log.warning(f"warning: could not open {warehouse} read-only to carry ops.refresh_runs: {error}")
        else:
            try:
                has_history = connection.execute(
                    """
                    select count(*) from duckdb_tables()
                    where database_name = 'published' and schema_name = 'ops' and table_name = 'refresh_runs'
                    """
                ).fetchone()[0]
                if has_history:
                    connection.execute("insert into ops.refresh_runs by name select * from published.ops.refresh_runs")
            finally:
                connection.execute("detach published")
    known = {row[0] for row in connection.execute("select run_id from ops.refresh_runs").fetchall()}
    for entry in read_run_log(warehouse):
        if entry.get("run_id") not in known:
            _insert_refresh_run(connection, entry)
            known.add(entry.get("run_id"))
    return len(known)


def _insert_refresh_run(connection, record: dict) -> None:
    names = list(REFRESH_RUNS_COLUMNS)
    placeholders = ", ".join(
        "cast(cast(? as timestamptz) as timestamp)" if REFRESH_RUNS_COLUMNS[name] == "timestamp" else "?"
        for name in names
    )
    connection.execute(
        f"insert into ops.refresh_runs ({', '.join(names)}) values ({placeholders})",
        [record.get(name) for name in names],
    )


# --------------------------------------------------------------------------------------------
# Incremental or full
# --------------------------------------------------------------------------------------------


def build_state(options: RefreshOptions) -> dict:
    """What a build's result depends on besides the landing files: the project and the landing settings.

    ``code``: a digest of every file dbt reads (models, macros, seeds, tests, project and profile)
    and of the dbt and DuckDB versions. ``settings``: the landing folder and the vars the base
    models read (the plausible years). ``as_of`` and the exchange rate are left out on purpose:
    only the marts read them, and an incremental build rebuilds every mart.
    """
    import hashlib
    import importlib.metadata

    from billing_reports.settings import PROJECT_DIR

    digest = hashlib.sha256()
    for name in ("dbt-core", "dbt-duckdb", "duckdb"):
        digest.update(f"{name}=={importlib.metadata.version(name)}\n".encode())
    digest.update(f"engine={settings.engine()}\n".encode())
    paths = [PROJECT_DIR / "dbt_project.yml", PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        paths.extend(sorted(path for path in (PROJECT_DIR / folder).rglob("*") if path.is_file()))
    for path in paths:
        if path.exists() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    min_year, max_year = validate.plausible_years(options.dbt_vars)
    settings_text = json.dumps(
        {"raw_dir": str(options.raw_dir), "min_plausible_year": min_year, "max_plausible_year": max_year},
        sort_keys=True,
    )
    return {"code": digest.hexdigest(), "settings": settings_text}


def _signature(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def plan_build(options: RefreshOptions) -> BuildPlan:
    """Incremental when the published build can be extended with the new files alone; else full, and why."""
    import duckdb

    if options.full:
        return BuildPlan("full", "asked for with --full")
    if settings.engine() == "spark":
        return BuildPlan("full", "builds on Spark are full builds")
    warehouse = options.warehouse
    if not warehouse.exists():
        return BuildPlan("full", "no published warehouse yet")
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            tables = {
                row[0]
                for row in connection.execute(
                    "select table_name from duckdb_tables() where schema_name = 'raw'"
                ).fetchall()
            }
            if not {"_build_state", "_landing_signatures", "_landing_files"} <= tables:
                return BuildPlan("full", "the published warehouse does not record what it was built from")
            state = connection.execute("select code_digest, settings from raw._build_state").fetchone()
            landed = connection.execute(
                """
                select source_table, file_name, file_size, file_mtime_ns
                from raw._landing_signatures
                order by source_table, file_order
                """
            ).fetchall()
    except duckdb.Error as error:
        return BuildPlan("full", f"the published warehouse could not be read ({error})")
    wanted = build_state(options)
    if state is None or state[0] != wanted["code"]:
        return BuildPlan("full", "the project (models, macros, seeds or versions) changed since the published build")
    if state[1] != wanted["settings"]:
        return BuildPlan(
            "full", f"the landing folder or plausible years changed since the published build ({state[1]})"
        )
    by_table: dict[str, list[tuple]] = {}
    for table, name, size, mtime_ns in landed:
        by_table.setdefault(table, []).append((name, size, mtime_ns))
    landed_before = set()
    new_files = 0
    for table in validate.load_table_specs():
        files = validate.landing_files(options.raw_dir, table)
        before = by_table.pop(table, [])
        for position, (name, size, mtime_ns) in enumerate(before):
            if position >= len(files) or files[position].name != name:
                return BuildPlan(
                    "full",
                    f"{table}/{name}, landed by the published build, is gone or no longer in its place in file-name "
                    "order (a file was removed, renamed, or a new file sorts before it)",
                )
            if _signature(files[position]) != (size, mtime_ns):
                return BuildPlan("full", f"{table}/{name} changed since the published build")
            landed_before.add((table, name))
        new_files += len(files) - len(before)
    if by_table:
        return BuildPlan("full", f"the published build landed tables this project no longer has: {sorted(by_table)}")
    return BuildPlan(
        "incremental",
        f"{new_files} new landing file(s) on top of the {len(landed_before)} the published build landed",
        landed_before,
        new_files,
    )


def _record_build_state(connection, options: RefreshOptions) -> None:
    """Record in the new file what it was built from, for the next refresh's ``plan_build``."""
    state = build_state(options)
    connection.execute("create or replace table raw._build_state (code_digest varchar, settings varchar)")
    connection.execute("insert into raw._build_state values (?, ?)", [state["code"], state["settings"]])
    connection.execute(
        """
        create or replace table raw._landing_signatures (
            source_table varchar, file_name varchar, file_order integer, file_size bigint, file_mtime_ns bigint
        )
        """
    )
    landed = connection.execute("select source_table, source_file, file_order from raw._landing_files").fetchall()
    for table, source_file, file_order in landed:
        path = Path(source_file)
        if not path.is_absolute():
            path = options.raw_dir / table / path.name
        with contextlib.suppress(OSError):
            size, mtime_ns = _signature(path)
            connection.execute(
                "insert into raw._landing_signatures values (?, ?, ?, ?, ?)",
                [table, path.name, file_order, size, mtime_ns],
            )


def _notify(options: RefreshOptions, outcome: RefreshOutcome, log: logging.Logger) -> None:
    """Send what the newly published warehouse calls for (``billing_reports.notify``)."""
    from billing_reports.notify import run_notify

    log.info("notify: sending what the published warehouse calls for")
    try:
        result = run_notify(outcome.warehouse, as_of=(options.dbt_vars or {}).get("as_of"), log=log.info)
    except Exception as error:  # the warehouse is published; the failure is notify's alone
        outcome.notify_failed = True
        outcome.notify_message = f"notify: FAILED: {type(error).__name__}: {error}"
        log.error(outcome.notify_message)
        return
    outcome.notify_failed = not getattr(result, "ok", True)
    outcome.notify_message = result.summary() if hasattr(result, "summary") else "notify: done"


# --------------------------------------------------------------------------------------------
# Lock, publish, rollback
# --------------------------------------------------------------------------------------------


def lock_path(warehouse: Path) -> Path:
    return fileio.lock_path(warehouse)


@contextlib.contextmanager
def warehouse_lock(warehouse: Path, holder: str):
    """Hold ``<warehouse>.lock`` (``flock``, non-blocking) for the block; raise ``Locked`` if taken.

    The lock file itself is never deleted: the lock is the ``flock`` on it, which the kernel
    releases when the holder exits or dies, so a stale file never blocks anyone.
    """
    path = lock_path(warehouse)
    try:
        with fileio.exclusive_lock(path, holder=f"{holder}, pid {os.getpid()}, since {_now().isoformat()}"):
            yield path
    except fileio.LockBusy as busy:
        raise Locked(
            f"another refresh is running ({busy.holder or 'unknown'}); it holds {path}. "
            "This run did nothing; try again when that one has finished."
        ) from None


def publish(building: Path, warehouse: Path) -> Path | None:
    """Make ``building`` the published ``warehouse`` atomically; keep the replaced file as ``.previous``.

    ``.previous`` is a hard link to the published file (a copy where links are not possible),
    made before the rename, so that there is never a moment without a published file.
    Returns the ``.previous`` path, or None on the first publish.
    """
    previous = None
    if warehouse.exists():
        previous = warehouse.with_name(warehouse.name + ".previous")
        _link_or_copy(warehouse, previous)
        wal = warehouse.with_name(warehouse.name + ".wal")
        if wal.exists():  # a file written in place and not checkpointed: its WAL goes with it
            os.replace(wal, previous.with_name(previous.name + ".wal"))
    os.chmod(building, fileio.PRIVATE_FILE_MODE)  # every client's data: the service account only
    os.replace(building, warehouse)
    fileio.fsync_directory(warehouse.parent)
    return previous


def rollback(warehouse: Path) -> str:
    """Put ``<warehouse>.previous`` back; keep the replaced file as ``<warehouse>.rolled-back``."""
    previous = warehouse.with_name(warehouse.name + ".previous")
    with warehouse_lock(warehouse, "rollback"):
        if not previous.exists():
            raise UserError(
                f"nothing to roll back to: {previous} does not exist (each refresh keeps the file it replaces "
                "there, and a rollback uses it up)"
            )
        rolled_back = warehouse.with_name(warehouse.name + ".rolled-back")
        if warehouse.exists():
            _link_or_copy(warehouse, rolled_back)
        os.replace(previous, warehouse)
        fileio.fsync_directory(warehouse.parent)
        now = _now().isoformat()
        append_run_log(
            warehouse,
            {
                "run_id": f"rollback-{new_run_id()}",
                "started_at": now,
                "finished_at": now,
                "outcome": "rolled_back",
                "warehouse_path": str(warehouse),
            },
        )
    kept = f"; the file it replaced is kept as {rolled_back}" if rolled_back.exists() else ""
    return f"rolled back: {warehouse} is again the file published before the last refresh{kept}"


def _link_or_copy(source: Path, destination: Path) -> None:
    """Atomically make ``destination`` a hard link to (or, failing that, a copy of) ``source``."""
    temporary = destination.with_name(destination.name + ".tmp")
    _remove_database(temporary)
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copy2(source, temporary)
    os.replace(temporary, destination)


def _remove_leftovers(warehouse: Path, log: logging.Logger) -> None:
    """Half-built files of runs that were killed (only ever called under the lock)."""
    for pattern in (f"{warehouse.name}.building-*", f"{warehouse.name}.*.tmp"):
        for path in sorted(warehouse.parent.glob(pattern)):
            log.info(f"removing {path}, left by a run that did not finish")
            path.unlink(missing_ok=True)


def _remove_database(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


# --------------------------------------------------------------------------------------------
# The run log (JSON lines beside the warehouse)
# --------------------------------------------------------------------------------------------


def run_log_path(warehouse: Path) -> Path:
    return warehouse.parent / RUN_LOG


def append_run_log(warehouse: Path, record: dict) -> None:
    """Append one run as a JSON line; durable before returning."""
    fileio.append_line_durably(run_log_path(warehouse), json.dumps(record, default=str) + "\n")


def read_run_log(warehouse: Path) -> list[dict]:
    """Every run recorded in the run log (lines that do not parse, e.g. cut by a crash, are skipped)."""
    path = run_log_path(warehouse)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("run_id"):
                entries.append(entry)
    return entries


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _run_logger(run_id: str, log_file: Path) -> logging.Logger:
    """Progress lines to the terminal (stderr) and to the run's log file."""
    fileio.private_dir(log_file.parent)
    if not log_file.exists():
        log_file.touch(mode=fileio.PRIVATE_FILE_MODE)
    logger = logging.getLogger(f"billing_reports.refresh.{run_id}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setFormatter(logging.Formatter("[%(asctime)s] %(message)s", datefmt="%H:%M:%S"))
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"))
    logger.addHandler(terminal)
    logger.addHandler(to_file)
    return logger


def _raise_on_sigterm():
    """Let `systemctl stop` / `kill` end a refresh like Ctrl-C: cleaned up and recorded."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _restore_sigterm(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
