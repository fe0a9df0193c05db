"""Analysts and BI tools: read-only SQL access, the Parquet export, the semantic layer, the docs site.

Everything runs against the hand-made landing folder (tests/fixtures/handmade.py); the figures are
the ones worked out by hand there (11 bills of complete jobs, 3 of them pulled, 5 electronic, ...).
docs/analysts.md is tested too: its ten example questions are run and compared with the result
tables printed under them.
"""

from __future__ import annotations

import csv
import datetime
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from billing_reports.settings import PROJECT_DIR
from tests.fixtures.handmade import AS_OF, CAD_TO_USD_RATE, write_handmade_landing
from tests.row_differences import rows_only_in_each

DOCS = PROJECT_DIR / "docs" / "analysts.md"
HANDMADE_VARS = {"as_of": AS_OF, "cad_to_usd_rate": CAD_TO_USD_RATE}


def _public_model_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        models = [
            row[0]
            for row in connection.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by table_name"
            ).fetchall()
        ]
        return {model: connection.execute(f'select count(*) from marts."{model}"').fetchone()[0] for model in models}


# --------------------------------------------------------------------------------------------
# SQL access
# --------------------------------------------------------------------------------------------


def test_every_public_model_reads_through_a_read_only_sqlalchemy_url(handmade_warehouse):
    import sqlalchemy  # the dev extra installs sqlalchemy and duckdb-engine: missing is a failure, not a skip

    expected = _public_model_counts(handmade_warehouse)
    assert "fct_documents" in expected and len(expected) >= 13

    engine = sqlalchemy.create_engine(f"duckdb:///{handmade_warehouse}?access_mode=read_only")
    try:
        with engine.connect() as connection:
            assert sorted(sqlalchemy.inspect(connection).get_table_names(schema="marts")) == sorted(expected)
            counts = {
                model: connection.execute(sqlalchemy.text(f'select count(*) from marts."{model}"')).scalar_one()
                for model in expected
            }
            assert counts == expected
            with pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only"):
                connection.execute(sqlalchemy.text("create table marts.analyst_scratch (a integer)"))
    finally:
        engine.dispose()


def test_pandas_reads_a_report_through_sqlalchemy_connect_args(handmade_warehouse):
    import pandas as pd
    import sqlalchemy  # the dev extra installs sqlalchemy and duckdb-engine: missing is a failure, not a skip

    engine = sqlalchemy.create_engine(f"duckdb:///{handmade_warehouse}", connect_args={"read_only": True})
    try:
        frame = pd.read_sql(
            sqlalchemy.text("select * from marts.rpt_billing_statistics where client_id = :client_id"),
            engine,
            params={"client_id": "C1"},
        )
        with engine.connect() as connection, pytest.raises(sqlalchemy.exc.DBAPIError, match="read-only"):
            connection.execute(sqlalchemy.text("create table marts.analyst_scratch (a integer)"))
    finally:
        engine.dispose()
    assert int(frame["bill_count"].sum()) == 9  # C1: J1 2, J2 3, J3 2, J5 2


def test_duckdb_relation_to_pandas(handmade_warehouse):
    with duckdb.connect(str(handmade_warehouse), read_only=True) as connection:
        frame = connection.sql("select * from marts.rpt_job_tracking").df()
    assert len(frame) == 9 and int(frame["is_complete"].sum()) == 5  # J1, J2, J3, J5, J6


# --------------------------------------------------------------------------------------------
# docs/analysts.md: the ten example questions
# --------------------------------------------------------------------------------------------

_EXAMPLE = re.compile(
    r"^### (?P<title>\d+\.[^\n]*)\n.*?```sql\n(?P<sql>.*?)```\n\n(?P<table>(?:\|[^\n]*\|\n)+)", re.S | re.M
)


def _doc_examples() -> list[tuple[str, str, list[list[str]]]]:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Ten questions, answered") :]
    examples = []
    for match in _EXAMPLE.finditer(section):
        lines = [line.strip().strip("|").split("|") for line in match["table"].strip().splitlines()]
        table = [[cell.strip() for cell in line] for line in lines if not set("".join(line)) <= set("-: ")]
        examples.append((match["title"], match["sql"], table))
    return examples


