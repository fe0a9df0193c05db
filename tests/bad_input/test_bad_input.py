"""Bad input loses nothing (R14): every case of the corpus, through `refresh` (validate, build, publish).

One landing folder holds the hand-written base (`base/`) and every case file; it is refreshed
once, then again after the late files land. Each case is then checked against the published
warehouse: its `ops.rejected_rows` entries (table, file, row, reason), its rows in the
accounting, what reached `marts.fct_documents`, and the validator's verdict on the file.
"""

from __future__ import annotations

import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from billing_reports.refresh import RefreshOptions, run_refresh
from billing_reports.validate import load_table_specs
from tests.bad_input.bad_input_cases import CASES

BASE = Path(__file__).parent / "base"
SPECS = load_table_specs()


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _snapshot(warehouse: Path) -> dict:
    """What the tests read from the published warehouse, read once (the connection is closed after)."""
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            "rejects": connection.execute(
                "select source_table, source_file, source_row, reason, record_key, reject_level from ops.rejected_rows"
            ).fetchall(),
            "accounting": {
                row[0]: dict(
                    zip(("rows_landed", "rows_accepted", "rows_rejected", "duplicates_collapsed"), row[1:], strict=True)
                )
                for row in connection.execute(
                    "select source_table, rows_landed, rows_accepted, rows_rejected, duplicates_collapsed "
                    "from ops.landing_accounting"
                ).fetchall()
            },
            "documents": dict(
                connection.execute(
                    "select document_id, cast(amount_due as varchar) from marts.fct_documents"
                ).fetchall()
            ),
            "document_rows": connection.execute("select count(*) from marts.fct_documents").fetchone()[0],
            "document_numbers": {
                row[0] for row in connection.execute("select document_number from marts.fct_documents").fetchall()
            },
            "current_rows": {
                table: {
                    row[0]
                    for row in connection.execute(
                        f"select {SPECS[table].key[-1]} from staging.base_billing__{table} where _row_status = 'current'"
                    ).fetchall()
                }
                for table in SPECS
            },
            "refresh_runs": connection.execute("select run_id, outcome from ops.refresh_runs").fetchall(),
        }
    finally:
        connection.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The base folder plus every case file, refreshed twice (the late files land between)."""
    root = tmp_path_factory.mktemp("bad_input")
    raw = root / "raw"
    shutil.copytree(BASE, raw)
    for case in CASES:
        _write(raw / case.path, case.content)
    warehouse = root / "warehouse" / "billing.duckdb"
    options = RefreshOptions(raw_dir=raw, warehouse=warehouse, dbt_vars={"as_of": "2026-03-05T00:00:00Z"})
    first = run_refresh(options)
    assert first.outcome == "published", first.summary()
    first_snapshot = _snapshot(warehouse)
    for case in CASES:
        for relative, content in case.later_files.items():
            _write(raw / relative, content)
    second = run_refresh(options)
    assert second.outcome == "published", second.summary()
    return {
        "root": root,
        "raw": raw,
        "first": first,
        "second": second,
        "before": first_snapshot,
        "after": _snapshot(warehouse),
        "validation": first.validation_report,
    }


def _file_rejects(snapshot: dict, case) -> list[tuple]:
    file_name = case.path.split("/", 1)[1]
    return [
        row
        for row in snapshot["rejects"]
        if row[0] == case.table and (row[1].endswith("/" + file_name) or row[1] == file_name)
    ]


def _assert_rejects(actual: list[tuple], expected: tuple, case) -> None:
    rows = sorted((row[2], row[3]) for row in actual)
    assert len(rows) == len(expected), f"{case.path}: expected rejects {expected}, got {rows}"
    for (row_number, reason), (expected_row, expected_reason) in zip(rows, sorted(expected), strict=True):
        assert row_number == expected_row, f"{case.path}: expected row {expected_row}, got {rows}"
        assert expected_reason in reason, f"{case.path} row {row_number}: {reason!r} lacks {expected_reason!r}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_case_is_recorded_and_kept_out_of_the_reports(corpus, case):
    snapshot = corpus["before"]
    rejects = _file_rejects(snapshot, case)
    if case.quarantined:
        assert [(row[2], row[5]) for row in rejects] == [(0, "file")], rejects
        for words in case.quarantined:
            assert words in rejects[0][3], f"{rejects[0][3]!r} lacks {words!r}"
        assert not (corpus["raw"] / case.path).exists(), "a file rejected whole leaves the landing folder"
        quarantined = list((corpus["root"] / "quarantine").glob(f"*/{case.path}"))
        assert len(quarantined) == 1 and quarantined[0].read_bytes() == case.content, "moved, never deleted"
    else:
        _assert_rejects(rejects, case.rejects, case)
        assert all(row[5] == "row" for row in rejects)
    for key in case.accepted:
        assert key in snapshot["current_rows"][case.table], f"{key} was not accepted"
    for document_id in case.documents_in:
        assert document_id in snapshot["documents"], f"{document_id} is missing from marts.fct_documents"
    for document_id in case.documents_out:
        assert document_id not in snapshot["documents"], f"rejected {document_id} reached marts.fct_documents"
    for document_id, amount in case.amounts.items():
        assert Decimal(snapshot["documents"][document_id]) == Decimal(amount)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_validator_flags_the_file_before_the_build(corpus, case):
    import json

    report = json.loads(Path(corpus["validation"]).read_text())
    verdicts = {f"{entry['table']}/{entry['file_name']}": entry for entry in report["files"]}
    entry = verdicts[case.path]
    assert entry["status"] == case.validation, entry
    if case.quarantined:
        for words in case.quarantined:
            assert words in entry["message"]
    if case.validation == "row_problems":
        flagged = {item["row"] for item in entry["unreadable_rows"]} | {
            row for check in entry["failed_checks"] for row in check["rows"]
        }
        assert flagged == {row for row, _ in case.rejects}, entry


def test_every_input_row_is_accounted_for_per_table(corpus):
    landed = Counter()
    for path in BASE.glob("*/*.csv"):
        landed[path.parent.name] += len(path.read_text().splitlines()) - 1
    for case in CASES:
        landed[case.table] += case.rows
    for table, counts in corpus["before"]["accounting"].items():
        assert counts["rows_landed"] == (
            counts["rows_accepted"] + counts["rows_rejected"] + counts["duplicates_collapsed"]
        ), f"{table}: {counts}"
        assert counts["rows_landed"] == landed[table], f"{table}: landed {counts} but the files hold {landed[table]}"
    documents = corpus["before"]["accounting"]["documents"]
    assert documents["duplicates_collapsed"] == 1


def test_rejected_rows_hold_only_the_expected_entries(corpus):
    expected = sum(len(case.rejects) + (1 if case.quarantined else 0) for case in CASES)
    rejects = corpus["before"]["rejects"]
    assert len(rejects) == expected, "\n".join(map(str, sorted(rejects)))
    assert not [row for row in rejects if row[1].endswith("/2026-03-01.csv")], "a base file had a rejected row"


def test_nothing_from_a_rejected_document_row_reaches_fct_documents(corpus):
    snapshot = corpus["before"]
    rejected_keys = {row[4] for row in snapshot["rejects"] if row[0] == "documents" and row[4]}
    upserted = {key for case in CASES for key in case.amounts}
    assert not (rejected_keys - upserted) & set(snapshot["documents"])
    assert "N-MISSING" not in snapshot["document_numbers"]
    assert snapshot["document_rows"] == len(snapshot["documents"]), "one row per document"


def test_event_for_a_job_not_yet_landed_is_accepted_once_the_job_lands(corpus):
    case = next(case for case in CASES if case.later_files)
    assert _file_rejects(corpus["before"], case), "rejected while its job is unknown"
    assert "E101" not in corpus["before"]["current_rows"]["job_status_events"]
    assert _file_rejects(corpus["after"], case) == []
    assert "E101" in corpus["after"]["current_rows"]["job_status_events"]
    assert "J7" in corpus["after"]["current_rows"]["jobs"]


def test_quarantined_files_stay_recorded_in_later_refreshes(corpus):
    def file_rejects(snapshot):
        return sorted((row[0], row[1]) for row in snapshot["rejects"] if row[5] == "file")

    assert file_rejects(corpus["after"]) == file_rejects(corpus["before"])
    assert len(file_rejects(corpus["after"])) == sum(1 for case in CASES if case.quarantined)
    assert corpus["second"].record["files_quarantined"] == 0, "nothing new to quarantine the second time"


def test_refresh_runs_carry_across_publishes(corpus):
    runs = corpus["after"]["refresh_runs"]
    assert sorted(runs) == sorted([(corpus["first"].run_id, "published"), (corpus["second"].run_id, "published")])
