"""Settings shared by every command: the landing folder, the warehouse and the engine (contract section 1).

The one module that reads the environment for settings (README.md, "Settings", lists them all).
One policy for every variable: unset or empty means the default; a value that is set but cannot
be used raises ``SettingsError`` naming the variable, the value and what is accepted. Every
command turns it into a one-line message and exit code 2 (``billing_reports.cli``).
"""

from __future__ import annotations

import email.utils
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: The project root: where dbt_project.yml and profiles.yml live.
PROJECT_DIR = Path(__file__).resolve().parent.parent

DEFAULT_RAW_DIR = "data/raw"
DEFAULT_WAREHOUSE = "warehouse/billing.duckdb"
DEFAULT_OUTBOUND_DIR = "warehouse/outbound"
DEFAULT_ENGINE = "duckdb"
#: The engines a build can run on; serving always reads a published DuckDB file.
ENGINES = ("duckdb", "spark")


class SettingsError(ValueError):
    """A setting has a value the project cannot use (the message names the variable, the value and the choices)."""


def _text(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The variable ``name`` stripped of surrounding spaces; None when it is unset or empty."""
    value = (os.environ if env is None else env).get(name, "").strip()
    return value or None


def _invalid(name: str, accepted: str, value: str) -> SettingsError:
    return SettingsError(f"{name} must be {accepted}; got {value!r}")


def raw_dir() -> Path:
    """The landing folder: env ``BILLING_RAW_DIR``, default ``data/raw`` (relative to the project)."""
    return _resolve(_text("BILLING_RAW_DIR") or DEFAULT_RAW_DIR)


def warehouse_path() -> Path:
    """The published DuckDB file: env ``BILLING_WAREHOUSE``, default ``warehouse/billing.duckdb``."""
    return _resolve(_text("BILLING_WAREHOUSE") or DEFAULT_WAREHOUSE)


def outbound_dir() -> Path:
    """Where portal decisions (approvals, pulls) are written for the billing system, as landing files:
    env ``BILLING_OUTBOUND_DIR``, default ``warehouse/outbound`` (contract section 1)."""
    return _resolve(_text("BILLING_OUTBOUND_DIR") or DEFAULT_OUTBOUND_DIR)


def beside_warehouse(env_name: str, file_name: str, warehouse: Path | None = None) -> Path:
    """A state file of the warehouse (outbox, decision log): env ``env_name`` when set, else
    ``file_name`` in the warehouse file's folder, so that it outlives every published file."""
    value = _text(env_name)
    if value:
        return _resolve(value)
    return (warehouse or warehouse_path()).parent / file_name


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_DIR / path)


#: Where "submit a ticket" goes when neither support setting is set (docs/dashboard.md).
DEFAULT_SUPPORT_EMAIL = "support@example.com"


def support_url() -> str | None:
    """The customer-support ticket form: env ``BILLING_SUPPORT_URL`` (http or https), else None.

    A ticket link adds ``subject`` and ``description`` query parameters to it.
    """
    value = _text("BILLING_SUPPORT_URL")
    if value and not value.lower().startswith(("https://", "http://")):
        raise _invalid("BILLING_SUPPORT_URL", "an http:// or https:// address", value)
    return value


def support_email() -> str:
    """The customer-support e-mail address: env ``BILLING_SUPPORT_EMAIL``, default ``support@example.com``.

    Used for "submit a ticket" (a ``mailto:`` with subject and body) when no ``BILLING_SUPPORT_URL`` is set.
    """
    value = _text("BILLING_SUPPORT_EMAIL")
    if value and not _is_address(value):
        raise _invalid("BILLING_SUPPORT_EMAIL", "an e-mail address", value)
    return value or DEFAULT_SUPPORT_EMAIL


