"""The benchmark's watch latency: from files landing to the dashboard and the e-mails, with ``refresh --watch``.

For each measured day, on a landing folder and the warehouse published from it (the bench's
"refresh after one more day" setup):

1. the generator writes one more extract day (``extend_one_day``) into a **staging** copy of the
   landing folder (hard links, so cheap), not into the landing folder itself: writing takes time,
   and a file counts as landed when it appears whole;
2. the outbox beside the warehouse is filled with every message the published warehouse already
   calls for, as sent without sending ("Going live" in docs/notify.md), so that the e-mails
   counted are those the new day calls for;
3. ``billing-reports refresh --watch --notify`` starts on the landing folder, with a local SMTP
   server (aiosmtpd, in this process) that records when each message arrives;
4. half a poll interval after the watcher started (the expected wait for a file landing at a
   random moment), the new files are renamed into the landing folder: that instant is t0;
5. from t0 it records when the watcher starts a refresh (its log line), when the published file
   is replaced (its inode changes), when the dashboard's own functions (``dashboards.data``,
   uncached) show a job created that day, and when the last e-mail arrives;
6. the watcher is stopped with SIGTERM (it stops between refreshes, exit code 0) and the bench
   checks that no process of its process group is left.
"""

from __future__ import annotations

import csv
import email
import email.policy
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from billing_reports.cli import progress
from billing_reports.settings import PROJECT_DIR

#: The watcher's defaults in production (billing_reports/watch.py); the bench uses them unless told.
DEFAULT_WATCH_INTERVAL = 30.0
DEFAULT_WATCH_SETTLE = 5.0

_PUBLISHED = re.compile(r"refresh \S+: (published|[A-Z]+;)")


class MailSink:
    """An SMTP server on 127.0.0.1 (aiosmtpd) that records when each message arrives, and its kind."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[tuple[float, str]] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((time.perf_counter(), str(message.get("X-Billing-Kind", "unknown"))))
        return "250 OK"

    def env(self) -> dict[str, str]:
        return {
            "BILLING_SMTP_HOST": "127.0.0.1",
            "BILLING_SMTP_PORT": str(self.port),
            "BILLING_SMTP_TLS": "none",
            "BILLING_MAIL_FROM": "Billing Reports bench <bench@billing.example>",
        }

    def stop(self) -> None:
        self.controller.stop()


def _baseline_outbox(warehouse: Path, outbox: Path, reference: str) -> int:
    """Record every message the published warehouse calls for at ``reference`` as sent (not sending it)."""
    from billing_reports import settings
    from billing_reports.notify.outbox import Outbox
    from billing_reports.notify.planning import plan_messages, read_warehouse

    reference_time = datetime.fromisoformat(reference.replace("Z", "+00:00"))
    snapshot = read_warehouse(warehouse, reference_time, timedelta(hours=settings.approval_reminder_hours()))
    planned, _ = plan_messages(snapshot, reference_time)
    box = Outbox(outbox)
    now = datetime.now(UTC)
    added = 0
    try:
        box.connection.execute("begin")
        for message in planned:
            if box.row(message.message_id) is None:
                box.insert_pending(message, now)
                box.mark_sent(message.message_id, now, "baseline: not sent")
                added += 1
        box.connection.execute("commit")
    finally:
        box.close()
    return added


def _stage_one_day(landing: Path, staging: Path) -> tuple[dict, list[Path]]:
    """One more extract day written into a hard-linked copy of ``landing``; returns its summary and new files."""
    from billing_reports.generate import extend_one_day

    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(landing, staging, copy_function=os.link, ignore=shutil.ignore_patterns(".generated.json"))
    before = {path.relative_to(staging) for path in staging.rglob("*.csv*")}
    summary = extend_one_day(staging)
    new = sorted(
        path.relative_to(staging) for path in staging.rglob("*.csv*") if path.relative_to(staging) not in before
    )
    return summary, new


def _new_job_ids(staged_jobs: Path, known: set[str]) -> set[str]:
    with staged_jobs.open(newline="", encoding="utf-8") as handle:
        return {row["job_id"] for row in csv.DictReader(handle) if row.get("job_id") and row["job_id"] not in known}


class _Lines(threading.Thread):
    """Reads the watcher's stderr; keeps each line with the moment it arrived."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: list[tuple[float, str]] = []

    def run(self) -> None:
        for line in self.stream:
            self.lines.append((time.perf_counter(), line.rstrip("\n")))

    def first(self, pattern: re.Pattern | str, after: float = 0.0) -> float | None:
        for moment, line in list(self.lines):
            if moment >= after and (pattern.search(line) if isinstance(pattern, re.Pattern) else pattern in line):
                return moment
        return None


