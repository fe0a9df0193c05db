"""One refresh, under the lock: plan, build, publish, export, notify, and record the run."""

from __future__ import annotations

import logging
import signal
import sys
import traceback
from pathlib import Path

from billing_reports import fileio, settings, validate
from billing_reports.refresh.build import (
    RefreshFailed,
    RefreshOutcome,
    _build,
    _check_volume,
    _finish_build,
    _only_data_tests_failed,
    _validate,
    _validate_rows,
)
from billing_reports.refresh.plan import BuildPlan, RefreshOptions, plan_build
from billing_reports.refresh.publish import _remove_database, _remove_leftovers, publish, warehouse_lock
from billing_reports.refresh.runlog import REFRESH_RUNS_COLUMNS, _now, append_run_log, new_run_id, run_log_path


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
        target = settings.export_dir(warehouse)
        export.export_marts(warehouse, target, progress=log.info)
    except Exception as error:  # the warehouse is published; the export is retried by the next run
        log.error(f"Parquet export failed (the warehouse is published): {type(error).__name__}: {error}")
        return
    log.info(f"Parquet export written to {target}")


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
    outcome.notify_failed = not result.ok
    outcome.notify_message = result.summary()


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
