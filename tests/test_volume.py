"""The per-run volume checks (billing_reports/volume.py, thresholds in expectations/volume_suite.yml) on
hand-made raw tables.

Ten weekdays of history, 2026-03-02 (Mon) to 2026-03-13 (Fri), nothing on the weekend between: client CL001
sends 40 documents a day, CL002 24. Every day has 10 deliveries, all sent, and one fee of 1.00 a document
(64.00). The checked day is Monday 2026-03-16.
"""

from __future__ import annotations

import datetime
import json

import duckdb
import pytest

from billing_reports import volume

HISTORY = [datetime.date(2026, 3, 2) + datetime.timedelta(days=n) for n in range(12)]
HISTORY = [day for day in HISTORY if day.weekday() < 5]
CHECKED = datetime.date(2026, 3, 16)


def _warehouse(path, documents_on_checked_day: dict[str, int]):
    """raw.documents / deliveries / fees / clients / customers as a build lands them (text, _source_file)."""
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    con.execute(
        "create table raw.documents (document_id varchar, client_id varchar, customer_account_id varchar,"
        " branch_code varchar, _source_file varchar)"
    )
    con.execute("create table raw.deliveries (delivery_id varchar, outcome varchar, _source_file varchar)")
    con.execute("create table raw.fees (fee_id varchar, amount varchar, _source_file varchar)")
    con.execute("create table raw.clients (client_id varchar, invoices_by_branch varchar, _source_file varchar)")
    con.execute(
        "create table raw.customers (client_id varchar, customer_account_id varchar, branch_code varchar,"
        " _source_file varchar)"
    )
    con.execute(
        "insert into raw.clients values ('CL001', 'false', '/l/clients/2026-03-02.csv'),"
        " ('CL002', 'false', '/l/clients/2026-03-02.csv')"
    )
    days = [(day, {"CL001": 40, "CL002": 24}) for day in HISTORY] + [(CHECKED, documents_on_checked_day)]
    number = 0
    for day, per_client in days:
        for client, count in per_client.items():
            for _ in range(count):
                number += 1
                con.execute(
                    "insert into raw.documents values (?, ?, 'C1', null, ?)",
                    [f"D{number}", client, f"/l/documents/{day}.csv"],
                )
        for n in range(10):
            con.execute("insert into raw.deliveries values (?, 'sent', ?)", [f"DL{day}{n}", f"/l/deliveries/{day}.csv"])
        amount = sum(per_client.values()) * 1.00  # 1.00 a document
        con.execute("insert into raw.fees values (?, ?, ?)", [f"FE{day}", f"{amount:.2f}", f"/l/fees/{day}.csv"])
    con.close()


def _failed(summary: dict) -> list[tuple[str, str]]:
    return sorted((check["check_name"], check["subject"]) for check in summary["warnings"])


def test_half_the_usual_documents_for_one_client_is_flagged(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    _warehouse(warehouse, {"CL001": 20, "CL002": 24})
    summary = volume.check_volume(warehouse, tmp_path / "report", run_id="run-1")

    assert summary["day"] == "2026-03-16"
    # CL001: 20 documents against a median of 40 on the ten weekdays; the floor is 0.6 x 40 = 24
    assert _failed(summary) == [("documents_per_client", "CL001")]
    by_key = {(c["check_name"], c["subject"]): c for c in summary["checks"]}
    assert by_key[("documents_per_client", "CL001")]["value"] == 20
    assert by_key[("documents_per_client", "CL001")]["baseline"] == 40
    assert by_key[("documents_per_client", "CL001")]["low"] == pytest.approx(24)
    # the day's 44 documents are within 0.5-2 x the usual 64; CL002's 24 are its usual; rates stay 0;
    # the fee per document stays 1.00; both clients sent, as they always do
    assert by_key[("rows_per_table", "documents")]["passed"] is True
    assert by_key[("documents_per_client", "CL002")]["passed"] is True
    assert by_key[("failure_rate", "all deliveries")]["value"] == 0
    assert by_key[("fee_per_document", "all clients")]["value"] == pytest.approx(1.0)
    assert by_key[("silent_client", "CL001")]["passed"] is True
    assert volume.warning_lines(summary) == ["documents_per_client CL001: 20 (usual 40, expected 24-80)"]

    # recorded for operations: volume.json, GX Data Docs and ops.volume_checks in the warehouse
    written = json.loads((tmp_path / "report" / "volume.json").read_text())
    assert _failed(written) == [("documents_per_client", "CL001")]
    assert (tmp_path / "report" / "volume_docs" / "index.html").is_file()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        recorded = con.execute(
            "select run_id, checked_day, subject from ops.volume_checks where check_name = ? and not passed",
            ["documents_per_client"],
        ).fetchall()
    assert recorded == [("run-1", CHECKED, "CL001")]


def test_a_client_that_always_sends_and_sends_nothing_is_flagged(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    _warehouse(warehouse, {"CL001": 40, "CL002": 0})
    summary = volume.check_volume(warehouse, None, record=False)
    # CL002 sent on 10 of 10 weekdays and sends nothing; the day's 40 documents are within 32-128
    assert _failed(summary) == [("documents_per_client", "CL002"), ("silent_client", "CL002")]


def test_a_usual_day_raises_nothing(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    _warehouse(warehouse, {"CL001": 40, "CL002": 24})
    summary = volume.check_volume(warehouse, None, record=False)
    assert summary["warnings"] == []
    # rows of documents (deliveries' 10 and fees' 1 a day are below min_baseline 20; clients has one file),
    # documents of each client, each client's silence, failure and bounce rates, fee per document
    assert len(summary["checks"]) == 1 + 2 + 2 + 3


def test_a_run_with_no_checks_records_an_empty_table():
    # A first load has no earlier day to compare: ops.volume_checks is replaced by an empty table
    # (executemany with no rows used to raise, and the refresh logged "volume checks did not run").
    import duckdb

    from billing_reports import volume

    connection = duckdb.connect()
    volume._record(connection, "run-1", datetime.date(2026, 3, 2), [])
    assert connection.execute("select count(*) from ops.volume_checks").fetchone() == (0,)
