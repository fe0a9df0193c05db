"""The same project on Spark and on DuckDB gives the same public marts, row for row (issue 18).

A small generated landing folder (billing-reports generate: 600 documents, 3 clients, 3 days) is
built once with DuckDB (``billing-reports build``'s runner) and once with
``BILLING_ENGINE=spark billing-reports refresh``, the scheduled path: Spark writes Parquet and
the refresh publishes a DuckDB file holding it. Every public mart of the DuckDB build (the
models with ``access: public``, all in schema ``marts``) must be in the published Spark warehouse
with the same columns and the same rows, duplicates included (EXCEPT ALL both ways).
"""

from __future__ import annotations

import json

import duckdb
import pytest

from billing_reports import cli
from billing_reports.dbt_runner import run_dbt
from billing_reports.generate import generate
from tests.row_differences import rows_only_in_each

pytestmark = pytest.mark.spark

AS_OF = "2026-10-04T00:00:00Z"


@pytest.fixture(scope="module")
def builds(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("parity")
    raw = root / "raw"
    generate(raw, documents=600, clients=3, days=3, seed=7)

    duck = root / "duckdb" / "billing.duckdb"
    result = run_dbt(
        "build",
        raw_dir=raw,
        warehouse=duck,
        dbt_vars={"as_of": AS_OF},
        quiet=True,
        target_path=root / "duckdb" / "target",
        engine="duckdb",
    )
    assert result.success, "\n".join(result.failures)

    spark = root / "spark" / "billing.duckdb"
    monkeypatch_module.setenv("BILLING_ENGINE", "spark")
    code = cli.main(
        [
            "refresh",
            "--raw-dir",
            str(raw),
            "--warehouse",
            str(spark),
            "--vars",
            json.dumps({"as_of": AS_OF}),
            "--no-export",
            "--quarantine-dir",
            str(root / "quarantine"),
        ]
    )
    assert code == 0, "BILLING_ENGINE=spark billing-reports refresh did not publish"
    return root, duck, spark


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _public_marts(target_manifest) -> list[str]:
    manifest = json.loads(target_manifest.read_text())
    return sorted(
        node["alias"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node.get("access") == "public"
    )


def test_spark_refresh_publishes_every_public_mart_with_the_duckdb_rows(builds):
    root, duck, spark = builds
    marts = _public_marts(root / "duckdb" / "target" / "manifest.json")
    # The contract's public marts (rpt_*, fct_documents, dim_clients): more than a handful.
    assert len(marts) >= 10
    connection = duckdb.connect()
    connection.execute(f"attach '{duck}' as duck (read_only)")
    connection.execute(f"attach '{spark}' as spark (read_only)")
    differences = {}
    for mart in marts:
        columns = [
            row[0]
            for row in connection.execute(
                "select column_name from duckdb_columns() where database_name = 'duck' and schema_name = 'marts' "
                "and table_name = ? order by column_index",
                [mart],
            ).fetchall()
        ]
        spark_columns = [
            row[0]
            for row in connection.execute(
                "select column_name from duckdb_columns() where database_name = 'spark' and schema_name = 'marts' "
                "and table_name = ? order by column_index",
                [mart],
            ).fetchall()
        ]
        assert spark_columns == columns, f"marts.{mart}: columns differ"
        rows = connection.execute(f"select count(*) from duck.marts.{mart}").fetchone()[0]
        only = rows_only_in_each(connection, f"select * from duck.marts.{mart}", f"select * from spark.marts.{mart}")
        if only != (0, 0):
            differences[mart] = {"rows": rows, "only_duckdb": only[0], "only_spark": only[1]}
    assert differences == {}


def test_generated_folder_fills_the_marts_it_compares(builds):
    # A comparison of empty tables proves nothing: the busiest marts must have rows on both sides.
    _, duck, spark = builds
    for warehouse in (duck, spark):
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            for mart in ("fct_documents", "rpt_billing_statistics", "rpt_job_tracking", "rpt_job_tracking_steps"):
                assert connection.execute(f"select count(*) from marts.{mart}").fetchone()[0] > 0, mart


def test_spark_published_warehouse_keeps_the_serving_tables(builds):
    # The dashboard, notify and export read ops.rejected_rows, ops.refresh_runs and the stg_
    # contacts and clients: the published Spark warehouse has them, with the DuckDB build's rows.
    _, duck, spark = builds
    connection = duckdb.connect()
    connection.execute(f"attach '{duck}' as duck (read_only)")
    connection.execute(f"attach '{spark}' as spark (read_only)")
    for table in ("ops.rejected_rows", "staging.stg_billing__contacts", "staging.stg_billing__clients"):
        assert rows_only_in_each(connection, f"select * from duck.{table}", f"select * from spark.{table}") == (0, 0)
    runs = connection.execute("select outcome, build_mode from spark.ops.refresh_runs").fetchall()
    assert runs == [("published", "full")]
