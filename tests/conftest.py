"""Shared fixtures: the hand-made landing folder built once into a warehouse by dbt."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.handmade import AS_OF, CAD_TO_USD_RATE, write_handmade_landing

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def build_handmade(
    root: Path,
    raw: Path,
    command: str = "build",
    warehouse: Path | None = None,
    extra_args=(),
    engine: str | None = None,
):
    """`dbt <command>` of the landing folder ``raw`` into ``root/billing.duckdb`` (or ``warehouse``),
    as of 2026-03-15 12:00Z with a 0.75 CAD rate, on ``engine`` (default: BILLING_ENGINE, else
    DuckDB); returns dbt's result."""
    from billing_reports.dbt_runner import run_dbt

    return run_dbt(
        command,
        raw_dir=raw,
        warehouse=warehouse or root / "billing.duckdb",
        dbt_vars={"as_of": AS_OF, "cad_to_usd_rate": CAD_TO_USD_RATE},
        extra_args=extra_args,
        quiet=True,
        target_path=root / "target",
        engine=engine,
    )


@pytest.fixture(scope="session")
def handmade_build(tmp_path_factory):
    """`dbt build` of the hand-made landing folder on an engine, as of 2026-03-15 12:00Z with a 0.75 CAD rate.

    Returns ``build(engine) -> warehouse file``; each engine builds once per session. On Spark
    the build's Parquet tables are copied into the DuckDB file (billing_reports.spark_warehouse).
    """
    built: dict[str, Path] = {}

    def build(engine: str) -> Path:
        if engine not in built:
            root = tmp_path_factory.mktemp(f"handmade-{engine}")
            result = build_handmade(root, write_handmade_landing(root / "raw"), engine=engine)
            assert result.success, "\n".join(result.failures)
            built[engine] = root / "billing.duckdb"
        return built[engine]

    return build


@pytest.fixture(scope="session")
def handmade_warehouse(handmade_build) -> Path:
    """The hand-made landing folder built on DuckDB (the default engine)."""
    return handmade_build("duckdb")


def read_only_query(warehouse: Path):
    """``run(sql, params) -> rows as tuples`` against a warehouse file, opened read-only."""

    def run(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    return run


@pytest.fixture(scope="session")
def query(handmade_warehouse):
    """Run SQL against the hand-made warehouse (read-only) and return the rows as tuples."""
    return read_only_query(handmade_warehouse)


@pytest.fixture(scope="session", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def query_on_each_engine(request, handmade_build):
    """``query`` against the hand-made warehouse built on each engine in turn (the report tests' parity).

    A report test module takes it as its ``query`` (``query = query_on_each_engine`` fixture), so
    that its hand-worked figures are checked against the DuckDB build and the Spark build alike.
    """
    return read_only_query(handmade_build(request.param))
