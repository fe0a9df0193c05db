"""The demo loop of issue 15: decide in the portal with BILLING_OUTBOUND_DIR = the landing folder,
refresh, and the reports show the decision; the incremental refresh equals a full one.

The hand-made landing folder (tests/fixtures/handmade.py), with its job_approvals and
document_pulls extracts named by extract time (``2026-03-15.csv``, as the contract asks) so that
the portal's files, named by decision time, sort after them and the refresh lands them
incrementally. Then:

    refresh (full)        J8 awaits customer approval AP8; J7 awaits ops approval AP7
    ann approves AP8, pulling D801 (INV-801, routed us_mail); D802 (INV-802, email) is sent
    olivia rejects AP7
    refresh (incremental) lands the three new files
    refresh --full        of the same folder into another warehouse: the same rows everywhere
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import duckdb
import pytest

from billing_reports import refresh
from billing_reports.approvals import Places, decide
from tests.approvals.test_approvals import ANN, OLIVIA, as_decider
from tests.fixtures.handmade import AS_OF, CAD_TO_USD_RATE, write_handmade_landing
from tests.refresh.test_refresh_incremental import RUN_RECORDS, refresh_published
from tests.row_differences import warehouse_differences

VARS = {"as_of": AS_OF, "cad_to_usd_rate": CAD_TO_USD_RATE}
DECIDED_AT = datetime(2026, 3, 15, 12, 30, 5, tzinfo=UTC)


def _refresh(raw, warehouse, *, full: bool = False) -> refresh.RefreshOutcome:
    return refresh_published(raw, warehouse, full=full, dbt_vars=VARS)


@pytest.fixture(scope="module")
def loop(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("demo_loop")
    raw = write_handmade_landing(root / "raw")
    for table, name in (("job_approvals", "approvals.csv"), ("document_pulls", "pulls.csv")):
        shutil.move(raw / table / name, raw / table / "2026-03-15.csv")
    warehouse = root / "incremental" / "billing.duckdb"
    first = _refresh(raw, warehouse)
    places = Places(warehouse, raw, root / "decisions.jsonl", root / "outbox.sqlite")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        before = connection.execute(
            "select job_id, approval_id, approval_decision from marts.rpt_job_approval order by job_id"
        ).fetchall()
    decide("AP8", "approved", as_decider(ANN), pulls=["D801"], places=places, now=DECIDED_AT)
    decide("AP7", "rejected", as_decider(OLIVIA), reason="totals look wrong", places=places, now=DECIDED_AT)
    second = _refresh(raw, warehouse)
    full = root / "full" / "billing.duckdb"
    third = _refresh(raw, full, full=True)
    return {"warehouse": warehouse, "full": full, "before": before, "outcomes": (first, second, third)}


def _one(warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_the_decisions_land_incrementally(loop):
    assert loop["before"] == [("J7", "AP7", None), ("J8", "AP8", None)]
    first, second, third = loop["outcomes"]
    assert [outcome.record["build_mode"] for outcome in (first, second, third)] == ["full", "incremental", "full"]
    # One pulls file and two approval files: 3 new landing files.
    assert second.record["build_note"].startswith("3 new landing file(s)")


def test_the_approval_report_shows_the_landed_decisions(loop):
    rows = _one(
        loop["warehouse"],
        """
        select job_id, approval_id, approval_decision, approval_decided_at, approval_decided_by, pulled_document_count
        from marts.rpt_job_approval order by job_id
        """,
    )
    # The jobs still await approval until the billing system moves them on: same grain, now decided.
    assert rows == [
        ("J7", "AP7", "rejected", datetime(2026, 3, 15, 12, 30, 5), "olivia", 1),  # D702 pulled before
        ("J8", "AP8", "approved", datetime(2026, 3, 15, 12, 30, 5), "ann", 1),
    ]
    assert _one(loop["warehouse"], "select count(*) from ops.rejected_rows where source_file like '%2026-03-15T%'") == [
        (0,)
    ]


def test_the_pulled_document_is_pull_class_t_in_every_report(loop):
    warehouse = loop["warehouse"]
    assert _one(
        warehouse,
        "select document_id, delivery_method, pull_class, is_pulled from marts.fct_documents "
        "where job_id = 'J8' order by document_id",
    ) == [("D801", "pull", "T", True), ("D802", "email", None, False)]
    # R1 in the tracker's item counts: J8 had US Mail 1 and Email 1; now Pull 1 and Email 1.
    assert _one(
        warehouse,
        "select delivery_method, document_count from marts.rpt_job_delivery_counts where job_id = 'J8' order by 1",
    ) == [("email", 1), ("pull", 1)]
    assert _one(warehouse, "select pulled_document_count from marts.rpt_job_tracking where job_id = 'J8'") == [(1,)]


def test_the_incremental_refresh_equals_a_full_one(loop):
    compared, differences = warehouse_differences(loop["warehouse"], loop["full"], skip=RUN_RECORDS)
    assert differences == []
    assert compared >= 60
