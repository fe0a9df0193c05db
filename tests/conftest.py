"""Shared fixtures: the hand-made landing folder built once into a warehouse by dbt."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.handmade import AS_OF, CAD_TO_USD_RATE, write_handmade_landing

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def build_handmade(root: Path, raw: Path, command: str = "build", warehouse: Path | None = None, extra_args=()):
    """`dbt <command>` of the landing folder ``raw`` into ``root/billing.duckdb`` (or ``warehouse``),
    as of 2026-03-15 12:00Z with a 0.75 CAD rate; returns dbt's result."""
    from billing_reports.dbt_runner import run_dbt

    return run_dbt(
        command,
        raw_dir=raw,
        warehouse=warehouse or root / "billing.duckdb",
        dbt_vars={"as_of": AS_OF, "cad_to_usd_rate": CAD_TO_USD_RATE},
        extra_args=extra_args,
        quiet=True,
        target_path=root / "target",
    )


@pytest.fixture(scope="session")
def handmade_warehouse(tmp_path_factory) -> Path:
    """`dbt build` of the hand-made landing folder, as of 2026-03-15 12:00Z with a 0.75 CAD rate."""
    root = tmp_path_factory.mktemp("handmade")
    result = build_handmade(root, write_handmade_landing(root / "raw"))
    assert result.success, "\n".join(result.failures)
    return root / "billing.duckdb"


@pytest.fixture(scope="session")
def query(handmade_warehouse):
    """Run SQL against the hand-made warehouse (read-only) and return the rows as tuples."""

    def run(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(handmade_warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    return run
