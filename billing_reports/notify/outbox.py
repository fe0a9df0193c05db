"""The outbox of notify: message identifiers, times, and the SQLite file that makes each message go once."""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billing_reports import fileio, settings

if TYPE_CHECKING:
    from billing_reports.notify.planning import PlannedMessage

KINDS = ("job_activity", "overdue_file", "approval_reminder", "approval_decision")
KIND_PREFIXES = {
    "job_activity": "job-activity",
    "overdue_file": "overdue-file",
    "approval_reminder": "approval-reminder",
    "approval_decision": "approval-decision",
}
STATES = ("pending", "sending", "sent", "failed", "dead")

MESSAGE_ID_DOMAIN = "billing-reports.local"
RECOVERED_NOTE = "recovered after crash: assumed delivered"


class NotifyLocked(Exception):
    """Another notify run holds the outbox."""


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


def default_outbox_path(warehouse: Path | None = None) -> Path:
    """env ``BILLING_OUTBOX``; else ``outbox.sqlite`` beside the warehouse file (``warehouse/outbox.sqlite``)."""
    return settings.beside_warehouse("BILLING_OUTBOX", "outbox.sqlite", warehouse)


def default_eml_dir(warehouse: Path | None = None) -> Path:
    """``outbox-eml/`` beside the warehouse file (``warehouse/outbox-eml/``)."""
    return (warehouse or settings.warehouse_path()).parent / "outbox-eml"


# --------------------------------------------------------------------------------------------
# Time and identifiers
# --------------------------------------------------------------------------------------------


def _utc(value: datetime | str | None) -> datetime | None:
    """A timezone-aware UTC datetime; naive values (DuckDB TIMESTAMP) are UTC by the contract."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _naive_utc(value: datetime) -> datetime:
    return _utc(value).replace(tzinfo=None)


def _fmt_utc(value: datetime | None) -> str:
    return "" if value is None else _utc(value).strftime("%Y-%m-%d %H:%M UTC")


def _fmt_local(value: datetime | None, timezone: str | None) -> str | None:
    """``2026-03-15 07:00 EDT`` in the client's zone, or None when the zone is unknown."""
    if value is None or not timezone:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return _utc(value).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _fmt_both(value: datetime | None, timezone: str | None) -> str:
    local = _fmt_local(value, timezone)
    return f"{_fmt_utc(value)} ({local}, {timezone})" if local else _fmt_utc(value)


