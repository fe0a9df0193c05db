"""Files written safely, once: atomic writes, fsync, advisory locks and private folders.

Every command that writes a file another process may read (the users file, the validation
report, the run log, the warehouse, the Parquet export, the outbox, the portal's outbound
decision files) goes through here, so that the rules live in one place:

- a reader never sees half a file: write a temporary file in the same folder, ``fsync`` it,
  ``os.replace`` it over the target, then ``fsync`` the folder (``atomic_write_bytes``);
- a lock is an ``flock`` on ``<name>.lock``, which the kernel releases when the holder dies, so a
  stale lock file never blocks anyone (``exclusive_lock``);
- what holds client data is created private to the service account (``PRIVATE_FILE_MODE``,
  ``PRIVATE_DIR_MODE``; docs/security.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: Files that hold client data, credentials or logs: read and written by the service account only.
PRIVATE_FILE_MODE = 0o600
#: Folders that hold such files.
PRIVATE_DIR_MODE = 0o700
#: The umask of every ``billing-reports`` command: what it (and dbt, DuckDB, SQLite under it)
#: creates is private, file 0600 and folder 0700, whatever the login's umask.
PRIVATE_UMASK = 0o077


class LockBusy(Exception):
    """Another process holds the lock; ``holder`` is what it wrote into the lock file, if anything."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by {holder or 'another process'}")
        self.path = path
        self.holder = holder


def lock_path(path: Path) -> Path:
    """The lock file that guards ``path``: ``<path>.lock`` beside it."""
    return path.with_name(path.name + ".lock")


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) if needed; a folder this creates is mode 0700."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        with contextlib.suppress(OSError):
            os.chmod(created, PRIVATE_DIR_MODE)
    return path


def use_private_umask() -> int:
    """Make every file and folder this process (and its children) creates private; the old umask."""
    return os.umask(PRIVATE_UMASK)


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable (best effort where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def atomic_write_bytes(path: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> Path:
    """Write ``data`` to ``path`` atomically and durably: temporary file, fsync, rename, fsync folder."""
    path = Path(path)
    private_dir(path.parent)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as output:
            os.fchmod(output.fileno(), mode)
            output.write(data)
            output.flush()
            os.fsync(output.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_directory(path.parent)
    return path


def atomic_write_text(path: Path, text: str, mode: int = PRIVATE_FILE_MODE) -> Path:
    """``atomic_write_bytes`` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"), mode)


def append_line_durably(path: Path, line: str, mode: int = PRIVATE_FILE_MODE) -> None:
    """Append one line (a JSON record of a log) and fsync before returning; a new file gets ``mode``."""
    path = Path(path)
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        os.write(descriptor, line.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def exclusive_lock(
    path: Path,
    *,
    wait_seconds: float | None = 0.0,
    holder: str | None = None,
) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``path`` (a lock file) for the block.

    ``wait_seconds``: 0 = try once, ``None`` = wait as long as it takes, else poll until then.
    ``holder``: written into the lock file while held, so that the loser can say who has it.
    Raises ``LockBusy`` when the lock is not had in time.
    """
    path = Path(path)
    private_dir(path.parent)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        if wait_seconds is None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        held_by = os.pread(descriptor, 500, 0).decode("utf-8", "replace").strip()
                        raise LockBusy(path, held_by) from None
                    time.sleep(0.1)
        if holder is not None:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, (holder.rstrip("\n") + "\n").encode("utf-8"), 0)
        yield path
    finally:
        os.close(descriptor)  # closing the descriptor releases the flock
