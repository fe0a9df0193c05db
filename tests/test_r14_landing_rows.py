"""R14 at the dbt layer: how `base_billing__documents` judges landed rows, and what reaches
`ops.rejected_rows`, `ops.landing_accounting` and `marts.fct_documents`.

This stands in for a dbt unit test: the base models' macro (`billing_landing_rows`) reads the
dbt graph at execution, which dbt unit tests do not provide ("'dict object' has no attribute
'sources'"). So a tiny landing folder is built by dbt itself, without the refresh path's
validator in front (tests/bad_input covers that path, case by case).

Two document files, applied in name order:
  2026-03-01.csv  row 1 D1 10.00 (replaced by the next file)   row 6 D5 (kept)
                  row 2 D2 unknown document_type 'receipt'      row 7 D5 exact copy of row 6
                  row 3 D3 amount_due 12.345 (3 decimals)       row 8 D6 for job J404 (no such job)
                  rows 4-5 D4 twice, different amounts          row 9 no document_id
  2026-03-02.csv  row 1 D1 12.00 (upsert: the current version)
A separate folder adds a documents file whose header lacks `currency`: rejected whole, while the
other files still load.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from billing_reports.dbt_runner import run_dbt
from tests.fixtures.handmade import COLUMNS

DOCUMENT_COLUMNS = COLUMNS["documents"]


def _document(document_id: str, amount: str, *, job_id: str = "J1", document_type: str = "invoice") -> list[str]:
    return [
        document_id,
        "C1",
        job_id,
        "",
        "A1",
        "",
        document_type,
        f"N-{document_id}",
        "2026-03-01",
        amount,
        "USD",
        "email",
        "",
        "1",
    ]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _build(root: Path, raw: Path):
    """`dbt build` of the landing models for ``raw``; returns a query function on the warehouse."""
    warehouse = root / "billing.duckdb"
    result = run_dbt(
        "build",
        raw_dir=raw,
        warehouse=warehouse,
        dbt_vars={"as_of": "2026-03-15T12:00:00Z"},
        extra_args=[
            "--select",
            "+rejected_rows",
            "+landing_accounting",
            "+fct_documents",
            "--indirect-selection",
            "cautious",
        ],
        quiet=True,
        target_path=root / "target",
    )
    assert result.success, "\n".join(result.failures)

    def query(sql: str) -> list[tuple]:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    return query


def _write_client_and_job(raw: Path) -> None:
    _write(
        raw / "clients" / "clients.csv",
        ["client_id", "client_name", "timezone", "invoices_by_branch"],
        [["C1", "Acme Utilities", "America/New_York", "true"]],
    )
    _write(
        raw / "jobs" / "jobs.csv",
        ["job_id", "client_id", "job_name", "created_at", "ops_approval_required", "customer_approval_required"],
        [["J1", "C1", "March run", "2026-03-01T14:00:00Z", "false", "false"]],
    )


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    root = tmp_path_factory.mktemp("r14")
    raw = root / "raw"
    _write_client_and_job(raw)
    _write(
        raw / "documents" / "2026-03-01.csv",
        DOCUMENT_COLUMNS,
        [
            _document("D1", "10.00"),
            _document("D2", "10.00", document_type="receipt"),
            _document("D3", "12.345"),
            _document("D4", "1.00"),
            _document("D4", "2.00"),
            _document("D5", "5.00"),
            _document("D5", "5.00"),
            _document("D6", "6.00", job_id="J404"),
            _document("", "7.00"),
        ],
    )
    _write(raw / "documents" / "2026-03-02.csv", DOCUMENT_COLUMNS, [_document("D1", "12.00")])
    return _build(root, raw)


def test_every_landed_document_row_is_judged_once(landed):
    rows = landed(
        "select regexp_extract(_source_file, '[^/]+$'), _source_row, document_id, _row_status "
        "from staging.base_billing__documents order by 1, 2"
    )
    assert rows == [
        ("2026-03-01.csv", 1, "D1", "superseded"),
        ("2026-03-01.csv", 2, "D2", "rejected"),
        ("2026-03-01.csv", 3, "D3", "rejected"),
        ("2026-03-01.csv", 4, "D4", "rejected"),
        ("2026-03-01.csv", 5, "D4", "rejected"),
        ("2026-03-01.csv", 6, "D5", "current"),
        ("2026-03-01.csv", 7, "D5", "duplicate"),
        ("2026-03-01.csv", 8, "D6", "rejected"),
        ("2026-03-01.csv", 9, None, "rejected"),
        ("2026-03-02.csv", 1, "D1", "current"),
    ]


def test_rejected_rows_name_table_file_row_and_reason(landed):
    rows = landed(
        "select source_table, regexp_extract(source_file, '[^/]+$'), source_row, reason, reject_level "
        "from ops.rejected_rows order by 2, 3"
    )
    assert rows == [
        ("documents", "2026-03-01.csv", 2, "unknown document_type: 'receipt'", "row"),
        ("documents", "2026-03-01.csv", 3, "unparseable amount (up to 2 decimals) in amount_due: '12.345'", "row"),
        (
            "documents",
            "2026-03-01.csv",
            4,
            "duplicate key with different values in one file: document_id = 'D4'",
            "row",
        ),
        (
            "documents",
            "2026-03-01.csv",
            5,
            "duplicate key with different values in one file: document_id = 'D4'",
            "row",
        ),
        ("documents", "2026-03-01.csv", 8, "unknown reference: job_id 'J404' is not in jobs", "row"),
        ("documents", "2026-03-01.csv", 9, "missing key: document_id is empty", "row"),
    ]


def test_only_accepted_current_documents_reach_the_reports(landed):
    # D1 from the later file (upsert), D5 once (its exact copy collapsed); nothing else.
    assert landed("select document_id, amount_due from marts.fct_documents order by 1") == [
        ("D1", Decimal("12.00")),
        ("D5", Decimal("5.00")),
    ]


def test_landing_accounting_balances(landed):
    assert landed(
        "select rows_landed, rows_accepted, rows_rejected, duplicates_collapsed, rows_current, "
        "rows_superseded, files_seen, files_rejected from ops.landing_accounting where source_table = 'documents'"
    ) == [(10, 3, 6, 1, 2, 1, 2, 0)]


def test_file_whose_header_lacks_a_column_is_rejected_whole_and_the_others_still_load(tmp_path):
    # R14 / contract section 1: a plain `dbt build` must take this (the refresh path may set the
    # file aside before dbt, but dbt on its own must not fail).
    raw = tmp_path / "raw"
    _write_client_and_job(raw)
    _write(raw / "documents" / "2026-03-01.csv", DOCUMENT_COLUMNS, [_document("D1", "10.00")])
    without_currency = [column for column in DOCUMENT_COLUMNS if column != "currency"]
    row = _document("D7", "7.00")
    _write(raw / "documents" / "2026-03-02.csv", without_currency, [row[:10] + row[11:]])
    query = _build(tmp_path, raw)

    assert query(
        "select source_table, regexp_extract(source_file, '[^/]+$'), source_row, reason, reject_level "
        "from ops.rejected_rows"
    ) == [("documents", "2026-03-02.csv", 0, "file rejected whole: header lacks required column(s): currency", "file")]
    assert query("select document_id from marts.fct_documents") == [("D1",)]
    assert query("select files_seen, files_rejected from ops.landing_accounting where source_table = 'documents'") == [
        (2, 1)
    ]
