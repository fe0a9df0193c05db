"""The landing-file validator on its own: the spec it reads, quarantine records, sampling of big files."""

from __future__ import annotations

import json

from billing_reports import validate


def test_spec_comes_from_the_source_yaml_with_every_contract_table():
    specs = validate.load_table_specs()
    assert len(specs) == 16
    documents = specs["documents"]
    assert documents.key == ("document_id",)
    types = {column.name: column.type for column in documents.columns}
    assert types["amount_due"] == "signed_money" and types["document_date"] == "date"
    assert "credit_memo" in next(column for column in documents.columns if column.name == "document_type").values
    assert specs["branches"].key == ("client_id", "branch_code")


def test_quarantined_file_stays_recorded_until_a_corrected_file_comes_back(tmp_path):
    raw = tmp_path / "raw"
    bad = raw / "customers" / "2026-03-01.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("client_id,customer_account_id,customer_nme,branch_code\nC1,CU1,Oak,B1\n")
    specs = validate.load_table_specs()
    check = validate.FileCheck(table="customers", file_name=bad.name, source_file=str(bad))
    problem = validate._check_header(bad, specs["customers"], check)
    assert problem.startswith("header lacks required column(s): customer_name")
    check.message = f"customers/{bad.name}: file rejected whole: {problem}"
    root = validate.default_quarantine_root(raw)
    moved = validate.quarantine_file(bad, quarantine_root=root, run_id="run-1", check=check)

    assert not bad.exists() and moved == root / "run-1" / "customers" / bad.name
    [entry] = validate.quarantined_files(root, raw)
    assert entry["source_file"] == str(bad) and "customer_name" in entry["reason"]
    assert json.loads((root / "run-1" / "quarantine.json").read_text())[0]["missing_columns"] == ["customer_name"]

    bad.write_text("client_id,customer_account_id,customer_name,branch_code\nC1,CU1,Oak,B1\n")
    assert validate.quarantined_files(root, raw) == [], "the corrected file replaces the record"


def test_big_file_is_validated_on_a_repeatable_sample_and_says_so(tmp_path):
    path = tmp_path / "deliveries.csv"
    rows = [f"DL{i},D1,email,2026-03-01T15:20:00Z,,{'sent' if i != 40 else 'lost'}" for i in range(1, 61)]
    path.write_text("delivery_id,document_id,delivery_channel,attempted_at,sent_at,outcome\n" + "\n".join(rows) + "\n")
    spec = validate.load_table_specs()["deliveries"]
    first = validate.FileCheck(table="deliveries", file_name=path.name, source_file=str(path))
    frame = validate._read_frame(path, spec, first, sample_rows=25)
    again = validate.FileCheck(table="deliveries", file_name=path.name, source_file=str(path))
    repeated = validate._read_frame(path, spec, again, sample_rows=25)

    assert (first.rows, first.rows_validated, first.sampled) == (60, 25, True)
    assert list(frame["_source_row"]) == list(repeated["_source_row"]), "the same sample every time"
    assert frame["_source_row"].is_monotonic_increasing
    assert (frame["delivery_id"] == "DL" + frame["_source_row"].astype(str)).all(), "rows keep their numbers"


def test_unreadable_rows_keep_the_build_row_numbers_of_the_rows_after_them(tmp_path):
    path = tmp_path / "deliveries.csv"
    path.write_bytes(
        b"delivery_id,document_id,delivery_channel,attempted_at,sent_at,outcome\n"
        b"DL1,D1,email,,,sent\n"
        b"DL2,D1,email,,,sent,extra\n"
        b"DL3,D1,em\n"
        b"DL4,D1,email,,,sent\n"
    )
    check = validate.FileCheck(table="deliveries", file_name=path.name, source_file=str(path))
    frame = validate._read_frame(path, validate.load_table_specs()["deliveries"], check, sample_rows=0)
    assert [item["row"] for item in check.unreadable_rows] == [2, 3], "one entry per unreadable row"
    assert dict(zip(frame["delivery_id"], frame["_source_row"], strict=True)) == {"DL1": 1, "DL4": 4}
