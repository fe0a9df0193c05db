"""The refresh's steps in-process, without a real dbt build: lock, failed tests, notify, usage errors."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import types
from pathlib import Path

import duckdb
import pytest

from billing_reports import cli, refresh
from billing_reports.dbt_runner import DbtResult
from billing_reports.refresh import plan as refresh_plan
from billing_reports.refresh import publish, runlog
from billing_reports.refresh import run as refresh_run

BASE = Path(__file__).parent.parent / "bad_input" / "base"


@pytest.fixture
def landing(tmp_path) -> dict:
    """The hand-written base landing folder and a published warehouse holding one marker row."""
    shutil.copytree(BASE, tmp_path / "raw")
    warehouse = tmp_path / "warehouse" / "billing.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create table marker as select 'published before' as note")
    return {"raw": tmp_path / "raw", "warehouse": warehouse}


def _marker(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute("select note from marker").fetchall()


def test_failing_error_test_does_not_publish_and_removes_the_half_built_file(landing, monkeypatch):
    failure = (
        "test.billing_reports.assert_landing_rows_all_accounted_for: fail: Got 1 result, configured to fail if != 0"
    )

    def failing_build(command, *, raw_dir, warehouse, **options):
        with duckdb.connect(str(warehouse)) as connection:  # dbt got as far as writing part of the file
            connection.execute("create table half_built as select 1 as x")
        return DbtResult(success=False, returncode=1, failures=[failure], results=[{"node": "x", "status": "fail"}])

    monkeypatch.setattr("billing_reports.dbt_runner.run_dbt", failing_build)
    outcome = refresh.run_refresh(refresh.RefreshOptions(raw_dir=landing["raw"], warehouse=landing["warehouse"]))

    assert outcome.outcome == "failed" and not outcome.ok
    assert _marker(landing["warehouse"]) == [("published before",)]
    assert sorted(path.name for path in landing["warehouse"].parent.glob("billing.duckdb*")) == [
        "billing.duckdb",
        "billing.duckdb.lock",
    ]
    recorded = json.loads(runlog.run_log_path(landing["warehouse"]).read_text().splitlines()[-1])
    assert recorded["outcome"] == "failed" and recorded["dbt_failures"] == failure
    assert f"FAILED {failure}" in outcome.summary()
    assert "untouched" in outcome.summary()


def _incremental_build_failing(landing, monkeypatch, failures: list[str]) -> tuple[refresh.RefreshOutcome, list]:
    """A refresh whose plan is incremental and whose every dbt build fails; the builds it tried."""
    calls = []

    def failing_build(command, *, raw_dir, warehouse, dbt_vars=None, **options):
        calls.append("incremental" if (dbt_vars or {}).get("billing_incremental") else "full")
        failure = failures[0] if calls[-1] == "incremental" else "test.billing_reports.some_test: fail: Got 1 result"
        return DbtResult(success=False, returncode=1, failures=[failure], results=[{"node": "x", "status": "error"}])

    monkeypatch.setattr(
        refresh_run, "plan_build", lambda options: refresh_plan.BuildPlan("incremental", "2 new file(s)")
    )
    monkeypatch.setattr("billing_reports.dbt_runner.run_dbt", failing_build)
    outcome = refresh.run_refresh(refresh.RefreshOptions(raw_dir=landing["raw"], warehouse=landing["warehouse"]))
    return outcome, calls


def test_an_incremental_build_that_fails_in_a_model_is_retried_in_full(landing, monkeypatch):
    error = "model.billing_reports.base_billing__documents: error: Binder Error: something the incremental path broke"
    outcome, calls = _incremental_build_failing(landing, monkeypatch, [error])

    assert calls == ["incremental", "full"]
    assert outcome.outcome == "failed"  # the full build's own (test) failure
    assert outcome.record["build_mode"] == "full"
    assert outcome.record["build_note"] == f"the incremental build failed ({error}); rebuilt in full"
    assert outcome.failures == ["test.billing_reports.some_test: fail: Got 1 result"]
    assert _marker(landing["warehouse"]) == [("published before",)]


def test_an_incremental_build_whose_data_tests_fail_is_not_retried(landing, monkeypatch):
    failure = "test.billing_reports.assert_landing_rows_all_accounted_for: fail: Got 1 result"
    outcome, calls = _incremental_build_failing(landing, monkeypatch, [failure])

    assert calls == ["incremental"]
    assert outcome.outcome == "failed" and outcome.record["build_mode"] == "incremental"
    assert outcome.failures == [failure]


def test_refresh_exits_with_code_3_while_another_holds_the_lock(landing, capsys):
    with publish.warehouse_lock(landing["warehouse"], "refresh 20260301T000000Z-test"):
        code = cli.main(["refresh", "--raw-dir", str(landing["raw"]), "--warehouse", str(landing["warehouse"])])
    assert code == cli.EXIT_LOCKED
    assert "another refresh is running (refresh 20260301T000000Z-test" in capsys.readouterr().err
    assert _marker(landing["warehouse"]) == [("published before",)]


def test_missing_landing_folder_is_a_usage_error_and_publishes_nothing(landing, tmp_path, capsys):
    code = cli.main(["refresh", "--raw-dir", str(tmp_path / "nowhere"), "--warehouse", str(landing["warehouse"])])
    assert code == cli.EXIT_USAGE
    assert "does not exist" in capsys.readouterr().err
    assert _marker(landing["warehouse"]) == [("published before",)]


def test_rollback_without_a_previous_file_says_so(landing, capsys):
    code = cli.main(["rollback", "--warehouse", str(landing["warehouse"])])
    assert code == cli.EXIT_USAGE
    assert "nothing to roll back to" in capsys.readouterr().err


def _outcome(warehouse: Path) -> refresh.RefreshOutcome:
    return refresh.RefreshOutcome(
        run_id="20260301T000000Z-test",
        outcome="published",
        warehouse=warehouse,
        log_file=warehouse.parent / "x.log",
        record={"run_id": "20260301T000000Z-test"},
    )


def test_notify_reads_the_published_warehouse_as_of_the_build(landing, monkeypatch):
    calls = []

    def run_notify(warehouse, *, as_of=None, log=print):
        calls.append((warehouse, as_of))
        return types.SimpleNamespace(ok=False, summary=lambda: "notify: 1 message dead")

    monkeypatch.setitem(sys.modules, "billing_reports.notify", types.SimpleNamespace(run_notify=run_notify))
    outcome = _outcome(landing["warehouse"])
    options = refresh.RefreshOptions(
        raw_dir=landing["raw"], warehouse=landing["warehouse"], dbt_vars={"as_of": "2026-03-05T00:00:00Z"}
    )
    refresh_run._notify(options, outcome, logging.getLogger("test"))
    assert calls == [(landing["warehouse"], "2026-03-05T00:00:00Z")]
    assert outcome.notify_message == "notify: 1 message dead"
    assert not outcome.ok, "a notify failure fails the run (exit 1), though the warehouse is published"
