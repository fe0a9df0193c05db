"""The steps of a refresh between the lock and the publish: validate, build, record what was quarantined."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from billing_reports import validate
from billing_reports.refresh.plan import BuildPlan, RefreshOptions, _record_build_state
from billing_reports.refresh.runlog import _carry_refresh_runs, _insert_refresh_run, _now


class RefreshFailed(Exception):
    """The refresh ran and failed; the published warehouse was left as it was."""


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
        # The data tests run in one batch after the models (billing_reports/dbt_batch.py): the same
        # tests and verdicts, without dbt's 30 ms per test node. Nothing is published unless all pass.
        batch_tests=True,
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
