"""The Parquet export writes again only the models (and partitions) whose rows changed.

Unchanged ones are hard-linked from the previous export: the same inode and modification time, so
nothing was written. Whatever was kept or written, every model of the export must hold exactly the
rows of the warehouse it was exported from, as a fresh export of that warehouse does (``EXCEPT ALL``
both ways).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb

from billing_reports import refresh
from billing_reports.export import export_marts
from billing_reports.generate import extend_one_day, generate
from tests.row_differences import rows_only_in_each


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every Parquet file of an export, relative, with its inode and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*.parquet"))
    }


def _part_of(relative: str) -> str:
    """What a file belongs to: its model, or its model and partition (``fct_documents/key=value``)."""
    parts = relative.split("/")
    return "/".join(parts[:2]) if len(parts) == 3 else parts[0]


def _assert_export_holds_the_warehouse(warehouse: Path, out: Path, fresh: Path) -> None:
    """Each model of ``out`` has the rows of ``warehouse`` and of the fresh full export ``fresh``."""
    summary = json.loads((out / "_export.json").read_text())
    with duckdb.connect() as connection:
        connection.execute(f"attach '{warehouse}' as warehouse (read_only)")
        for model, details in summary["models"].items():
            key = details["partitioned_by"]

            def read(folder: Path, key=key, model=model) -> str:
                parquet = f"read_parquet('{folder / model}/**/*.parquet', hive_partitioning = {str(bool(key)).lower()})"
                return f"select * exclude ({key}) from {parquet}" if key else f"select * from {parquet}"

            published = f'select * from warehouse.marts."{model}"'
            assert rows_only_in_each(connection, published, read(out)) == (0, 0), model
            assert rows_only_in_each(connection, read(fresh), read(out)) == (0, 0), model
            if key:  # and every row in the partition of its month
                misplaced = connection.execute(
                    f"select count(*) from read_parquet('{out / model}/**/*.parquet', hive_partitioning = true) "
                    f"where {key} is distinct from strftime({details['partition_source_column']}, '%Y-%m')"
                ).fetchone()[0]
                assert misplaced == 0, model


def test_second_export_rewrites_only_changed_models_and_partitions(handmade_warehouse, tmp_path):
    warehouse = tmp_path / "billing.duckdb"
    shutil.copyfile(handmade_warehouse, warehouse)
    out = tmp_path / "export"
    first = export_marts(warehouse, out)
    before = _files(out)
    # The hand-made fixture: 11 documents of jobs complete in 2026-03, 6 of open jobs (the null
    # partition). Move one complete document to April (2026-03 changes, 2026-04 is new), drop a
    # job's tracking row; nothing else changes.
    with duckdb.connect(str(warehouse)) as connection:
        moved = connection.execute(
            "update marts.fct_documents set job_complete_date = date '2026-04-02' "
            "where document_id = (select min(document_id) from marts.fct_documents "
            "where job_complete_date is not null) returning document_id"
        ).fetchall()
        dropped = connection.execute(
            "delete from marts.rpt_job_tracking where job_id = (select min(job_id) from marts.rpt_job_tracking) "
            "returning job_id"
        ).fetchall()
        # Same rows, one value other: only the rows' hash can tell.
        edited = connection.execute(
            "update marts.rpt_branch_activity set document_count = document_count + 1 "
            "where rowid = (select min(rowid) from marts.rpt_branch_activity) returning 1"
        ).fetchall()
    assert len(moved) == 1 and len(dropped) == 1 and len(edited) == 1

    second = export_marts(warehouse, out)
    after = _files(out)

    rewritten = {
        "fct_documents/job_complete_month=2026-03/data_0.parquet",
        "fct_documents/job_complete_month=2026-04/data_0.parquet",
        "rpt_job_tracking/data_0.parquet",
        "rpt_branch_activity/data_0.parquet",
    }
    assert set(after) == set(before) | {"fct_documents/job_complete_month=2026-04/data_0.parquet"}
    for relative, identity in after.items():
        if relative in rewritten:
            assert identity[0] != before.get(relative, (None,))[0], f"{relative} should have been written again"
        else:
            assert identity == before[relative], f"{relative} was rewritten although its rows did not change"
    # Every other model kept whole, and fct_documents' null partition.
    models = second["models"]
    assert models["rpt_job_tracking"]["written_by"] == second["export_id"]
    # A model with fewer rows than recorded is not even hashed; one with as many is, and compared.
    assert models["rpt_job_tracking"]["fingerprint"].endswith(":")
    assert not models["rpt_branch_activity"]["fingerprint"].endswith(":")
    assert models["rpt_branch_activity"]["written_by"] == second["export_id"]
    assert models["rpt_billing_statistics"]["written_by"] == first["export_id"]
    assert models["rpt_billing_statistics"]["kept_files"] == 1
    partitions = models["fct_documents"]["partitions"]
    assert {name: entry["written_by"] for name, entry in partitions.items()} == {
        "job_complete_month=2026-03": second["export_id"],
        "job_complete_month=2026-04": second["export_id"],
        "job_complete_month=__HIVE_DEFAULT_PARTITION__": first["export_id"],
    }
    assert models["fct_documents"]["kept_files"] == 1 and models["fct_documents"]["rows"] == 17

    fresh = tmp_path / "fresh"
    export_marts(warehouse, fresh)
    _assert_export_holds_the_warehouse(warehouse, out, fresh)


def test_a_model_whose_recorded_fingerprint_differs_is_written_again(handmade_warehouse, tmp_path):
    """Nothing is kept on the word of a file name: only a recorded fingerprint equal to the rows'."""
    out = tmp_path / "export"
    export_marts(handmade_warehouse, out)
    before = _files(out)
    summary = json.loads((out / "_export.json").read_text())
    summary["models"]["rpt_billing_statistics"]["fingerprint"] += "0"  # as if its rows had been others
    (out / "_export.json").write_text(json.dumps(summary))
    export_marts(handmade_warehouse, out)
    after = _files(out)
    assert after["rpt_billing_statistics/data_0.parquet"][0] != before["rpt_billing_statistics/data_0.parquet"][0]
    assert after["rpt_job_tracking/data_0.parquet"] == before["rpt_job_tracking/data_0.parquet"]


