"""The document marts stored in lookup order by slices (macros/portable/billing_sorted_in_slices.sql).

A full DuckDB build of more than var billing_sort_slice_rows rows leaves the `order by` out of
rpt_job_documents and rpt_document_deliveries and sorts them in slices in a post-hook instead.
Here the var is 4, so the hand-made folder's 17 documents and their attempts are sorted in
several slices: the tables must hold the same rows as the build that sorts in one go (the
session's hand-made warehouse), stored in the same order, keep their comments, pass their data
tests, and leave no copy behind.
"""

from __future__ import annotations

import pytest

from tests.conftest import AS_OF, CAD_TO_USD_RATE, read_only_query
from tests.fixtures.handmade import write_handmade_landing

ORDERS = {
    "rpt_job_documents": "document_number, document_id",
    "rpt_document_deliveries": "document_id, attempt_number",
}


@pytest.fixture(scope="module")
def sliced_warehouse(tmp_path_factory):
    from billing_reports.dbt_runner import run_dbt

    root = tmp_path_factory.mktemp("sliced")
    warehouse = root / "billing.duckdb"
    lines: list[str] = []
    result = run_dbt(
        "build",
        raw_dir=write_handmade_landing(root / "raw"),
        warehouse=warehouse,
        dbt_vars={"as_of": AS_OF, "cad_to_usd_rate": CAD_TO_USD_RATE, "billing_sort_slice_rows": 4},
        extra_args=["--exclude-resource-type", "unit_test"],
        target_path=root / "target",
        on_line=lines.append,
    )
    assert result.success, "\n".join(result.failures)
    return warehouse, "\n".join(lines)


def _stored(warehouse, table: str) -> list[tuple]:
    return read_only_query(warehouse)(f"select * from marts.{table} order by rowid")


def _sorted(warehouse, table: str) -> list[tuple]:
    return read_only_query(warehouse)(f"select * from marts.{table} order by {ORDERS[table]}")


@pytest.mark.parametrize("table", sorted(ORDERS))
def test_sliced_tables_hold_the_same_rows_in_the_same_order(table, sliced_warehouse, handmade_warehouse):
    warehouse, _ = sliced_warehouse
    stored = _stored(warehouse, table)
    assert len(stored) > 4  # more rows than one slice: the sort really was sliced
    assert stored == _sorted(warehouse, table)  # in lookup order, as stored
    assert stored == _stored(handmade_warehouse, table)  # what the one-sort build stored


def test_the_hook_sorted_each_mart_in_slices(sliced_warehouse):
    _, output = sliced_warehouse
    # 17 documents, 4 rows a slice: 5 slices, bounded by 4 quantiles of the document numbers.
    assert "marts.rpt_job_documents in order of document_number, document_id in 5 slices" in output
    assert "marts.rpt_document_deliveries in order of document_id, attempt_number in " in output


def test_sliced_tables_keep_their_comments_and_leave_no_copy(sliced_warehouse):
    warehouse, _ = sliced_warehouse
    query = read_only_query(warehouse)
    tables = dict(query("select table_name, comment from duckdb_tables() where schema_name = 'marts'"))
    column_comments = query("select count(comment) from duckdb_columns() where table_name = 'rpt_job_documents'")[0][0]
    assert not [name for name in tables if name.endswith("__unordered")]
    for table in ORDERS:
        assert tables[table], f"{table} lost its description"
    assert column_comments > 10