def _cell(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def test_the_docs_answer_ten_questions():
    titles = [title for title, _, _ in _doc_examples()]
    assert len(titles) == 10, titles


@pytest.mark.parametrize("title, sql, table", _doc_examples(), ids=lambda value: str(value)[:3].strip(". "))
def test_docs_example_gives_the_documented_answer(handmade_warehouse, title, sql, table):
    assert "from marts." in sql, f"{title}: examples read the public models only"
    with duckdb.connect(str(handmade_warehouse), read_only=True) as connection:
        cursor = connection.execute(sql)
        header = [column[0] for column in cursor.description]
        rows = [[_cell(value) for value in row] for row in cursor.fetchall()]
    assert [header, *rows] == table, title


# --------------------------------------------------------------------------------------------
# The Parquet export
# --------------------------------------------------------------------------------------------


def test_parquet_export_matches_every_public_model_row_for_row(handmade_warehouse, tmp_path):
    from billing_reports.export import export_marts

    out = tmp_path / "export"
    summary = export_marts(handmade_warehouse, out)
    expected = _public_model_counts(handmade_warehouse)
    assert sorted(path.name for path in out.iterdir() if path.is_dir()) == sorted(expected)
    assert {model: details["rows"] for model, details in summary["models"].items()} == expected
    assert json.loads((out / "_export.json").read_text())["models"] == summary["models"]

    connection = duckdb.connect()
    try:
        connection.execute(f"attach '{handmade_warehouse}' as warehouse (read_only)")
        for model in expected:
            key = summary["models"][model]["partitioned_by"]
            parquet = f"read_parquet('{out / model}/**/*.parquet', hive_partitioning = {str(bool(key)).lower()})"
            exported = f"select * exclude ({key}) from {parquet}" if key else f"select * from {parquet}"
            published = f'select * from warehouse.marts."{model}"'
            missing, extra = rows_only_in_each(connection, published, exported)
            assert (missing, extra) == (0, 0), model
    finally:
        connection.close()


def test_documents_export_is_partitioned_by_local_completion_month(handmade_warehouse, tmp_path):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds

    from billing_reports.export import export_marts

    out = tmp_path / "export"
    export_marts(handmade_warehouse, out)
    folders = sorted(path.name for path in (out / "fct_documents").iterdir())
    assert folders == ["job_complete_month=2026-03", "job_complete_month=__HIVE_DEFAULT_PARTITION__"]
    assert [path.name for path in (out / "rpt_billing_statistics").iterdir()] == ["data_0.parquet"]
    with duckdb.connect() as connection:
        months = connection.execute(
            f"select job_complete_month, count(*) from read_parquet('{out}/fct_documents/**/*.parquet', "
            "hive_partitioning = true) group by all order by all"
        ).fetchall()
    assert months == [("2026-03", 11), (None, 6)]  # J4, J7, J8 are not complete: 6 documents
    # The pandas recipe of docs/analysts.md.
    partitioning = ds.partitioning(pa.schema([("job_complete_month", pa.string())]), flavor="hive")
    documents = pd.read_parquet(out / "fct_documents", partitioning=partitioning)
    assert len(documents) == 17 and int(documents["job_complete_month"].isna().sum()) == 6


def test_second_export_swaps_in_whole_and_leaves_no_side_folders(handmade_warehouse, tmp_path):
    from billing_reports.export import export_marts

    out = tmp_path / "export"
    first = export_marts(handmade_warehouse, out)
    held = open(out / "rpt_billing_statistics" / "data_0.parquet", "rb")  # a reader mid-read
    try:
        second = export_marts(handmade_warehouse, out)
        assert held.read(4) == b"PAR1"  # the replaced export's open files stay readable
    finally:
        held.close()
    assert second["export_id"] != first["export_id"]
    assert json.loads((out / "_export.json").read_text())["export_id"] == second["export_id"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["export", "export.lock"]


def test_export_stopped_between_its_two_renames_is_repaired(tmp_path):
    from billing_reports.export import _remove_leftovers

    (tmp_path / "export.old-20260301T000000Z-aaaaaa").mkdir()
    last_complete = tmp_path / "export.old-20260302T000000Z-bbbbbb"
    (last_complete / "rpt_job_tracking").mkdir(parents=True)
    (tmp_path / "export.tmp-20260302T000000Z-bbbbbb" / "fct_documents").mkdir(parents=True)
    _remove_leftovers(tmp_path / "export", lambda message: None)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["export"]
    assert (tmp_path / "export" / "rpt_job_tracking").is_dir()


def test_empty_partitioned_model_still_exports_a_readable_file(tmp_path):
    from billing_reports.export import export_marts

    warehouse = tmp_path / "tiny.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema marts")
        connection.execute("create table marts.fct_documents (document_id varchar, job_complete_date date)")
        connection.execute("create table marts.rpt_job_tracking as select 'J1' as job_id")
    summary = export_marts(warehouse, tmp_path / "export")
    assert summary["models"]["fct_documents"]["rows"] == 0
    with duckdb.connect() as connection:
        described = connection.execute(
            f"describe select * from read_parquet('{tmp_path}/export/fct_documents/**/*.parquet', "
            "hive_partitioning = true)"
        ).fetchall()
    assert [row[0] for row in described] == ["document_id", "job_complete_date", "job_complete_month"]


def test_export_command_exit_codes(handmade_warehouse, tmp_path, monkeypatch, capsys):
    from billing_reports import cli

    monkeypatch.setenv("BILLING_EXPORT_DIR", str(tmp_path / "from-env"))
    assert cli.main(["export", "--warehouse", str(handmade_warehouse)]) == cli.EXIT_OK
    assert capsys.readouterr().out.strip() == str(tmp_path / "from-env")
    assert (tmp_path / "from-env" / "fct_documents").is_dir()

    assert cli.main(["export", "--warehouse", str(tmp_path / "missing.duckdb")]) == cli.EXIT_USAGE

    lock = os.open(tmp_path / "from-env.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another export is running
        assert cli.main(["export", "--warehouse", str(handmade_warehouse)]) == cli.EXIT_LOCKED
    finally:
        os.close(lock)


# --------------------------------------------------------------------------------------------
# A reader never blocks a refresh
# --------------------------------------------------------------------------------------------


def test_refresh_publishes_while_an_analyst_holds_the_warehouse_open(handmade_warehouse, tmp_path):
    raw = write_handmade_landing(tmp_path / "raw")
    published = tmp_path / "warehouse" / "billing.duckdb"
    published.parent.mkdir()
    shutil.copy(handmade_warehouse, published)  # the file published before this refresh
    env = dict(
        os.environ,
        BILLING_RAW_DIR=str(raw),
        BILLING_WAREHOUSE=str(published),
        GX_ANALYTICS_ENABLED="False",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    analyst = duckdb.connect(str(published), read_only=True)
    try:
        assert analyst.execute("select count(*) from marts.fct_documents").fetchone() == (17,)
        refresh = subprocess.run(
            [sys.executable, "-m", "billing_reports.cli", "refresh", "--vars", json.dumps(HANDMADE_VARS)],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert refresh.returncode == 0, refresh.stdout[-3000:] + refresh.stderr[-3000:]
        # The analyst's connection still reads the file it opened.
        assert analyst.execute("select count(*) from marts.fct_documents").fetchone() == (17,)
        assert analyst.execute(
            "select count(*) from duckdb_tables() where schema_name = 'ops' and table_name = 'refresh_runs'"
        ).fetchone() == (0,)
    finally:
        analyst.close()
    # A new connection opens the refreshed file, which has the run in ops.refresh_runs.
    with duckdb.connect(str(published), read_only=True) as reader:
        assert reader.execute("select outcome from ops.refresh_runs").fetchall() == [("published",)]
        assert reader.execute("select count(*) from marts.fct_documents").fetchone() == (17,)


# --------------------------------------------------------------------------------------------
# The semantic layer (MetricFlow)
# --------------------------------------------------------------------------------------------

ANALYST_PROFILE = """\
billing_reports:
  target: analyst
  outputs:
    analyst:
      type: duckdb
      path: "{{ env_var('BILLING_WAREHOUSE', 'warehouse/billing.duckdb') }}"
      config_options:
        access_mode: READ_ONLY
      settings:
        TimeZone: "UTC"
"""


def _mf() -> str | None:
    beside = Path(sys.executable).with_name("mf")
    return str(beside) if beside.exists() else shutil.which("mf")


def test_metricflow_answers_from_the_read_only_analyst_profile(handmade_warehouse, tmp_path):
    # The dev extra installs dbt-metricflow: a missing `mf` is a broken setup, not a reason to skip.
    assert _mf() is not None, "dbt-metricflow is not installed: pip install -e '.[dev]'"
    from billing_reports.dbt_runner import run_dbt

    # `mf` reads <project>/target/semantic_manifest.json: a project folder of our own, so that
    # the project's target/ (used by concurrent builds) is not touched.
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "models", "macros", "seeds", "tests", "analyses"):
        if (PROJECT_DIR / name).exists():
            (project / name).symlink_to(PROJECT_DIR / name)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(ANALYST_PROFILE)
    warehouse = tmp_path / "warehouse" / "billing.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(handmade_warehouse, warehouse)
    parsed = run_dbt("parse", raw_dir=tmp_path / "raw", warehouse=warehouse, quiet=True, target_path=project / "target")
    assert parsed.success, parsed.failures

    env = dict(
        os.environ,
        BILLING_WAREHOUSE=str(warehouse),
        DBT_PROFILES_DIR=str(profiles),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )

    def mf_query(*arguments: str) -> list[dict]:
        out = tmp_path / "mf.csv"
        result = subprocess.run(
            [_mf(), "query", *arguments, "--csv", str(out)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0 and out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
        with open(out, newline="") as handle:
            return list(csv.DictReader(handle))

    analyst = duckdb.connect(str(warehouse), read_only=True)  # another reader: mf must not need a write lock
    try:
        by_day = mf_query("--metrics", "bills", "--group-by", "metric_time__day", "--order", "metric_time__day")
        by_month = mf_query(
            "--metrics",
            "bills,e_bill_share,pulled_bill_rate,fees,fees_per_bill,average_days_to_completion",
            "--group-by",
            "metric_time__month",
        )
        by_method = mf_query("--metrics", "bills", "--group-by", "document__delivery_method")
    finally:
        analyst.close()

    assert [(row["metric_time__day"][:10], int(row["bills"])) for row in by_day] == [
        ("2026-03-01", 2),  # J1
        ("2026-03-03", 3),  # J2, its pulled document included
        ("2026-03-05", 2),  # J3
        ("2026-03-06", 2),  # J5, both pulled
        ("2026-03-09", 2),  # J6, Toronto after the daylight-saving change
    ]
    assert sum(int(row["bills"]) for row in by_day) == 11
    [month] = by_month
    assert int(month["bills"]) == 11
    assert float(month["e_bill_share"]) == pytest.approx(5 / 11)  # D101, D102, D301, D302, D601
    assert float(month["pulled_bill_rate"]) == pytest.approx(3 / 11)  # D203, D501, D502
    assert float(month["fees"]) == pytest.approx(27.33 + 40.20 * 0.75)
    assert float(month["fees_per_bill"]) == pytest.approx((27.33 + 30.15) / 11)
    # U1 -> J1: 13 h 40 min = 0.5694 days; U4 -> J6: 40 h 30 min = 1.6875 days.
    assert float(month["average_days_to_completion"]) == pytest.approx((0.5694 + 1.6875) / 2)
    assert {row["document__delivery_method"]: int(row["bills"]) for row in by_method} == {
        "email": 4,
        "fax": 1,
        "pull": 3,
        "us_mail": 3,
    }


# --------------------------------------------------------------------------------------------
# The docs site
# --------------------------------------------------------------------------------------------


def test_docs_site_documents_public_models_and_metrics_from_a_scratch_copy(handmade_warehouse, tmp_path):
    from billing_reports.docs_site import generate_docs

    before = handmade_warehouse.stat().st_mtime_ns
    index = generate_docs(raw_dir=tmp_path / "raw", warehouse=handmade_warehouse, target_path=tmp_path / "site")
    assert index == tmp_path / "site" / "index.html" and index.exists()
    assert (tmp_path / "site" / "static_index.html").exists()
    assert handmade_warehouse.stat().st_mtime_ns == before  # the documented file was only read

    manifest = json.loads((tmp_path / "site" / "manifest.json").read_text())
    catalog = json.loads((tmp_path / "site" / "catalog.json").read_text())
    marts = {node["name"]: node for node in manifest["nodes"].values() if node.get("schema") == "marts"}
    assert set(marts) == set(_public_model_counts(handmade_warehouse))
    assert {node["access"] for node in marts.values()} == {"public"}
    assert {"bills", "e_bill_share", "pulled_bill_rate", "fees_per_bill", "average_days_to_completion"} <= {
        metric["name"] for metric in manifest["metrics"].values()
    }
    columns = catalog["nodes"]["model.billing_reports.fct_documents"]["columns"]
    assert columns["document_id"]["type"] == "VARCHAR"
