"""Settings shared by every command: the landing folder, the warehouse and the engine (contract section 1)."""

from __future__ import annotations

import math
import os
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
    """A setting has a value the project cannot use (the message names the variable and the choices)."""


def raw_dir() -> Path:
    """The landing folder: env ``BILLING_RAW_DIR``, default ``data/raw`` (relative to the project)."""
    return _resolve(os.environ.get("BILLING_RAW_DIR", DEFAULT_RAW_DIR))


def warehouse_path() -> Path:
    """The published DuckDB file: env ``BILLING_WAREHOUSE``, default ``warehouse/billing.duckdb``."""
    return _resolve(os.environ.get("BILLING_WAREHOUSE", DEFAULT_WAREHOUSE))


def outbound_dir() -> Path:
    """Where portal decisions (approvals, pulls) are written for the billing system, as landing files:
    env ``BILLING_OUTBOUND_DIR``, default ``warehouse/outbound`` (contract section 1)."""
    return _resolve(os.environ.get("BILLING_OUTBOUND_DIR") or DEFAULT_OUTBOUND_DIR)


def beside_warehouse(env_name: str, file_name: str, warehouse: Path | None = None) -> Path:
    """A state file of the warehouse (outbox, decision log): env ``env_name`` when set, else
    ``file_name`` in the warehouse file's folder, so that it outlives every published file."""
    value = os.environ.get(env_name)
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
    value = os.environ.get("BILLING_SUPPORT_URL", "").strip()
    return value if value.lower().startswith(("https://", "http://")) else None


def support_email() -> str:
    """The customer-support e-mail address: env ``BILLING_SUPPORT_EMAIL``, default ``support@example.com``.

    Used for "submit a ticket" (a ``mailto:`` with subject and body) when no ``BILLING_SUPPORT_URL`` is set.
    """
    return os.environ.get("BILLING_SUPPORT_EMAIL", "").strip() or DEFAULT_SUPPORT_EMAIL


def engine() -> str:
    """The engine dbt builds on: env ``BILLING_ENGINE``, ``duckdb`` (default) or ``spark`` (docs/scale-out.md).

    The one place the choice is read: ``dbt_runner`` passes it on to dbt (profiles.yml picks the
    target from it) and a Spark build's tables are then copied into the DuckDB warehouse file.
    """
    value = os.environ.get("BILLING_ENGINE", "").strip().lower() or DEFAULT_ENGINE
    if value not in ENGINES:
        raise SettingsError(f"BILLING_ENGINE must be one of {', '.join(ENGINES)}, got {value!r}")
    return value


def spark_dir(warehouse: Path) -> Path:
    """Where a Spark build of ``warehouse`` writes its Parquet tables: the folder ``<warehouse>.spark`` beside it."""
    return warehouse.with_name(warehouse.name + ".spark")


# --------------------------------------------------------------------------------------------
# The dashboard's settings (dashboards.data, dashboards.auth; docs/dashboard.md)
# --------------------------------------------------------------------------------------------

DEFAULT_DASHBOARD_CACHE_SECONDS = 60
DEFAULT_STALE_AFTER_HOURS = 26.0
DEFAULT_SESSION_MINUTES = 480.0


def _dashboard_number(name: str, default: float, unit: str, *, above_zero: bool = False) -> float:
    """The variable ``name`` as a finite number of ``unit`` that is 0 or more (above 0 with
    ``above_zero``); ``default`` when it is unset or empty; else a ``SettingsError`` naming the
    variable, the value and what is accepted."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    least = "above 0" if above_zero else "0 or more"
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (above_zero and value == 0):
        raise SettingsError(f"{name} must be a number of {unit}, {least}; got {text!r}")
    return value


def dashboard_cache_seconds() -> int:
    """Seconds the dashboard keeps a query result: env ``BILLING_DASHBOARD_CACHE_SECONDS``, default
    60 (0: not kept)."""
    return int(_dashboard_number("BILLING_DASHBOARD_CACHE_SECONDS", DEFAULT_DASHBOARD_CACHE_SECONDS, "seconds"))


def stale_after_hours() -> float:
    """Hours after the last refresh at which the dashboard calls its data stale: env
    ``BILLING_STALE_AFTER_HOURS``, default 26."""
    return _dashboard_number("BILLING_STALE_AFTER_HOURS", DEFAULT_STALE_AFTER_HOURS, "hours")


def session_minutes() -> float:
    """How long a dashboard sign-in lasts: env ``BILLING_SESSION_MINUTES``, default 480 (above 0)."""
    return _dashboard_number("BILLING_SESSION_MINUTES", DEFAULT_SESSION_MINUTES, "minutes", above_zero=True)


#: The settings the dashboard itself reads: ``serve`` reads them before starting Streamlit and the
#: app at the start of every run, so that a bad value stops it with its message, not on a page.
DASHBOARD_OWN_SETTINGS = (dashboard_cache_seconds, stale_after_hours, session_minutes)