def _token(value: Any) -> str:
    """An id made safe for a Message-ID and a file name; unsafe ids keep a hash, so they stay distinct."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", text):
        return text
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "x"
    return f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def normalize_email(address: str | None) -> str | None:
    address = (address or "").strip()
    if not address or "@" not in address or any(char in address for char in "\r\n<>,; "):
        return None
    return address.lower()


def message_id(kind: str, *parts: Any, recipient: str) -> str:
    """Deterministic: ``<job-activity.C1.J1.<sha256(recipient)[:12]>@billing-reports.local>``."""
    digest = hashlib.sha256(recipient.encode()).hexdigest()[:12]
    tokens = ".".join(_token(part) for part in parts)
    return f"<{KIND_PREFIXES[kind]}.{tokens}.{digest}@{MESSAGE_ID_DOMAIN}>"


def _one_line(text: Any) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


# --------------------------------------------------------------------------------------------
# The outbox
# --------------------------------------------------------------------------------------------

OUTBOX_SCHEMA = """
create table if not exists outbox (
    message_id      text primary key,
    kind            text not null,
    recipient       text not null,
    subject         text not null,
    state           text not null check (state in ('pending', 'sending', 'sent', 'failed', 'dead')),
    attempts        integer not null default 0,
    last_error      text,
    next_attempt_at text,
    created_at      text not null,
    sent_at         text
);
create index if not exists outbox_state on outbox (state);
"""


class Outbox:
    """The outbox table; every method commits at once (autocommit), so each step is durable."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if read_only:
            self.connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        else:
            fileio.private_dir(self.path.parent)
            if not self.path.exists():
                self.path.touch(mode=fileio.PRIVATE_FILE_MODE)  # SQLite would create it with the umask's mode
            self.connection = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.connection.executescript(OUTBOX_SCHEMA)
        self.connection.row_factory = sqlite3.Row

    def close(self) -> None:
        self.connection.close()

    def rows(self) -> dict[str, sqlite3.Row]:
        return {row["message_id"]: row for row in self.connection.execute("select * from outbox")}

    def row(self, message_id: str) -> sqlite3.Row | None:
        return self.connection.execute("select * from outbox where message_id = ?", [message_id]).fetchone()

    def insert_pending(self, message: PlannedMessage, now: datetime) -> None:
        self.connection.execute(
            "insert or ignore into outbox (message_id, kind, recipient, subject, state, attempts, created_at) "
            "values (?, ?, ?, ?, 'pending', 0, ?)",
            [message.message_id, message.kind, message.recipient, message.subject, _iso(now)],
        )

    def claim(self, message_id: str, now: datetime) -> bool:
        """pending/failed -> sending, attempts + 1; False when another run got there first."""
        cursor = self.connection.execute(
            "update outbox set state = 'sending', attempts = attempts + 1, next_attempt_at = null "
            "where message_id = ? and state in ('pending', 'failed')",
            [message_id],
        )
        return cursor.rowcount == 1

    def mark_sent(self, message_id: str, now: datetime, note: str | None = None) -> None:
        self.connection.execute(
            "update outbox set state = 'sent', sent_at = ?, last_error = ?, next_attempt_at = null "
            "where message_id = ?",
            [_iso(now), note, message_id],
        )

    def mark_failed(
        self,
        message_id: str,
        now: datetime,
        error: str,
        *,
        retry_base: timedelta,
        max_attempts: int,
        count_attempt: bool = False,
    ) -> sqlite3.Row:
        """failed with next_attempt_at = now + base x 2^(attempts-1), or dead after max_attempts."""
        if count_attempt:  # a failure before the message was claimed (it could not be built)
            self.connection.execute("update outbox set attempts = attempts + 1 where message_id = ?", [message_id])
        attempts = self.row(message_id)["attempts"]
        if attempts >= max_attempts:
            self.connection.execute(
                "update outbox set state = 'dead', last_error = ?, next_attempt_at = null where message_id = ?",
                [error, message_id],
            )
        else:
            next_attempt = now + retry_base * (2 ** max(attempts - 1, 0))
            self.connection.execute(
                "update outbox set state = 'failed', last_error = ?, next_attempt_at = ? where message_id = ?",
                [error, _iso(next_attempt), message_id],
            )
        return self.row(message_id)

    def recover_sending(self, now: datetime) -> list[sqlite3.Row]:
        """Rows left ``sending`` by a run that died mid-send: possibly delivered, so recorded as sent."""
        rows = self.connection.execute("select * from outbox where state = 'sending'").fetchall()
        for row in rows:
            self.connection.execute(
                "update outbox set state = 'sent', sent_at = ?, last_error = ? where message_id = ? "
                "and state = 'sending'",
                [_iso(now), RECOVERED_NOTE, row["message_id"]],
            )
        return rows

    def requeue_dead(self) -> int:
        cursor = self.connection.execute(
            "update outbox set state = 'failed', attempts = 0, next_attempt_at = null where state = 'dead'"
        )
        return cursor.rowcount


@contextlib.contextmanager
def outbox_lock(outbox_path: Path, timeout: float) -> Iterator[None]:
    """``<outbox>.lock`` (flock) for the whole run, so that two runs never work the same rows."""
    lock_file = fileio.lock_path(outbox_path)
    try:
        with fileio.exclusive_lock(lock_file, wait_seconds=timeout):
            yield
    except fileio.LockBusy as error:
        raise NotifyLocked(f"another notify run holds {lock_file}") from error