def _jobs_around(data, day: date) -> set[str]:
    """The job ids the dashboard's Job tracking query lists (uncached, as operations staff) around ``day``."""
    from billing_reports.bench import _clear_caches
    from dashboards import auth

    _clear_caches(data)
    with auth.service_scope("benchmark"):
        # Jobs are filtered by the client's local date: a day either side covers every time zone.
        frame = data.jobs(start=day - timedelta(days=1), end=day + timedelta(days=1))
    return set(frame["job_id"].astype(str))


def _refreshed_at(data):
    """What the dashboard's refresh banner shows as the last refresh (uncached)."""
    from billing_reports.bench import _clear_caches

    _clear_caches(data)
    return data.last_refresh().refreshed_at


def _stop(process: subprocess.Popen, timeout: float) -> dict:
    """SIGTERM the watcher (it stops between refreshes); then check its process group is empty."""
    started = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=timeout)
        forced = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        code = process.wait()
        forced = True
    left = _group_members(process.pid)
    if left:
        os.killpg(process.pid, signal.SIGKILL)
    return {
        "exit_code": code,
        "stop_seconds": time.perf_counter() - started,
        "forced": forced,
        "processes_left": len(left),
    }


def _group_members(pgid: int) -> list[int]:
    """Processes still in the process group ``pgid`` (from /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def one_day(
    landing: Path,
    warehouse: Path,
    staging: Path,
    sink: MailSink,
    *,
    interval: float,
    settle: float,
    timeout: float,
) -> dict:
    """Land one more day under a running watcher; seconds from landing to each sign that it arrived."""
    summary, new_files = _stage_one_day(landing, staging)
    day = date.fromisoformat(summary["day"])
    outbox = warehouse.parent / "bench-outbox.sqlite"
    baselined = _baseline_outbox(warehouse, outbox, summary["as_of"])

    os.environ["BILLING_WAREHOUSE"] = str(warehouse)
    from dashboards import data

    staged_jobs = next((staging / path for path in new_files if path.parts[0] == "jobs"), None)
    new_jobs = _new_job_ids(staged_jobs, _jobs_around(data, day)) if staged_jobs else set()
    banner_before = _refreshed_at(data)

    env = dict(
        os.environ,
        BILLING_RAW_DIR=str(landing),
        BILLING_WAREHOUSE=str(warehouse),
        DBT_TARGET_PATH=str(warehouse.parent / "target"),
        BILLING_OUTBOX=str(outbox),
        **sink.env(),
    )
    command = [sys.executable, "-m", "billing_reports.cli", "refresh", "--watch", "--notify"]
    command += [
        "--interval",
        f"{interval:g}",
        "--settle",
        f"{settle:g}",
        "--vars",
        json.dumps({"as_of": summary["as_of"]}),
    ]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_DIR,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines = _Lines(process.stderr)
    lines.start()
    result: dict = {
        "day": summary["day"],
        "new_files": len(new_files),
        "new_jobs": len(new_jobs),
        "baselined": baselined,
    }
    try:
        deadline = time.perf_counter() + 120
        while lines.first("watching") is None:
            if process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError("the watcher did not start: " + " | ".join(line for _, line in lines.lines[-5:]))
            time.sleep(0.05)
        # Files land at a random moment of the poll cycle: on average half an interval after a poll.
        time.sleep(max(interval / 2, 0.5))
        inode = warehouse.stat().st_ino
        mails_before = len(sink.received)
        t0 = time.perf_counter()
        for path in new_files:
            (landing / path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / path, landing / path)
        published = dashboard = None
        deadline = t0 + timeout
        while time.perf_counter() < deadline and process.poll() is None:
            # The refresh's last line first: it comes after the publish, so the checks below see that.
            finished = lines.first(_PUBLISHED, after=t0)
            now = time.perf_counter()
            if published is None and _inode(warehouse) not in (None, inode):
                published = now
            if (
                published is not None
                and dashboard is None
                and _refreshed_at(data) != banner_before
                and (not new_jobs or new_jobs & _jobs_around(data, day))
            ):
                dashboard = time.perf_counter()
            # Done when the dashboard has the day and the refresh (with notify) has returned; or when the
            # refresh failed, or published something the dashboard still does not show 30 s later.
            if finished is not None and (dashboard is not None or published is None or now - finished > 30):
                break
            time.sleep(0.1 if published is None else 0.25)
        done = lines.first(_PUBLISHED, after=t0)
        mails = sink.received[mails_before:]
        kinds: dict[str, int] = {}
        for _, kind in mails:
            kinds[kind] = kinds.get(kind, 0) + 1
        refreshed = lines.first("refreshing:", after=t0)
        outcome_line = next((line for moment, line in lines.lines if moment >= t0 and _PUBLISHED.search(line)), "")
        result |= {
            "ok": bool(done) and "published" in outcome_line and dashboard is not None,
            "noticed_seconds": _since(t0, lines.first("landing folder changed", after=t0)),
            "refresh_started_seconds": _since(t0, refreshed),
            "published_seconds": _since(t0, published),
            "dashboard_seconds": _since(t0, dashboard),
            "refresh_done_seconds": _since(t0, done),
            "emails": len(mails),
            "emails_by_kind": kinds,
            "last_email_seconds": _since(t0, max((moment for moment, _ in mails), default=None)),
            "outcome": outcome_line.split("] ", 1)[-1],
        }
    finally:
        result["stop"] = _stop(process, timeout=max(timeout, 60))
        lines.join(timeout=5)
        shutil.rmtree(staging, ignore_errors=True)
    result["log_tail"] = [line for _, line in lines.lines[-3:]] if not result.get("ok") else []
    return result


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _since(t0: float, moment: float | None) -> float | None:
    return None if moment is None else moment - t0


def watch_latency(
    landing: Path,
    warehouse: Path,
    staging: Path,
    days: int,
    *,
    interval: float = DEFAULT_WATCH_INTERVAL,
    settle: float = DEFAULT_WATCH_SETTLE,
    timeout: float = 1800.0,
) -> dict:
    """``days`` days landed one at a time under ``refresh --watch``; medians of the latencies."""
    sink = MailSink()
    runs = []
    try:
        for number in range(max(days, 1)):
            run = one_day(landing, warehouse, staging, sink, interval=interval, settle=settle, timeout=timeout)
            runs.append(run)
            progress(
                f"watch latency {number + 1}/{days}: dashboard {_fmt(run.get('dashboard_seconds'))}, "
                f"e-mails {run.get('emails')} (last {_fmt(run.get('last_email_seconds'))}) after the files landed"
            )
            if not run.get("ok"):
                break
    finally:
        sink.stop()

    def median(key: str) -> float | None:
        values = [run[key] for run in runs if run.get(key) is not None]
        return statistics.median(values) if values else None

    return {
        "interval_seconds": interval,
        "settle_seconds": settle,
        "ok": bool(runs) and all(run.get("ok") for run in runs),
        "runs": runs,
        "refresh_started_seconds": median("refresh_started_seconds"),
        "published_seconds": median("published_seconds"),
        "dashboard_seconds": median("dashboard_seconds"),
        "refresh_done_seconds": median("refresh_done_seconds"),
        "last_email_seconds": median("last_email_seconds"),
        "stopped_cleanly": all(
            run["stop"]["exit_code"] == 0 and not run["stop"]["forced"] and run["stop"]["processes_left"] == 0
            for run in runs
        ),
    }


def _fmt(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f}s"
