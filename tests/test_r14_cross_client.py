"""Issue 16, item 6: a landed row whose client differs from its job's (or document's) client is
rejected under R14, recorded in ``ops.rejected_rows`` with the rest of the build going on, and a
data test proves that no published row of a job carries another client. The Job Activity Report
and notify also filter every sub-query by client, so such a row could not reach them anyway.

The hand-made landing folder (tests/fixtures/handmade.py: J1 is C1's job, D601 is C2's document)
plus one more documents file and one more fees file, each with a row naming another client's
job or document.
"""

from __future__ import annotations

import csv
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from tests.conftest import build_handmade
from tests.fixtures.handmade import COLUMNS, write_handmade_landing

SINGULAR_TEST = "assert_no_published_row_of_a_job_carries_another_client"
# fmt: off
CROSS_DOCUMENTS = [
    # C2 names C1's job J1: rejected. C1's own D910 in J1: accepted.
    ["D900", "C2", "J1", "BE1", "K1", "-", "invoice", "INV-900", "2026-03-01", "9.00", "CAD", "email", "", "1"],
    ["D910", "C1", "J1", "BE1", "A1", "-", "invoice", "INV-910", "2026-03-01", "1.00", "USD", "email", "", "1"],
]
CROSS_FEES = [
    ["F900", "C2", "J1", "", "", "", "email", "1", "0.20", "0.20", "CAD", "2026-03-01", ""],  # C1's job
    ["F901", "C1", "", "", "D601", "", "email", "1", "0.10", "0.10", "USD", "2026-03-09", ""],  # C2's document
    ["F902", "C1", "J1", "", "D101", "", "email", "1", "0.10", "0.10", "USD", "2026-03-01", ""],  # C1's own
]
# fmt: on


def _write(path: Path, table: str, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS[table])
        writer.writerows(["" if cell == "-" else cell for cell in row] for row in rows)


@pytest.fixture(scope="module")
def cross_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("cross_client")
    raw = write_handmade_landing(root / "raw")
    _write(raw / "documents" / "zz_cross_client.csv", "documents", CROSS_DOCUMENTS)
    _write(raw / "fees" / "zz_cross_client.csv", "fees", CROSS_FEES)
    warehouse = root / "billing.duckdb"
    result = build_handmade(root, raw)

    def query(sql: str, params: list | None = None, path: Path = warehouse) -> list[tuple]:
        with duckdb.connect(str(path), read_only=True) as connection:
            return connection.execute(sql, params or []).fetchall()

    return result, query, root, raw, warehouse


def test_the_build_goes_on_and_the_data_test_passes(cross_client):
    result, _query, *_ = cross_client
    assert result.success, "\n".join(result.failures)


def test_a_row_naming_another_clients_job_or_document_is_rejected(cross_client):
    _result, query, *_ = cross_client
    rows = query(
        "select source_table, regexp_extract(source_file, '[^/]+$'), source_row, reason from ops.rejected_rows "
        "where source_file like '%zz_cross_client.csv' order by 1, 3"
    )
    assert rows == [
        ("documents", "zz_cross_client.csv", 1, "client mismatch: job_id 'J1' belongs to client 'C1', not to 'C2'"),
        ("fees", "zz_cross_client.csv", 1, "client mismatch: job_id 'J1' belongs to client 'C1', not to 'C2'"),
        ("fees", "zz_cross_client.csv", 2, "client mismatch: document_id 'D601' belongs to client 'C2', not to 'C1'"),
    ]


def test_only_the_rows_of_the_jobs_own_client_are_published(cross_client):
    _result, query, *_ = cross_client
    # J1 had D101 and D102 (C1); D910 (C1) joins them, D900 (C2) does not.
    assert query("select document_id, client_id from marts.fct_documents where job_id = 'J1' order by 1") == [
        ("D101", "C1"),
        ("D102", "C1"),
        ("D910", "C1"),
    ]
    assert query("select count(*) from marts.fct_documents where document_id = 'D900'") == [(0,)]


def test_the_data_test_fails_when_a_published_row_carries_another_client(cross_client, tmp_path):
    """The data test can fail: a warehouse with one of C2's documents published under C1's J1."""
    _result, _query, _root, raw, warehouse = cross_client
    tampered = shutil.copy(warehouse, tmp_path / "billing.duckdb")
    with duckdb.connect(str(tampered)) as connection:
        connection.execute(
            "insert into marts.fct_documents select * replace ('C2' as client_id, 'DX' as document_id) "
            "from marts.fct_documents where document_id = 'D101'"
        )
    result = build_handmade(tmp_path, raw, "test", warehouse=Path(tampered), extra_args=["--select", SINGULAR_TEST])
    assert not result.success
    assert any(SINGULAR_TEST in failure for failure in result.failures), result.failures


def test_the_job_activity_report_and_notify_read_only_the_jobs_client(cross_client, tmp_path):
    """Rows of another client published under C1's jobs (as a build before this check would have
    let through) reach neither C1's Job Activity Report nor the approval reminder."""
    from billing_reports.activity_report import load_job_activity
    from billing_reports.notify.planning import read_warehouse
    from tests.notify.conftest import NOW

    _result, query, _root, _raw, warehouse = cross_client
    tampered = shutil.copy(warehouse, tmp_path / "billing.duckdb")
    with duckdb.connect(str(tampered)) as connection:
        for table, changes in {
            "fct_documents": "'C2' as client_id, 'DX' || document_id as document_id, true as is_pulled, 'CAD' as currency",
            "rpt_job_delivery_counts": "'C2' as client_id",
            "rpt_job_tracking_steps": "'C2' as client_id, 'Leaked step' as status_label",
            "rpt_billing_activity_details": "'C2' as client_id, 'BX' as batch_id",
            "rpt_job_activity_recipients": "'C2' as client_id, 'Leaky Maple' as full_name",
            "rpt_job_activity": "'C2' as client_id",
            "rpt_job_tracking": "'C2' as client_id, 'Leaked job name' as job_name",
        }.items():
            connection.execute(
                f"insert into marts.{table} select * replace ({changes}) from marts.{table} where job_id in ('J1', 'J8')"
            )
    report = load_job_activity(tampered, "J1", client_ids=["C1"])
    text = repr(report)
    for leak in ["C2", "DXD", "Leaked", "Leaky Maple", "BX", "CAD"]:
        assert leak not in text, leak
    # J1's own report, as the untouched warehouse gives it.
    assert report == {**load_job_activity(warehouse, "J1", client_ids=["C1"]), "generated_at": report["generated_at"]}

    snapshot = read_warehouse(Path(tampered), NOW, timedelta(hours=24))
    j8 = [row for row in snapshot.approvals if row["job_id"] == "J8"]
    # J8 (C1) waits on the customer: one reminder row per C1 approver contact, all in USD and with
    # its own name; C2's copy of J8 adds neither a row nor a second currency.
    assert j8 and {(row["client_id"], row["job_name"], row["currency"]) for row in j8} == {
        ("C1", "Waiting on customer", "USD")
    }
    assert len(j8) == len(
        [row for row in read_warehouse(warehouse, NOW, timedelta(hours=24)).approvals if row["job_id"] == "J8"]
    )
