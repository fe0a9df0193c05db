"""An incremental build tests only the rows it replaced, and still fails where a full build fails (issue 17).

macros/landing/billing_test_scope.sql narrows the data tests of the large tables to the rows an
incremental build wrote; the document marts (fct_documents, rpt_job_documents,
rpt_document_deliveries) recompute only the documents whose inputs the new day touched. On the
hand-made fixture (tests/fixtures/handmade.py):

    day 1    the hand-made folder -> `refresh` (full)
    day 2    J3 renamed (its documents D301, D302 are recomputed in rpt_job_documents, but their
             delivery attempts are not: no document or delivery of theirs changed), BP4B mailed,
             a new document D103 on J1, D102 re-sent (a duplicate key of an old row: the new
             version replaces it), a document without a key and D104 of a job that never landed
             (both rejected, R14)
             -> `refresh` (incremental), then `refresh --full` of the same folder elsewhere: the
             same rows in every table, the same rejected rows.

Then the proof that the scoped tests still catch what the full ones catch: a copy of the project
whose document marts are wrong on purpose is built over day 2 both ways, incrementally on the
published day-1 warehouse and in full, and each way the same tests fail with the same number of
failing rows:

    rpt_document_deliveries  a second row for DL101 (an old delivery of D101, which day 2 does not
                             touch) made from D102's attempt: unique(delivery_id), 1 duplicate;
                             DL102 without an outcome: not_null(outcome), 1 row; DL102 of client
                             C-GONE: relationships(client_id -> dim_clients), 1 row
    rpt_job_documents        D301 left out: its three stored attempts (DL301..DL303) in
                             rpt_document_deliveries, rows the incremental build did not write,
                             reference a document that is gone: relationships(document_id ->
                             rpt_job_documents), 3 rows
    lookup_documents_by_account  D302 (recomputed on day 2: J3 renamed) under account A-WRONG:
                             assert_lookup_documents_by_account_match_job_documents, 2 rows (its
                             row as rpt_job_documents has it is missing, the wrong one is extra)
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from billing_reports.settings import PROJECT_DIR
from tests.fixtures.handmade import AS_OF, CAD_TO_USD_RATE, COLUMNS, write_handmade_landing
from tests.refresh.test_refresh_incremental import RUN_RECORDS, refresh_published
from tests.row_differences import warehouse_differences

VARS = {"as_of": AS_OF, "cad_to_usd_rate": CAD_TO_USD_RATE}
#: Sorts after every hand-made file name ("documents.csv", "2026-03-10.csv", ...).
DAY_2 = "zz-2026-03-16.csv"

DAY_2_ROWS = {
    "jobs": [["J3", "C1", "Bounce run (renamed)", "2026-03-05T09:00:00Z", "false", "false"]],
    "batches": [
        ["BP4B", "J4", "print", "US", "2026-03-16T10:00:00Z", "", "2026-03-16T11:00:00Z", "2026-03-17",
         "2026-03-16T12:00:00Z", "First-Class", "1", "1", "0.73", "USD"],
    ],
    "documents": [
        ["D103", "C1", "J1", "BE1", "A1", "", "invoice", "INV-103", "2026-03-16", "15.00", "USD", "email", "", "1"],
        ["D102", "C1", "J1", "BE1", "A1", "B02", "invoice", "INV-102", "2026-03-01", "81.00", "USD", "email", "", "2"],
        ["", "C1", "J1", "BE1", "A1", "", "invoice", "INV-000", "2026-03-16", "1.00", "USD", "email", "", "1"],
        ["D104", "C1", "J405", "", "A1", "", "invoice", "INV-104", "2026-03-16", "2.00", "USD", "email", "", "1"],
    ],
}  # fmt: skip

#: The lookup order of each mart (one sort below var billing_sort_slice_rows; kept by the faulty copies).
_DELIVERIES_ORDER = (
    "\n{%- if billing_sort_slices(ref('stg_billing__deliveries')) == 1 %}\n"
    "    order by document_id, attempt_number\n{%- endif %}"
)
_DOCUMENTS_ORDER = (
    "\n{%- if billing_sort_slices(ref('int_documents_classified')) == 1 %}\n"
    "    order by document_number, document_id\n{%- endif %}"
)
#: The faults written into the copy of the project: (correct, faulty), a fragment that stands once in
#: the model (for the marts, their last statement) and what replaces it.
FAULTY_MODELS = {
    "marts/documents/rpt_document_deliveries.sql": (
        "select * from numbered" + _DELIVERIES_ORDER,
        """select * replace (
    case when delivery_id = 'DL102' then null else outcome end as outcome,
    case when delivery_id = 'DL102' then 'C-GONE' else client_id end as client_id
) from numbered
union all
select * replace ('DL101' as delivery_id) from numbered where delivery_id = 'DL102'"""
        + _DELIVERIES_ORDER,
    ),
    "marts/documents/rpt_job_documents.sql": (
        "select * from final" + _DOCUMENTS_ORDER,
        "select * from final\nwhere document_id != 'D301'" + _DOCUMENTS_ORDER,
    ),
    "lookup/lookup_documents_by_account.sql": (
        "select\n    customer_account_id,\n",
        "select\n    case when document_id = 'D302' then 'A-WRONG' else customer_account_id end as customer_account_id,\n",
    ),
}

#: (model, test, column) -> failing rows, in either build of the faulty project (worked out above).
EXPECTED_FAILURES = {
    ("rpt_document_deliveries", "unique", "delivery_id"): 1,
    ("rpt_document_deliveries", "not_null", "outcome"): 1,
    ("rpt_document_deliveries", "relationships", "client_id"): 1,
    ("rpt_document_deliveries", "relationships", "document_id"): 3,
    (None, "assert_lookup_documents_by_account_match_job_documents", None): 2,
}


def _write_day_2(raw: Path) -> None:
    for table, rows in DAY_2_ROWS.items():
        with open(raw / table / DAY_2, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS[table])
            writer.writerows(rows)


def _faulty_project(root: Path) -> Path:
    project = root / "faulty-project"
    for name in ("dbt_project.yml", "profiles.yml"):
        project.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_DIR / name, project / name)
    for folder in ("models", "macros", "seeds", "tests/dbt", "analyses"):
        if (PROJECT_DIR / folder).exists():
            shutil.copytree(PROJECT_DIR / folder, project / folder)
    for name, (correct, faulty) in FAULTY_MODELS.items():
        path = project / "models" / name
        text = path.read_text()
        assert text.count(correct) == 1, f"{name} no longer reads as this test expects"
        path.write_text(text.replace(correct, faulty))
    return project


def _dbt_build(
    project: Path, raw: Path, warehouse: Path, dbt_vars: dict, *, batch: bool = False
) -> tuple[dict, dict, dict]:
    """``dbt build`` of ``project`` (unit tests left out), or with ``batch`` the refresh's build with
    its data tests in one batch (billing_reports/dbt_batch.py); returns {(model, test, column):
    failures} of the failing tests, {test unique_id: compiled SQL} and {test unique_id: status}."""
    target = warehouse.parent / "target"
    env = {**os.environ, "BILLING_RAW_DIR": str(raw), "BILLING_WAREHOUSE": str(warehouse)}
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    common = ["--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(target),
              "--vars", json.dumps(dbt_vars)]  # fmt: skip
    build_only = ["--exclude-resource-type", "unit_test", "--no-use-colors"]
    if batch:
        args = [sys.executable, "-m", "billing_reports.dbt_batch", *common, "--", *build_only]
    else:
        args = [sys.executable, "-c", "import sys; from dbt.cli.main import cli; sys.exit(cli())", "build",
                *common, *build_only]  # fmt: skip
    process = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, check=False)
    results = json.loads((target / "run_results.json").read_text())["results"]
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    errors = [result["unique_id"] for result in results if result["status"] == "error"]
    assert not errors, f"dbt errors {errors}:\n{process.stdout[-3000:]}"
    failed, compiled, statuses = {}, {}, {}
    for result in results:
        node = nodes.get(result["unique_id"]) or {}
        if node.get("resource_type") != "test":
            continue
        compiled[result["unique_id"]] = result.get("compiled_code") or ""
        statuses[result["unique_id"]] = result["status"]
        if result["status"] == "fail":
            metadata = node.get("test_metadata") or {}
            model = node["attached_node"].split(".")[-1] if node.get("attached_node") else None
            failed[(model, metadata.get("name", node["name"]), node.get("column_name"))] = result["failures"]
    if batch:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            left = connection.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw' and table_name like '\\_touched\\_%' escape '\\'"
            ).fetchall()
        assert left == [], f"the batch left {left} behind"
    return failed, compiled, statuses


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("scoped_tests")
    raw = write_handmade_landing(root / "raw")
    warehouse = root / "incremental" / "billing.duckdb"
    first = refresh_published(raw, warehouse, dbt_vars=VARS)
    day_1 = root / "day-1.duckdb"
    shutil.copyfile(warehouse, day_1)
    _write_day_2(raw)
    second = refresh_published(raw, warehouse, dbt_vars=VARS)
    full = root / "full" / "billing.duckdb"
    third = refresh_published(raw, full, full=True, dbt_vars=VARS)

    project = _faulty_project(root)
    faulty_incremental = root / "faulty-incremental" / "billing.duckdb"
    faulty_incremental.parent.mkdir()
    shutil.copyfile(day_1, faulty_incremental)
    incremental_run = _dbt_build(project, raw, faulty_incremental, {**VARS, "billing_incremental": True})
    faulty_full = root / "faulty-full" / "billing.duckdb"
    faulty_full.parent.mkdir()
    full_run = _dbt_build(project, raw, faulty_full, VARS)
    batch_runs = {}
    for mode, extra in (("incremental", {"billing_incremental": True}), ("full", {})):
        folder = root / f"faulty-batch-{mode}"
        folder.mkdir()
        if mode == "incremental":
            shutil.copyfile(day_1, folder / "billing.duckdb")
        batch_runs[mode] = _dbt_build(project, raw, folder / "billing.duckdb", {**VARS, **extra}, batch=True)
    return {
        "outcomes": (first, second, third),
        "warehouse": warehouse,
        "full": full,
        "faulty_incremental": incremental_run,
        "faulty_full": full_run,
        "faulty_batch": batch_runs,
    }


def test_day_2_is_built_incrementally(days):
    assert [outcome.record["build_mode"] for outcome in days["outcomes"]] == ["full", "incremental", "full"]


def test_the_incremental_build_equals_a_full_one(days):
    compared, differences = warehouse_differences(days["warehouse"], days["full"], skip=RUN_RECORDS)
    assert differences == []
    assert compared >= 60


def test_day_2_rows_are_judged_as_in_a_full_build(days):
    """D102's new version replaced the old one; the keyless row and D104 (job J405) are rejected."""
    with duckdb.connect(str(days["warehouse"]), read_only=True) as connection:
        assert connection.execute(
            "select amount_due from marts.rpt_job_documents where document_id = 'D102'"
        ).fetchall() == [(81,)]
        assert connection.execute(
            "select job_name, count(*) from marts.rpt_job_documents where job_id = 'J3' group by 1"
        ).fetchall() == [("Bounce run (renamed)", 2)]
        assert connection.execute(
            "select delivery_state, mailed_at is not null from marts.rpt_job_documents where document_id = 'D402'"
        ).fetchall() == [("sent", True)]
        rejected = connection.execute(
            f"select reason from ops.rejected_rows where source_file like '%{DAY_2}' and source_table = 'documents'"
            " order by source_row"
        ).fetchall()
    assert len(rejected) == 2, rejected
    assert "document_id" in rejected[0][0] and "J405" in rejected[1][0], rejected