def test_export_after_an_incremental_refresh_keeps_the_unchanged_marts(tmp_path):
    """A generated folder, a full refresh (with its export), one more extract day, an incremental
    refresh: the marts whose rows the day did not change keep their files; the others equal a fresh
    export."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse" / "billing.duckdb"
    generate(raw, documents=2000, clients=3, days=8, seed=11)
    dbt_vars = {"as_of": "2026-10-09T00:00:00Z"}

    def refreshed() -> refresh.RefreshOutcome:
        outcome = refresh.run_refresh(refresh.RefreshOptions(raw_dir=raw, warehouse=warehouse, dbt_vars=dbt_vars))
        assert outcome.outcome == "published", outcome.summary()
        return outcome

    refreshed()
    out = warehouse.parent / "export"
    before = _files(out)
    extend_one_day(raw)
    assert refreshed().record["build_mode"] == "incremental"
    after = _files(out)

    # Which marts (and fct_documents partitions) the day changed, judged on the two published files
    # (the previous one is kept as billing.duckdb.previous), not by the export.
    previous = warehouse.with_name(warehouse.name + ".previous")
    unchanged = set()
    with duckdb.connect() as connection:
        connection.execute(f"attach '{previous}' as before_day (read_only)")
        connection.execute(f"attach '{warehouse}' as after_day (read_only)")
        for relative in after:
            part = _part_of(relative)
            model, _, month = part.partition("/job_complete_month=")
            where = ""
            if month:
                month_sql = "null" if month == "__HIVE_DEFAULT_PARTITION__" else f"'{month}'"
                where = f" where strftime(job_complete_date, '%Y-%m') is not distinct from {month_sql}"
            same = rows_only_in_each(
                connection,
                f'select * from before_day.marts."{model}"{where}',
                f'select * from after_day.marts."{model}"{where}',
            )
            if same == (0, 0):
                unchanged.add(part)
    assert "dim_clients" in unchanged and "rpt_job_tracking" not in unchanged  # the day adds jobs
    for relative, identity in after.items():
        if _part_of(relative) in unchanged:
            assert identity == before[relative], f"{relative} was rewritten although its rows did not change"
        else:
            assert identity[0] != before.get(relative, (None,))[0], f"{relative} changed but was not written"

    fresh = tmp_path / "fresh"
    export_marts(warehouse, fresh)
    _assert_export_holds_the_warehouse(warehouse, out, fresh)
