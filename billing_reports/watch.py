"""``billing-reports refresh --watch``: a resident refresher that publishes soon after files land.

The help page promises that an uploaded file is picked up within about 15 minutes and that the
Job Activity Report is e-mailed once the job has completed. A scheduler that runs a refresh every
hour serves neither well; this loop does:

1. every ``--interval`` seconds it lists the landing folder (name, size and modification time of
   each landing file) — cheap, no file is read;
2. when the list differs from what the published warehouse was built from (``plan_build``: new
   files, or a change that needs a full build), it waits until the list has stayed the same for
   ``--settle`` seconds, so that a file still being copied is not taken half-written; it looks
   again as soon as that time is up (``next_wait``), not a whole interval later;
3. then it runs the ordinary refresh (``run_refresh``: header checks, build — incremental when it
   can be —, GX, publish; and notify with ``--notify``). dbt stays warm between runs: the build
   file has a fixed name and the target folder is kept, so dbt reuses its parse of the project;
4. a refresh that fails is not retried until the landing folder changes again (no hot loop on a
   bad file); a refresh held off by another one's lock (exit code 3 for a plain refresh) is
   tried again at the next poll.

SIGTERM or Ctrl-C stop the loop between refreshes (or interrupt the running one, which then
publishes nothing and removes its half-built file, as a plain refresh does). See docs/refresh.md
for running it under systemd, and for cron as the alternative.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from billing_reports.cli import progress

DEFAULT_INTERVAL_SECONDS = 30.0
DEFAULT_SETTLE_SECONDS = 5.0


def landing_listing(raw_dir: Path) -> tuple[tuple[str, str, int, int], ...]:
    """Every landing file as (table, name, size, mtime_ns), in build order: what a refresh would see."""
    from billing_reports import validate

    listing = []
    for table in validate.load_table_specs():
        for path in validate.landing_files(raw_dir, table):
            try:
                status = path.stat()
            except FileNotFoundError:  # moved away (quarantined) while listing
                continue
            listing.append((table, path.name, status.st_size, status.st_mtime_ns))
    return tuple(listing)


@dataclass
class WatchState:
    """What the loop remembers between polls."""

    #: The listing a failed refresh was run on: not retried until the folder changes.
    failed_listing: tuple | None = None
    #: The listing seen at the previous poll and since when, to wait for files to settle.
    pending_listing: tuple | None = None
    pending_since: float = 0.0
    refreshes: int = 0


def needs_refresh(options) -> tuple[bool, str]:
    """Whether the landing folder holds something the published warehouse was not built from."""
    from billing_reports.refresh.plan import plan_build

    plan = plan_build(options)
    if plan.mode == "incremental" and plan.new_files == 0:
        return False, "the published warehouse is up to date with the landing folder"
    return True, plan.reason


def poll_once(
    options,
    state: WatchState,
    *,
    settle_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    say: Callable[[str], None] = progress,
):
    """One poll: refresh when the folder changed and has settled. Returns the refresh outcome, or None."""
    from billing_reports.refresh import run_refresh
    from billing_reports.refresh.publish import Locked

    listing = landing_listing(options.raw_dir)
    if listing == state.failed_listing:
        return None
    due, reason = needs_refresh(options)
    if not due:
        state.pending_listing = None
        return None
    now = clock()
    if listing != state.pending_listing:
        state.pending_listing, state.pending_since = listing, now
        if settle_seconds > 0:
            say(f"landing folder changed ({reason}); refreshing once it has been still for {settle_seconds:g} s")
            return None
    if now - state.pending_since < settle_seconds:
        return None
    say(f"refreshing: {reason}")
    try:
        outcome = run_refresh(replace(options, run_id=None))
    except Locked as error:
        say(f"another refresh holds the lock; trying again at the next poll ({error})")
        return None
    state.refreshes += 1
    state.pending_listing = None
    state.failed_listing = None if outcome.outcome == "published" else listing
    say(outcome.summary().splitlines()[0])
    if state.failed_listing is not None:
        say("the refresh failed; it is tried again when the landing folder changes (see the log above)")
    return outcome


def next_wait(state: WatchState, *, interval_seconds: float, settle_seconds: float, now: float) -> float:
    """Seconds until the next poll: the interval, or less while files are settling.

    A change seen at one poll is refreshed as soon as the folder has been still for ``settle_seconds``,
    not a whole interval later: with the default 30 s interval and 5 s settle, files are picked up
    5 s after the poll that saw them, not 30 s."""
    if state.pending_listing is None:
        return interval_seconds
    remaining = state.pending_since + settle_seconds - now
    return min(interval_seconds, max(remaining, 0.0))


def watch(
    options,
    *,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    max_refreshes: int | None = None,
) -> int:
    """Poll and refresh until SIGTERM / Ctrl-C (or ``max_refreshes`` refreshes). Returns the exit code."""
    from billing_reports.cli import EXIT_INTERRUPTED, EXIT_OK

    stopping = {"now": False}

    def stop(signum, frame):
        stopping["now"] = True

    previous = signal.signal(signal.SIGTERM, stop)
    state = WatchState()
    progress(
        f"watching {options.raw_dir} every {interval_seconds:g} s (settle {settle_seconds:g} s); "
        f"publishing to {options.warehouse}. Stop with Ctrl-C or SIGTERM."
    )
    try:
        while not stopping["now"]:
            poll_once(options, state, settle_seconds=settle_seconds)
            if max_refreshes is not None and state.refreshes >= max_refreshes:
                break
            deadline = time.monotonic() + next_wait(
                state, interval_seconds=interval_seconds, settle_seconds=settle_seconds, now=time.monotonic()
            )
            while not stopping["now"] and time.monotonic() < deadline:
                time.sleep(min(0.2, interval_seconds))
    except KeyboardInterrupt:
        progress(f"watch interrupted after {state.refreshes} refresh(es)")
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    progress(f"watch stopped after {state.refreshes} refresh(es)")
    return EXIT_OK
