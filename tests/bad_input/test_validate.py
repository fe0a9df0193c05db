"""The landing-file validator on its own: the spec it reads, quarantine records, sampling of big files."""

from __future__ import annotations

import dataclasses
import json

import duckdb

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


DELIVERY_COLUMNS = ["delivery_id", "document_id", "delivery_channel", "attempted_at", "sent_at", "outcome"]


def _landed_deliveries(
    path, files: dict[str, list[tuple[int, tuple]]], unreadable: dict[str, list[tuple]] | None = None
):
    """A warehouse file with raw.deliveries as the landing step leaves it: {file: [(row, values)]}."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema raw")
        columns = ", ".join(f"{name} varchar" for name in DELIVERY_COLUMNS)
        connection.execute(
            f"create table raw.deliveries ({columns}, _source_file varchar, _file_order integer, _source_row bigint)"
        )
        connection.execute(
            "create table raw._landing_files (source_table varchar, source_file varchar, file_order integer, "
            "file_status varchar, rows_read bigint, rows_unreadable bigint, message varchar, loaded_at timestamp)"
        )
        connection.execute(
            "create table raw._landing_rejects (source_table varchar, source_file varchar, source_row bigint, "
            "source_line bigint, reason varchar, raw_record varchar)"
        )
        for order, (source_file, rows) in enumerate(files.items(), start=1):
            for row, values in rows:
                connection.execute(
                    "insert into raw.deliveries values (?, ?, ?, ?, ?, ?, ?, ?, ?)", [*values, source_file, order, row]
                )
            bad = (unreadable or {}).get(source_file, [])
            connection.execute(
                "insert into raw._landing_files values ('deliveries', ?, ?, 'loaded', ?, ?, null, now())",
                [source_file, order, len(rows), len(bad)],
            )
            for row, reason in bad:
                connection.execute(
                    "insert into raw._landing_rejects values ('deliveries', ?, ?, ?, ?, 'x')",
                    [source_file, row, row + 1, f"unreadable row: {reason}"],
                )


def _deliveries_report(raw, tmp_path, names: list[str], sample_rows: int):
    folder = raw / "deliveries"
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_text(",".join(DELIVERY_COLUMNS) + "\n")
    specs = {"deliveries": validate.load_table_specs()["deliveries"]}
    report = validate.check_landing_files(
        raw, run_id="run-1", report_dir=tmp_path / "report", sample_rows=sample_rows, specs=specs
    )
    return report, specs


def test_big_table_is_validated_on_a_repeatable_sample_of_its_landed_rows_and_says_so(tmp_path):
    raw = tmp_path / "raw"
    first, second = str(raw / "deliveries" / "a.csv"), str(raw / "deliveries" / "b.csv")
    row = lambda i: (f"DL{i}", "D1", "email", "2026-03-01T15:20:00Z", None, "sent")  # noqa: E731
    _landed_deliveries(
        tmp_path / "w.duckdb",
        {first: [(i, row(i)) for i in range(1, 401)], second: [(i, row(1000 + i)) for i in range(1, 201)]},
    )
    report, specs = _deliveries_report(raw, tmp_path, ["a.csv", "b.csv"], sample_rows=150)

    def sample():
        with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
            checks = [dataclasses.replace(check) for check in report.files]
            return checks, validate._landed_frames(connection, specs["deliveries"], checks, 150)

    checks, pairs = sample()
    _, again = sample()
    a, b = checks
    assert (a.rows, b.rows) == (400, 200)
    # About a quarter of each file (150 of 600 rows), by a hash of the file and row number.
    assert 60 <= a.rows_validated <= 140 and 25 <= b.rows_validated <= 75 and a.sampled and b.sampled
    assert [list(frame["_source_row"]) for _, frame in pairs] == [list(frame["_source_row"]) for _, frame in again], (
        "the same sample every time"
    )
    for (check, frame), offset in zip(pairs, (0, 1000), strict=True):
        assert frame["_source_row"].is_monotonic_increasing
        assert (frame["delivery_id"] == "DL" + (frame["_source_row"] + offset).astype(str)).all(), check.file_name


def test_landed_rows_are_reported_by_the_build_row_numbers_with_its_unreadable_rows(tmp_path):
    raw = tmp_path / "raw"
    landed = str(raw / "deliveries" / "a.csv")
    _landed_deliveries(
        tmp_path / "w.duckdb",
        {
            landed: [
                (1, ("DL1", "D1", "email", None, None, "sent")),
                (4, ("DL4", "D1", "email", None, None, "lost")),
                (5, ("DL5", "D1", "email", "yesterday", None, "sent")),
            ]
        },
        unreadable={landed: [(2, "TOO MANY COLUMNS: x"), (3, "MISSING COLUMNS: y")]},
    )
    report, specs = _deliveries_report(raw, tmp_path, ["a.csv"], sample_rows=0)

    report = validate.validate_landed_rows(report, tmp_path / "w.duckdb", specs=specs)

    [check] = report.files
    assert check.status == "row_problems" and (check.rows, check.rows_validated, check.sampled) == (3, 3, False)
    assert [(item["row"], item["line"]) for item in check.unreadable_rows] == [(2, 3), (3, 4)]
    assert check.unreadable_rows[0]["reason"] == "TOO MANY COLUMNS: x"
    failed = {item["check"]: item["rows"] for item in check.failed_checks}
    assert failed == {"unknown outcome": [4], "unparseable timestamp in attempted_at": [5]}
    assert json.loads((tmp_path / "report" / "validation.json").read_text())["files_with_row_problems"] == 1