def engine() -> str:
    """The engine dbt builds on: env ``BILLING_ENGINE``, ``duckdb`` (default) or ``spark`` (docs/scale-out.md).

    The one place the choice is read: ``dbt_runner`` passes it on to dbt (profiles.yml picks the
    target from it) and a Spark build's tables are then copied into the DuckDB warehouse file.
    """
    value = (_text("BILLING_ENGINE") or DEFAULT_ENGINE).lower()
    if value not in ENGINES:
        raise _invalid("BILLING_ENGINE", f"one of {', '.join(ENGINES)}", value)
    return value


def spark_dir(warehouse: Path) -> Path:
    """Where a Spark build of ``warehouse`` writes its Parquet tables: the folder ``<warehouse>.spark`` beside it."""
    return warehouse.with_name(warehouse.name + ".spark")


# ============================================================================================
# The commands' settings (billing_reports/): users, sign-in, export, notify and its SMTP server
# ============================================================================================

DEFAULT_USERS_FILE = "warehouse/users.toml"
DEFAULT_EXPORT_DIR = "warehouse/export"
DEFAULT_APPROVAL_REMINDER_HOURS = 24.0
DEFAULT_MAIL_FROM = "Billing Reports <billing-reports@billing-reports.local>"
DEFAULT_SMTP_TIMEOUT = 30.0
#: SMTP security modes and the port each uses by default.
TLS_MODES = {"none": 25, "starttls": 587, "ssl": 465}
AUTH_CHOICES = ("on", "off")


def number(name: str, default: float, unit: str, *, above_zero: bool = False, env: Mapping[str, str] | None = None):
    """The variable ``name`` as a finite number of ``unit`` that is 0 or more (above 0 with
    ``above_zero``); ``default`` when it is unset or empty."""
    text = _text(name, env)
    if text is None:
        return default
    least = "above 0" if above_zero else "0 or more"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (above_zero and value == 0):
        raise _invalid(name, f"a number of {unit}, {least}", text)
    return value


def users_file() -> Path:
    """The dashboard's users file: env ``BILLING_USERS_FILE``, default ``warehouse/users.toml`` (relative to the project)."""
    return _resolve(_text("BILLING_USERS_FILE") or DEFAULT_USERS_FILE)


def auth_disabled() -> bool:
    """``BILLING_AUTH=off``: no sign-in, every client (a local demo only); ``on`` (the default) signs in."""
    value = (_text("BILLING_AUTH") or "on").lower()
    if value not in AUTH_CHOICES:
        raise _invalid("BILLING_AUTH", "on or off", value)
    return value == "off"


def export_dir(warehouse: Path | None = None) -> Path:
    """The Parquet export folder: env ``BILLING_EXPORT_DIR``; else ``export/`` beside ``warehouse``
    when one is given (a refresh exports beside what it published), else ``warehouse/export``."""
    value = _text("BILLING_EXPORT_DIR")
    if value:
        return _resolve(value)
    return warehouse.parent / "export" if warehouse else _resolve(DEFAULT_EXPORT_DIR)


def approval_reminder_hours() -> float:
    """Hours a job awaits customer approval before a reminder: env ``BILLING_APPROVAL_REMINDER_HOURS``, default 24."""
    return number("BILLING_APPROVAL_REMINDER_HOURS", DEFAULT_APPROVAL_REMINDER_HOURS, "hours")


def mail_from(env: Mapping[str, str] | None = None) -> str:
    """The ``From:`` of every e-mail: env ``BILLING_MAIL_FROM``, default ``Billing Reports <billing-reports@…>``."""
    value = _text("BILLING_MAIL_FROM", env)
    if value and not _is_address(value):
        raise _invalid("BILLING_MAIL_FROM", "an e-mail address, e.g. 'Billing <billing@example.com>'", value)
    return value or DEFAULT_MAIL_FROM


