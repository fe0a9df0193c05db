"""A refresh never breaks what readers see: `billing-reports refresh` / `rollback` run as a scheduler would.

One landing folder (the hand-written base of tests/bad_input) goes through a chain of
scenarios, each a module fixture built on the one before, so that every dbt build is reused:

    published       first refresh: publishes the warehouse
    reader          a reader holds the published file open during a whole refresh (and a
                    second refresh started meanwhile exits with code 3)
    killed          refreshes SIGKILLed at different points, then one that runs through
    failed          a refresh whose build fails (DuckDB out of memory)
    rolled_back     rollback, twice
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from billing_reports.refresh.publish import Locked, lock_path, warehouse_lock
from tests.row_differences import rows_only_in_each

BASE = Path(__file__).parent.parent / "bad_input" / "base"
AS_OF = '{"as_of": "2026-03-05T00:00:00Z"}'
EXTRA_DOCUMENT = (
    "document_id,client_id,job_id,batch_id,customer_account_id,branch_code,document_type,"
    "document_number,document_date,amount_due,currency,delivery_channel,pull_class,page_count\n"
    "D5,C1,J1,BA2,CU1,,invoice,INV-1005,2026-03-01,40.00,USD,email,,1\n"
)


def _command(*arguments: str) -> list[str]:
    script = Path(sys.executable).with_name("billing-reports")
    prefix = [str(script)] if script.exists() else [sys.executable, "-m", "billing_reports.cli"]
    return prefix + list(arguments)


def _environment(**extra: str) -> dict:
    return {**os.environ, "GX_ANALYTICS_ENABLED": "False", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **extra}


def _refresh_arguments(workspace: dict) -> list[str]:
    return ["refresh", "--raw-dir", str(workspace["raw"]), "--warehouse", str(workspace["warehouse"]), "--vars", AS_OF]


def _run(workspace: dict, *arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        _command(*(arguments or _refresh_arguments(workspace))),
        capture_output=True,
        text=True,
        env=env or _environment(),
        timeout=900,
    )


def _start(workspace: dict) -> subprocess.Popen:
    """A refresh in its own process group, so that a kill reaches its dbt child too."""
    return subprocess.Popen(
        _command(*_refresh_arguments(workspace)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
        start_new_session=True,
    )


def _wait_until(condition, timeout: float = 300, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.05)


def _holds_lock(workspace: dict, process: subprocess.Popen) -> bool:
    """Whether ``process`` has taken the lock (it writes its pid into the lock file once it holds it)."""
    try:
        return f"pid {process.pid}," in lock_path(workspace["warehouse"]).read_text()
    except FileNotFoundError:
        return False


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _query(path: Path, sql: str) -> list[tuple]:
    connection = duckdb.connect(str(path), read_only=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def _run_id(stdout: str) -> str:
    return stdout.split(":", 1)[0].removeprefix("refresh ").strip()


def _leftovers(workspace: dict) -> list[str]:
    folder = workspace["warehouse"].parent
    return sorted(
        path.name for path in folder.glob("billing.duckdb.*") if ".building-" in path.name or path.suffix == ".tmp"
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("refresh")
    shutil.copytree(BASE, root / "raw")
    return {"root": root, "raw": root / "raw", "warehouse": root / "warehouse" / "billing.duckdb", "runs": []}


@pytest.fixture(scope="module")
def published(workspace) -> dict:
    result = _run(workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    workspace["runs"].append(_run_id(result.stdout))
    return {"result": result}


@pytest.fixture(scope="module")
def reader(workspace, published) -> dict:
    """Hold a read-only connection to the published file through a whole refresh that changes the data."""
    warehouse = workspace["warehouse"]
    count = "select count(*) from marts.fct_documents"
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        observed = {"before": connection.execute(count).fetchone()[0]}
        (workspace["raw"] / "documents" / "2026-03-02.csv").write_text(EXTRA_DOCUMENT)
        process = _start(workspace)
        _wait_until(lambda: _holds_lock(workspace, process), message="the refresh to take the lock")
        started = time.monotonic()
        observed["second"] = _run(workspace)
        observed["second_seconds"] = time.monotonic() - started
        observed["second_while_running"] = process.poll() is None
        observed["during"] = connection.execute(count).fetchone()[0]
        stdout, stderr = process.communicate(timeout=900)
        observed["refresh"] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
        observed["after_same_connection"] = connection.execute(count).fetchone()[0]
        observed["marts_readable"] = [
            connection.execute(f"select count(*) from marts.{table}").fetchone()[0]
            for (table,) in connection.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        ]
    finally:
        connection.close()
    observed["reopened"] = _query(warehouse, count)[0][0]
    assert observed["refresh"].returncode == 0, stdout + stderr
    workspace["runs"].append(_run_id(stdout))
    return observed


@pytest.fixture(scope="module")
def killed(workspace, reader) -> dict:
    """SIGKILL refreshes at different points; after each, the published file must be intact and usable."""
    warehouse = workspace["warehouse"]
    digest = _digest(warehouse)
    folder = warehouse.parent

    def building_started() -> bool:
        return any(folder.glob("billing.duckdb.building-*"))

    kills = []
    for trigger in (0.5, 2.5, 6.0, "while dbt builds"):
        process = _start(workspace)
        if trigger == "while dbt builds":
            _wait_until(building_started, message="dbt to start writing the new file")
            time.sleep(1.0)
        else:
            time.sleep(trigger)
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        kills.append(
            {
                "trigger": trigger,
                "returncode": process.returncode,
                "published_intact": _digest(warehouse) == digest,
                "readable": _query(warehouse, "select count(*) from marts.fct_documents")[0][0],
                "lock_free": _lock_is_free(warehouse),
            }
        )
    result = _run(workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    workspace["runs"].append(_run_id(result.stdout))
    return {"kills": kills, "final": result, "leftovers": _leftovers(workspace)}


def _lock_is_free(warehouse: Path) -> bool:
    try:
        with warehouse_lock(warehouse, "test probe"):
            return True
    except Locked:
        return False


@pytest.fixture(scope="module")
def failed(workspace, killed) -> dict:
    """A refresh whose dbt build fails: DuckDB runs out of memory (BILLING_MEMORY_LIMIT of the profile)."""
    warehouse = workspace["warehouse"]
    previous = warehouse.with_name("billing.duckdb.previous")
    before = {"published": _digest(warehouse), "previous": _digest(previous), "inode": warehouse.stat().st_ino}
    result = _run(workspace, env=_environment(BILLING_MEMORY_LIMIT="8MB"))
    after = {"published": _digest(warehouse), "previous": _digest(previous), "inode": warehouse.stat().st_ino}
    log = (warehouse.parent / "refresh_runs.jsonl").read_text().splitlines()
    return {"result": result, "before": before, "after": after, "last": json.loads(log[-1])}


@pytest.fixture(scope="module")
def rolled_back(workspace, failed) -> dict:
    warehouse = workspace["warehouse"]
    runs_before = sorted(_query(warehouse, "select run_id from ops.refresh_runs where outcome = 'published'"))
    previous_digest = _digest(warehouse.with_name("billing.duckdb.previous"))
    first = _run(workspace, "rollback", "--warehouse", str(warehouse))
    observed = {
        "first": first,
        "runs_before": runs_before,
        "runs_after": sorted(_query(warehouse, "select run_id from ops.refresh_runs where outcome = 'published'")),
        "digest_matches_previous": _digest(warehouse) == previous_digest,
        "rolled_back_kept": warehouse.with_name("billing.duckdb.rolled-back").exists(),
    }
    observed["second"] = _run(workspace, "rollback", "--warehouse", str(warehouse))
    return observed


# ----------------------------------------------------------------------------------------------


def test_refresh_publishes_the_warehouse_and_keeps_a_log_and_a_validation_report(workspace, published):
    warehouse = workspace["warehouse"]
    result = published["result"]
    assert "published" in result.stdout and str(warehouse) in result.stdout
    assert "documents" in result.stdout and "0 rejected whole" in result.stdout
    assert _query(warehouse, "select count(*) from marts.fct_documents") == [(4,)]
    run_id = workspace["runs"][0]
    assert (warehouse.parent / "logs" / f"refresh-{run_id}.log").read_text().count("published") >= 1
    report = warehouse.parent / "validation" / run_id
    assert json.loads((report / "validation.json").read_text())["run_id"] == run_id
    assert (report / "data_docs" / "index.html").exists()


def test_the_dashboard_banner_shows_the_refresh_just_published(workspace, published, monkeypatch):
    # Before the fix the banner looked for outcome 'success', which refresh never records, and fell
    # back to the file's time ("no refresh run is recorded") right after a refresh.
    from datetime import UTC

    from dashboards import data

    warehouse = workspace["warehouse"]
    [(run_id, finished_at)] = _query(
        warehouse, "select run_id, finished_at from ops.refresh_runs where outcome = 'published'"
    )
    assert run_id == workspace["runs"][0]
    monkeypatch.setenv("BILLING_WAREHOUSE", str(warehouse))
    info = data.last_refresh()
    assert (info.source, info.refreshed_at) == ("refresh_runs", finished_at.replace(tzinfo=UTC))
    assert not info.is_stale


def test_reader_keeps_the_old_data_during_a_refresh_and_sees_the_new_after_reopening(reader):
    assert reader["before"] == 4
    assert reader["during"] == 4
    assert reader["after_same_connection"] == 4, "an open reader keeps the file it opened"
    assert all(count >= 0 for count in reader["marts_readable"]) and reader["marts_readable"]
    assert reader["reopened"] == 5


def test_second_concurrent_refresh_exits_at_once_with_code_3(reader):
    second = reader["second"]
    assert reader["second_while_running"], "the first refresh was still running"
    assert second.returncode == 3, second.stdout + second.stderr
    assert "another refresh is running" in second.stderr
    assert reader["second_seconds"] < 60


def test_killed_refresh_leaves_the_published_warehouse_intact_and_the_next_one_succeeds(killed):
    kills = killed["kills"]
    hits = [kill for kill in kills if kill["returncode"] == -signal.SIGKILL]
    assert len(hits) >= 3, kills
    for kill in kills:
        assert kill["published_intact"] or kill["returncode"] == 0, kill
        assert kill["readable"] == 5, kill
        assert kill["lock_free"], f"a dead refresh must not hold the lock: {kill}"
    assert killed["final"].returncode == 0
    assert killed["leftovers"] == [], "the next refresh removes half-built files"


def test_two_refreshes_of_the_same_landing_folder_give_identical_marts(workspace, killed):
    warehouse = workspace["warehouse"]
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        connection.execute(f"attach '{warehouse.with_name('billing.duckdb.previous')}' as previous (read_only)")
        tables = [
            row[0]
            for row in connection.execute(
                "select table_name from duckdb_tables() where database_name = 'billing' and schema_name = 'marts' "
                "order by 1"
            ).fetchall()
        ]
        assert len(tables) >= 13
        for table in tables:
            counts = connection.execute(
                f"select (select count(*) from marts.{table}), (select count(*) from previous.marts.{table})"
            ).fetchone()
            differences = sum(
                rows_only_in_each(connection, f"select * from marts.{table}", f"select * from previous.marts.{table}")
            )
            assert counts[0] == counts[1] and differences == 0, f"marts.{table} differs: {counts}, {differences}"
    finally:
        connection.close()


def test_refresh_runs_carry_from_one_published_file_to_the_next(workspace, killed):
    runs = {
        run[0]: run[1:]
        for run in _query(
            workspace["warehouse"], "select run_id, outcome, files_seen, rows_landed from ops.refresh_runs"
        )
    }
    first, second, third = workspace["runs"]
    assert sorted(runs) == sorted([first, second, third])
    assert runs[first] == ("published", 16, 44)
    assert runs[second] == runs[third] == ("published", 17, 45)


def test_failing_build_does_not_publish_and_is_recorded(workspace, failed):
    result = failed["result"]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout and "untouched" in result.stdout
    assert failed["after"] == failed["before"], "published and previous files are untouched"
    assert _leftovers(workspace) == []
    assert failed["last"]["outcome"] == "failed"
    assert "Out of Memory" in failed["last"]["dbt_failures"]


def test_rollback_restores_the_previous_file_and_says_when_there_is_none(rolled_back):
    first, second = rolled_back["first"], rolled_back["second"]
    assert first.returncode == 0, first.stdout + first.stderr
    assert rolled_back["digest_matches_previous"]
    assert rolled_back["rolled_back_kept"]
    assert len(rolled_back["runs_after"]) == len(rolled_back["runs_before"]) - 1
    assert second.returncode == 2
    assert "nothing to roll back" in second.stderr
