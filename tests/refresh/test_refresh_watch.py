"""``billing-reports refresh --watch``: a file that lands is published without anyone running a refresh."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from billing_reports import refresh, watch
from billing_reports.refresh import runlog
from tests.fixtures.handmade import AS_OF, write_handmade_landing


def _published_runs(warehouse: Path) -> list[dict]:
    if not runlog.run_log_path(warehouse).exists():
        return []
    return [run for run in runlog.read_run_log(warehouse) if run.get("outcome") == "published"]


def _wait_for(condition, timeout: float, what: str, process: subprocess.Popen) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        assert process.poll() is None, f"the watcher exited early with code {process.returncode}"
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_a_landed_file_is_published_by_the_watcher_and_it_stops_on_sigterm(tmp_path):
    raw = write_handmade_landing(tmp_path / "raw")
    warehouse = tmp_path / "warehouse" / "billing.duckdb"
    command = [
        sys.executable,
        "-m",
        "billing_reports.cli",
        "refresh",
        "--watch",
        "--interval",
        "1",
        "--settle",
        "1",
        "--no-export",
        "--raw-dir",
        str(raw),
        "--warehouse",
        str(warehouse),
        "--vars",
        f'{{"as_of": "{AS_OF}"}}',
    ]
    env = dict(os.environ, GX_ANALYTICS_ENABLED="False")
    log = open(tmp_path / "watch.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        # No published warehouse yet: the first poll builds one.
        _wait_for(lambda: len(_published_runs(warehouse)) == 1, 600, "the first publish", process)

        # A new client lands in a later file: the watcher publishes it without being asked.
        clients = raw / "clients" / "clients_2.csv"
        clients.write_text("client_id,client_name,timezone,invoices_by_branch\nC3,Birch Gas,America/Chicago,false\n")
        latency = _wait_for(lambda: len(_published_runs(warehouse)) == 2, 600, "the second publish", process)
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            assert connection.execute(
                "select client_name from marts.dim_clients where client_id = 'C3'"
            ).fetchall() == [("Birch Gas",)]
            assert connection.execute(
                "select build_mode from ops.refresh_runs where outcome = 'published' order by started_at desc limit 1"
            ).fetchall() == [("incremental",)]
        assert latency < 120, f"a landed file took {latency:.0f} s to reach the dashboard"

        # Nothing new: several polls later there is still no third refresh.
        time.sleep(5)
        assert len(_published_runs(warehouse)) == 2

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    assert "watch stopped after 2 refresh(es)" in (tmp_path / "watch.log").read_text()


def test_a_failed_refresh_is_not_retried_until_the_folder_changes(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "clients").mkdir(parents=True)
    (raw / "clients" / "a.csv").write_text("client_id,client_name,timezone,invoices_by_branch\n")
    options = refresh.RefreshOptions(raw_dir=raw, warehouse=tmp_path / "billing.duckdb")
    runs = []

    class Failed:
        outcome = "failed"

        def summary(self):
            return "refresh x: FAILED"

    monkeypatch.setattr(watch, "needs_refresh", lambda options: (True, "a new file"))
    monkeypatch.setattr(refresh, "run_refresh", lambda options: runs.append(options) or Failed())
    state = watch.WatchState()
    say = [].append

    watch.poll_once(options, state, settle_seconds=0, say=say)
    watch.poll_once(options, state, settle_seconds=0, say=say)
    assert len(runs) == 1  # the same folder again: not retried

    (raw / "clients" / "b.csv").write_text("client_id,client_name,timezone,invoices_by_branch\n")
    watch.poll_once(options, state, settle_seconds=0, say=say)
    assert len(runs) == 2  # the folder changed: tried again


def test_a_changing_folder_waits_to_settle(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "clients").mkdir(parents=True)
    growing = raw / "clients" / "a.csv"
    growing.write_text("client_id,client_name,timezone,invoices_by_branch\n")
    options = refresh.RefreshOptions(raw_dir=raw, warehouse=tmp_path / "billing.duckdb")
    runs = []

    class Published:
        outcome = "published"

        def summary(self):
            return "refresh x: published"

    monkeypatch.setattr(watch, "needs_refresh", lambda options: (True, "a new file"))
    monkeypatch.setattr(refresh, "run_refresh", lambda options: runs.append(options) or Published())
    now = [100.0]
    state = watch.WatchState()

    def poll():
        return watch.poll_once(options, state, settle_seconds=5, clock=lambda: now[0], say=lambda text: None)

    assert poll() is None  # first sight of the change
    now[0] += 3
    growing.write_text("client_id,client_name,timezone,invoices_by_branch\nC1,A,UTC,true\n")
    assert poll() is None  # still being written: the clock starts again
    now[0] += 4
    assert poll() is None  # 4 s still < 5 s
    now[0] += 2
    assert poll() is not None and len(runs) == 1


def test_a_seen_change_is_looked_at_again_when_it_has_settled_not_a_whole_interval_later():
    state = watch.WatchState()
    wait = {"interval_seconds": 30.0, "settle_seconds": 5.0}
    assert watch.next_wait(state, now=100.0, **wait) == 30.0  # nothing pending: the interval
    state.pending_listing, state.pending_since = (("clients", "a.csv", 1, 1),), 100.0
    assert watch.next_wait(state, now=100.0, **wait) == 5.0  # just seen: the settle time
    assert watch.next_wait(state, now=103.5, **wait) == 1.5  # the rest of it
    assert watch.next_wait(state, now=107.0, **wait) == 0.0  # overdue: at once, never negative
    assert watch.next_wait(state, now=100.0, interval_seconds=2.0, settle_seconds=5.0) == 2.0  # never past the interval


@pytest.mark.parametrize("flags", [["--interval", "5"], ["--settle", "1"]])
def test_watch_flags_need_watch(flags, tmp_path):
    from billing_reports import cli

    (tmp_path / "raw").mkdir()
    assert cli.main(["refresh", "--raw-dir", str(tmp_path / "raw"), *flags]) == cli.EXIT_USAGE
