"""The warehouse lock, the atomic publish of a built file, and rollback to the previous one."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

from billing_reports import fileio
from billing_reports.cli import (
    UserError,
)
from billing_reports.refresh.runlog import _now, append_run_log, new_run_id


class Locked(Exception):
    """Another refresh (or rollback) holds the warehouse lock."""


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
