"""Copying a Spark build's Parquet tables into the DuckDB warehouse file (billing_reports.spark_warehouse).

No Spark here: the Parquet folders are written with DuckDB in the layout a local Spark build
leaves (``<spark dir>/tables/<schema>.db/<table>/part-*.parquet``).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import duckdb
import pytest

from billing_reports import settings, spark_warehouse


def _write_parquet(folder, sql: str) -> None:
    folder.mkdir(parents=True)
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute(f"copy ({sql}) to '{folder / 'part-00000.parquet'}' (format parquet)")


@pytest.fixture
def spark_build(tmp_path):
    spark_dir = tmp_path / "billing.duckdb.spark"
    tables = spark_dir / "tables"
    # A mart as Spark types it: a widened decimal and an int where the contract says bigint and
    # decimal(38, 2); a timestamp Spark wrote as UTC-adjusted (DuckDB reads it with a zone).
    _write_parquet(
        tables / "marts.db" / "rpt_example",
        "select 'J1' as job_id, cast(12.5 as decimal(28, 2)) as amount, cast(3 as integer) as step_order, "
        "timestamptz '2026-03-02 03:30:00+00' as completed_at",
    )
    _write_parquet(tables / "ops.db" / "rejected_rows", "select 'documents' as source_table, 4 as source_row")
    # A folder without Parquet (an aborted write) is not a table.
    (tables / "ops.db" / "_temporary").mkdir(parents=True)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.billing_reports.rpt_example": {
                        "resource_type": "model",
                        "name": "rpt_example",
                        "alias": "rpt_example",
                        "schema": "marts",
                        "contract": {"enforced": True},
                        "columns": {
                            "job_id": {"data_type": "varchar"},
                            "amount": {"data_type": "decimal(38,2)"},
                            "step_order": {"data_type": "bigint"},
                            "completed_at": {"data_type": "timestamp"},
                        },
                    }
                }
            }
        )
    )
    return spark_dir, manifest


def test_every_table_is_copied_with_its_contract_types(spark_build, tmp_path):
    spark_dir, manifest = spark_build
    warehouse = tmp_path / "billing.duckdb"
    copied = spark_warehouse.copy_into_duckdb(spark_dir, warehouse, manifest_path=manifest)
    assert copied == 2
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        types = connection.execute(
            "select column_name, data_type from duckdb_columns() where table_name = 'rpt_example' order by column_index"
        ).fetchall()
        assert types == [
            ("job_id", "VARCHAR"),
            ("amount", "DECIMAL(38,2)"),
            ("step_order", "BIGINT"),
            ("completed_at", "TIMESTAMP"),
        ]
        # The timestamp is the UTC wall clock, as a DuckDB build stores it.
        assert connection.execute("select * from marts.rpt_example").fetchall() == [
            ("J1", Decimal("12.50"), 3, datetime(2026, 3, 2, 3, 30))
        ]
        assert connection.execute("select * from ops.rejected_rows").fetchall() == [("documents", 4)]


def test_a_spark_folder_without_tables_is_an_error_not_an_empty_warehouse(tmp_path):
    with pytest.raises(FileNotFoundError, match="wrote no Parquet tables"):
        spark_warehouse.copy_into_duckdb(tmp_path / "missing.spark", tmp_path / "billing.duckdb")
    assert not (tmp_path / "billing.duckdb").exists()


def test_engine_is_duckdb_unless_spark_is_asked_for(monkeypatch, tmp_path):
    monkeypatch.delenv("BILLING_ENGINE", raising=False)
    assert settings.engine() == "duckdb"
    monkeypatch.setenv("BILLING_ENGINE", " Spark ")
    assert settings.engine() == "spark"
    monkeypatch.setenv("BILLING_ENGINE", "postgres")
    with pytest.raises(settings.SettingsError, match="BILLING_ENGINE must be one of duckdb, spark; got 'postgres'"):
        settings.engine()
    assert settings.spark_dir(tmp_path / "billing.duckdb") == tmp_path / "billing.duckdb.spark"