def _is_address(value: str) -> bool:
    return "@" in email.utils.parseaddr(value)[1]


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how notify sends. The password is kept out of ``repr`` and never printed."""

    host: str
    port: int
    tls: str = "none"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    mail_from: str = DEFAULT_MAIL_FROM
    timeout: float = DEFAULT_SMTP_TIMEOUT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings:
        """``BILLING_SMTP_HOST`` (required), ``_PORT``, ``_TLS``, ``_USER``, ``_PASSWORD``, ``_TIMEOUT`` and ``BILLING_MAIL_FROM``."""
        env = os.environ if env is None else env
        host = _text("BILLING_SMTP_HOST", env)
        if not host:
            raise SettingsError(
                "BILLING_SMTP_HOST is not set: set BILLING_SMTP_HOST (and BILLING_SMTP_PORT, BILLING_SMTP_TLS, "
                "BILLING_MAIL_FROM) to send, or use --dry-run to write .eml files instead"
            )
        tls = (_text("BILLING_SMTP_TLS", env) or "none").lower()
        if tls not in TLS_MODES:
            raise _invalid("BILLING_SMTP_TLS", f"one of {', '.join(TLS_MODES)}", tls)
        port_text = _text("BILLING_SMTP_PORT", env)
        port = TLS_MODES[tls]
        if port_text is not None:
            port = int(port_text) if port_text.isdigit() else 0
            if not 1 <= port <= 65535:
                raise _invalid("BILLING_SMTP_PORT", "a port number from 1 to 65535", port_text)
        return cls(
            host=host,
            port=port,
            tls=tls,
            user=_text("BILLING_SMTP_USER", env),
            password=env.get("BILLING_SMTP_PASSWORD") or None,
            mail_from=mail_from(env),
            timeout=number("BILLING_SMTP_TIMEOUT", DEFAULT_SMTP_TIMEOUT, "seconds", above_zero=True, env=env),
        )


# --------------------------------------------------------------------------------------------
# The dashboard's settings (dashboards.data, dashboards.auth; docs/dashboard.md)
# --------------------------------------------------------------------------------------------

DEFAULT_DASHBOARD_CACHE_SECONDS = 60
DEFAULT_STALE_AFTER_HOURS = 26.0
DEFAULT_SESSION_MINUTES = 480.0


def dashboard_cache_seconds() -> int:
    """Seconds the dashboard keeps a query result: env ``BILLING_DASHBOARD_CACHE_SECONDS``, default
    60 (0: not kept)."""
    return int(number("BILLING_DASHBOARD_CACHE_SECONDS", DEFAULT_DASHBOARD_CACHE_SECONDS, "seconds"))


def stale_after_hours() -> float:
    """Hours after the last refresh at which the dashboard calls its data stale: env
    ``BILLING_STALE_AFTER_HOURS``, default 26."""
    return number("BILLING_STALE_AFTER_HOURS", DEFAULT_STALE_AFTER_HOURS, "hours")


def session_minutes() -> float:
    """How long a dashboard sign-in lasts: env ``BILLING_SESSION_MINUTES``, default 480 (above 0)."""
    return number("BILLING_SESSION_MINUTES", DEFAULT_SESSION_MINUTES, "minutes", above_zero=True)


#: The settings the dashboard itself reads: the app reads them at the start of every run, so that
#: a bad value stops it with its message, not on a page.
DASHBOARD_OWN_SETTINGS = (dashboard_cache_seconds, stale_after_hours, session_minutes)


#: What ``serve`` checks before it starts the dashboard, so that a bad value stops it with exit
#: code 2 instead of failing on a page.
DASHBOARD_SETTINGS: tuple[Callable[[], object], ...] = (
    warehouse_path,
    users_file,
    auth_disabled,
    support_url,
    support_email,
    *DASHBOARD_OWN_SETTINGS,
)


def check(readers: tuple[Callable[[], object], ...]) -> None:
    """Read every setting of ``readers``; the first bad one raises its ``SettingsError``."""
    for read in readers:
        read()


# ============================================================================================
# End of the commands' settings
# ============================================================================================
