"""An incremental refresh gives exactly the warehouse a full rebuild gives (issue 4, "Incremental refresh").

The story, on generated data (10 extract days) with hand-written bad rows on top:

    day 0    the generated folder, plus files of bad rows: an event and a document for job
             J9000001, which has not landed (rejected: unknown reference), a delivery of that
             document, a re-sent version of D000000001, an exact duplicate, two different rows
             with one key in one file, an unknown status code
             -> `refresh` (full: nothing is published yet)
    day 1    the generator's next extract day (`extend_one_day`: new jobs, re-sent batches and
             deliveries, progressed jobs), plus files that land job J9000001 at last, re-send
             D000000001 once more, move a customer to another branch, correct a pull to another
             document, add a negative page count and a fees file whose header lacks columns
             (quarantined)
             -> `refresh` (incremental: the published file is copied forward, and only the
             day's files are validated and landed)
    check    a full `refresh --full` of the same folder into another warehouse: every table and
             view of every schema must hold the same rows (EXCEPT ALL both ways), and the rows
             waiting for J9000001 must have been accepted once it landed.

`plan_build` (when a refresh may build incrementally) is tested on the published warehouse
without running dbt.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from billing_reports import refresh
from billing_reports.generate import extend_one_day, generate
from billing_reports.refresh import plan as refresh_plan
from billing_reports.validate import load_table_specs
from tests.row_differences import warehouse_differences

AS_OF = {"as_of": "2026-10-12T12:00:00Z"}
#: Tables and views whose rows say when or how a build ran, not what it built.
RUN_RECORDS = {
    ("ops", "refresh_runs"),
    ("ops", "quarantined_files"),
    ("ops", "volume_checks"),  # the run's own volume checks (run_id), compared with recent runs
    ("raw", "_landing_files"),
    ("raw", "_landing_runs"),
    ("raw", "_landing_signatures"),
}


def _write(raw: Path, table: str, name: str, rows: list[dict]) -> None:
    """A landing file with the contract's columns of ``table``; columns a row leaves out are empty."""
    columns = load_table_specs()[table].column_names
    path = raw / table / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in columns})