def test_the_incremental_build_tests_only_the_rows_it_replaced(days):
    """The scoped tests read raw._touched_rows_<model> (incremental build); the full build's do not."""
    _, incremental_sql, _ = days["faulty_incremental"]
    _, full_sql, _ = days["faulty_full"]
    scoped = {unique_id for unique_id, sql in incremental_sql.items() if "_touched_rows_rpt_document_deliveries" in sql}
    assert any(".unique_rpt_document_deliveries_delivery_id" in unique_id for unique_id in scoped), scoped
    assert any(".not_null_rpt_document_deliveries_outcome" in unique_id for unique_id in scoped), scoped
    lookup_check = next(
        sql
        for unique_id, sql in incremental_sql.items()
        if unique_id.endswith(".assert_lookup_documents_by_account_match_job_documents")
    )
    assert (
        "_touched_rows_rpt_job_documents" in lookup_check
        and "_touched_rows_lookup_documents_by_account" in lookup_check
    )
    assert not any("_touched_" in sql for sql in full_sql.values())


def test_the_scoped_tests_fail_as_the_full_ones_do(days):
    incremental_failed, _, _ = days["faulty_incremental"]
    full_failed, _, _ = days["faulty_full"]
    for key, failures in EXPECTED_FAILURES.items():
        assert full_failed.get(key) == failures, (key, full_failed)
        assert incremental_failed.get(key) == failures, (key, incremental_failed)
    assert incremental_failed == full_failed


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_the_batch_runs_the_same_tests_with_the_same_verdicts_as_dbt_build(days, mode):
    """The refresh runs the data tests in one batch after the models (billing_reports/dbt_batch.py).
    On the faulty project it runs every test dbt build runs, with the same compiled SQL (scoped in
    the incremental build), and each passes, warns or fails as in dbt build, with the same failing
    rows; it drops the raw._touched_* tables afterwards (checked in _dbt_build)."""
    failed, compiled, statuses = days[f"faulty_{mode}"]
    batch_failed, batch_compiled, batch_statuses = days["faulty_batch"][mode]
    assert len(statuses) > 400
    assert batch_compiled == compiled
    assert batch_statuses == statuses
    assert batch_failed == failed
    for key, failures in EXPECTED_FAILURES.items():
        assert batch_failed.get(key) == failures, (key, batch_failed)
