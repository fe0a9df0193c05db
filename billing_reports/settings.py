"""Settings shared by every command: the landing folder, the warehouse and the engine (contract section 1)."""

from __future__ import annotations

import os
from pathlib import Path

#: The project root: where dbt_project.yml and profiles.yml live.
PROJECT_DIR = Path(__file__).resolve().parent.parent

DEFAULT_RAW_DIR = "data/raw"
DEFAULT_WAREHOUSE = "warehouse/billing.duckdb"
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


def _resolve(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_DIR / path)


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