def _first_row(raw: Path, table: str, **match: str) -> dict:
    """The first generated row of ``table`` (whose columns equal ``match``)."""
    for path in sorted((raw / table).glob("2026-*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if all(row[column] == value for column, value in match.items()):
                    return row
    raise AssertionError(f"no generated {table} row with {match}")


def _first_document(raw: Path) -> dict:
    """D000000001 as the generator wrote it: the hand-written documents are versions of it."""
    return _first_row(raw, "documents", document_id="D000000001")


def _document(raw: Path, document_id: str, **values: str) -> dict:
    row = {**_first_document(raw), "document_id": document_id, "document_number": f"INV-{document_id}"}
    if document_id == "D000000001":
        row["document_number"] = _first_document(raw)["document_number"]
    return {**row, **values}


def _bad_rows_day_0(raw: Path) -> None:
    _write(
        raw,
        "job_status_events",
        "2026-10-10x-late.csv",
        [
            {"event_id": "E9000001", "job_id": "J9000001", "status_code": "PARSING_LOADING",
             "event_at": "2026-10-10T23:00:00Z"},
            {"event_id": "E9000002", "job_id": _first_document(raw)["job_id"], "status_code": "NOT_A_STATUS",
             "event_at": "2026-10-10T23:00:00Z"},
        ],
    )  # fmt: skip
    _write(
        raw,
        "documents",
        "2026-10-10x-late.csv",
        [
            _document(raw, "D9000001", job_id="J9000001", client_id="CL001", batch_id="", branch_code=""),
            _document(raw, "D000000001", amount_due="500.00"),
            _document(raw, "D9000002", amount_due="7.00"),
            _document(raw, "D9000002", amount_due="7.00"),
            _document(raw, "D9000003", amount_due="1.00"),
            _document(raw, "D9000003", amount_due="2.00"),
        ],
    )
    _write(
        raw,
        "deliveries",
        "2026-10-10x-late.csv",
        [
            {"delivery_id": "DL9000001", "document_id": "D9000001", "delivery_channel": "us_mail",
             "attempted_at": "2026-10-10T23:30:00Z", "sent_at": "2026-10-10T23:31:00Z", "outcome": "sent"},
        ],
    )  # fmt: skip


def _bad_rows_day_1(raw: Path) -> None:
    first = _first_document(raw)
    # D000000001's customer moves to branch LATE (D000000001 has no branch of its own: R8).
    customer = _first_row(
        raw, "customers", client_id=first["client_id"], customer_account_id=first["customer_account_id"]
    )
    _write(raw, "customers", "2026-10-11x-late.csv", [{**customer, "branch_code": "LATE"}])
    # A file whose header lacks a column: rejected whole and quarantined by the incremental refresh.
    (raw / "fees" / "2026-10-11y-bad-header.csv").write_text("fee_id,document_id\nF9000001,D000000001\n")
    # The first pull is corrected to another document, and D000000001 is pulled.
    pull = _first_row(raw, "document_pulls")
    other = _first_row(raw, "documents", document_id="D000000003")
    _write(
        raw,
        "document_pulls",
        "2026-10-11x-late.csv",
        [
            {**pull, "document_id": "D000000003", "job_id": other["job_id"]},
            {**pull, "pull_id": "P9000001", "document_id": "D000000001", "job_id": first["job_id"]},
        ],
    )
    _write(
        raw,
        "jobs",
        "2026-10-11x-late.csv",
        [
            {"job_id": "J9000001", "client_id": "CL001", "job_name": "Late job", "created_at": "2026-10-10T22:00:00Z",
             "ops_approval_required": "false", "customer_approval_required": "false"},
        ],
    )  # fmt: skip
    _write(
        raw,
        "documents",
        "2026-10-11x-late.csv",
        [
            _document(raw, "D000000001", amount_due="600.00"),
            _document(raw, "D9000004", page_count="-3"),
        ],
    )


def refresh_published(raw: Path, warehouse: Path, *, full: bool = False, dbt_vars: dict = AS_OF):
    """``refresh`` of ``raw`` into ``warehouse`` (no export), which must publish."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    outcome = refresh.run_refresh(
        refresh.RefreshOptions(raw_dir=raw, warehouse=warehouse, dbt_vars=dbt_vars, export=False, full=full)
    )
    assert outcome.outcome == "published", outcome.summary()
    return outcome


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    raw = root / "raw"
    generate(raw, documents=3000, clients=4, days=10, seed=7)
    # The generator's next day, written beside the folder (so that it never sees the hand-written rows).
    next_day = root / "next-day"
    shutil.copytree(raw, next_day)
    extend_one_day(next_day)
    new_files = sorted(
        path.relative_to(next_day)
        for path in next_day.rglob("*.csv")
        if not (raw / path.relative_to(next_day)).exists()
    )
    assert new_files, "extend_one_day wrote no files"

    _bad_rows_day_0(raw)
    incremental = root / "incremental" / "billing.duckdb"
    first = refresh_published(raw, incremental)

    for relative in new_files:
        shutil.copy2(next_day / relative, raw / relative)
    _bad_rows_day_1(raw)
    second = refresh_published(raw, incremental)

    full = root / "full" / "billing.duckdb"
    third = refresh_published(raw, full, full=True)
    return {
        "raw": raw,
        "incremental": incremental,
        "full": full,
        "outcomes": (first, second, third),
        "new_files": new_files,
    }


def test_the_second_refresh_was_incremental_and_the_check_was_full(story):
    first, second, third = story["outcomes"]
    assert (first.record["build_mode"], second.record["build_mode"], third.record["build_mode"]) == (
        "full",
        "incremental",
        "full",
    )
    assert second.record["build_note"].startswith(f"{len(story['new_files']) + 5} new landing file(s)")
    # Only the new files were validated again.
    report = json.loads(Path(second.validation_report).read_text())
    assert len(report["files"]) == len(story["new_files"]) + 5
    assert len(report["skipped"]) == first.record["files_seen"]
    assert [entry["reason"].split(":")[0] for entry in second.quarantined] == ["fees/2026-10-11y-bad-header.csv"]
    with duckdb.connect(str(story["incremental"]), read_only=True) as connection:
        recorded = connection.execute(
            "select source_table, source_row, reject_level from ops.rejected_rows where source_file like '%bad-header%'"
        ).fetchall()
    assert recorded == [("fees", 0, "file")]


def test_incremental_refresh_gives_exactly_the_full_rebuild(story):
    compared, differences = warehouse_differences(story["incremental"], story["full"], skip=RUN_RECORDS)
    assert differences == []
    assert compared >= 60


def test_the_account_lookup_table_follows_rpt_job_documents_in_an_incremental_build(story):
    """lookup.lookup_documents_by_account replaces the documents rpt_job_documents replaced: after
    the incremental build it holds every document of rpt_job_documents once, with its account,
    client and number (D000000001 re-sent, the documents of the moved customer and the corrected
    pull included), and the day's documents were appended after the stored ones."""
    columns = "customer_account_id, client_id, document_number, document_id"
    with duckdb.connect(str(story["incremental"]), read_only=True) as connection:
        stored = connection.execute(f"select {columns} from lookup.lookup_documents_by_account").fetchall()
        documents = connection.execute(f"select {columns} from marts.rpt_job_documents").fetchall()
    assert len(stored) == len(set(stored)) == len(documents) > 1000
    assert set(stored) == set(documents)
    # The full build's rows are in account order; the incremental build appended its own after them.
    ordered = [row[0] or "" for row in stored]
    assert ordered != sorted(ordered)


def test_documents_whose_pull_or_customer_changed_are_recomputed(story):
    raw = story["raw"]
    moved_from = _first_row(raw, "document_pulls", pull_id="P0000001")["document_id"]
    with duckdb.connect(str(story["incremental"]), read_only=True) as connection:
        rows = dict(
            connection.execute(
                """
                select document_id, (branch_code, branch_source, is_pulled, delivery_method, pull_class)
                from marts.fct_documents where document_id in ('D000000001', 'D000000003', ?)
                """,
                [moved_from],
            ).fetchall()
        )
    assert rows["D000000001"] == ("LATE", "customer", True, "pull", "T")
    assert rows["D000000003"][2:] == (True, "pull", "T")
    if moved_from not in {"D000000001", "D000000003"}:
        assert rows[moved_from][2] is False


def test_rows_waiting_for_a_late_job_are_accepted_once_it_lands(story):
    with duckdb.connect(str(story["incremental"]), read_only=True) as connection:
        statuses = dict(
            connection.execute(
                """
                select 'event', _row_status from staging.base_billing__job_status_events where event_id = 'E9000001'
                union all
                select 'document', _row_status from staging.base_billing__documents where document_id = 'D9000001'
                union all
                select 'delivery', _row_status from staging.base_billing__deliveries where delivery_id = 'DL9000001'
                """
            ).fetchall()
        )
        versions = connection.execute(
            """
            select amount_due, _row_status from staging.base_billing__documents
            where document_id = 'D000000001' order by _file_order
            """
        ).fetchall()
        rejected = dict(
            connection.execute(
                "select record_key, reason from ops.rejected_rows where record_key in ('E9000002', 'D9000003', 'D9000004')"
            ).fetchall()
        )
        collapsed = connection.execute(
            "select count(*) from staging.base_billing__documents where document_id = 'D9000002' and _row_status = 'duplicate'"
        ).fetchone()[0]
    assert statuses == {"event": "current", "document": "current", "delivery": "current"}
    # The generated first version, then the day-0 and day-1 re-sends: the latest file wins.
    assert [(str(amount), status) for amount, status in versions][-3:] == [
        (str(versions[-3][0]), "superseded"),
        ("500.00", "superseded"),
        ("600.00", "current"),
    ]
    assert rejected["E9000002"] == "unknown status_code: 'NOT_A_STATUS'"
    assert rejected["D9000003"].startswith("duplicate key with different values in one file")
    assert rejected["D9000004"] == "negative page_count: -3"
    assert collapsed == 1


def test_plan_is_incremental_only_while_every_landed_file_is_unchanged_and_first(story, monkeypatch):
    raw, warehouse = story["raw"], story["incremental"]

    def plan(**options):
        settings = {"raw_dir": raw, "warehouse": warehouse, "dbt_vars": AS_OF, **options}
        return refresh_plan.plan_build(refresh.RefreshOptions(**settings))

    unchanged = plan()
    assert (unchanged.mode, unchanged.reason) == (
        "incremental",
        f"0 new landing file(s) on top of the {len(unchanged.landed_before)} the published build landed",
    )
    assert plan(full=True).reason == "asked for with --full"
    assert plan(warehouse=warehouse.with_name("missing.duckdb")).reason == "no published warehouse yet"
    assert "changed since the published build" in plan(dbt_vars={**AS_OF, "min_plausible_year": 1990}).reason

    # A landed file that changed, one that sorts before the landed ones, one that went away.
    landed = raw / "fees" / sorted(path.name for path in (raw / "fees").iterdir())[0]
    original, stamp = landed.read_bytes(), os.stat(landed)
    landed.write_bytes(original + original.splitlines(keepends=True)[1])
    try:
        assert plan().reason == f"fees/{landed.name} changed since the published build"
        landed.write_bytes(original)
        assert plan().reason == f"fees/{landed.name} changed since the published build"  # same size, new time
    finally:
        landed.write_bytes(original)
        os.utime(landed, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert plan().mode == "incremental"

    early = raw / "jobs" / "2000-01-01.csv"
    shutil.copy2(raw / "jobs" / "2026-10-11x-late.csv", early)
    try:
        reason = plan().reason
        assert reason.startswith("jobs/") and "no longer in its place in file-name order" in reason
    finally:
        early.unlink()
    moved = raw / "jobs" / "2026-10-11x-late.csv"
    moved.rename(moved.with_suffix(".bak"))
    try:
        assert plan().reason == (
            "jobs/2026-10-11x-late.csv, landed by the published build, is gone or no longer in its place in "
            "file-name order (a file was removed, renamed, or a new file sorts before it)"
        )
    finally:
        moved.with_suffix(".bak").rename(moved)

    monkeypatch.setattr(refresh_plan, "build_state", lambda options: {"code": "another project", "settings": ""})
    assert plan().reason == "the project (models, macros, seeds or versions) changed since the published build"
