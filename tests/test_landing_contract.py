"""One definition of the landing contract: a column or a delivery channel added in one place reaches every consumer.

A copy of the project gets two one-file changes: a column ``document_reference`` (text) added to ``documents``
in ``models/staging/billing/_billing__sources.yml``, and a delivery channel ``sms`` ("SMS") added to
``seeds/delivery_channels.csv``. Nothing else is edited. The copy's own code (``PYTHONPATH`` = the copy, so its
``PROJECT_DIR`` is the copy) then shows that the change reached:

- the validator: the column is in the table spec and the header check; ``sms`` is a known delivery channel;
- the generator: its documents files carry the new column; ``sms`` is one of its channels;
- the dashboard labels: ``sms`` is labelled "SMS";
- the loader and the dbt row checks: the column lands in ``raw.documents``; a row routed to ``sms`` is accepted
  and one routed to ``carrier_pigeon`` is rejected as an unknown delivery channel.
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

from billing_reports.landing_contract import load_contract, seed_labels, table_columns, table_keys
from billing_reports.settings import PROJECT_DIR

PROJECT_PARTS = [
    "billing_reports",
    "dashboards",
    "macros",
    "models",
    "seeds",
    "tests/dbt",
    "dbt_project.yml",
    "profiles.yml",
]


def test_the_contract_module_reads_the_source_yaml():
    contract = load_contract()
    # 16 raw tables in load order; documents has 14 columns (contract section 2), keyed by document_id
    assert list(contract.tables)[:3] == ["clients", "contacts", "branches"]
    assert len(contract.tables) == 16
    assert table_keys()["branches"] == ["client_id", "branch_code"]
    assert len(table_columns()["documents"]) == 14
    # money parses as a decimal with two places, as dbt parses it; counts are non-negative
    assert contract.column_types["money"].cast == "decimal(18, 2)"
    assert contract.column_types["quantity"].cast == "decimal(18, 4)"
    assert contract.column_types["count"].non_negative
    assert not contract.column_types["signed_money"].non_negative
    # a seed-backed code column takes its values from the seed, in the seed's order
    channel = next(c for c in contract.tables["documents"].columns if c.name == "delivery_channel")
    assert channel.values_from == "delivery_channels"
    assert channel.values == tuple(seed_labels("delivery_channels", "delivery_channel", "channel_label"))
    assert channel.values[:3] == ("us_mail", "email", "fax")


@pytest.fixture(scope="module")
def changed_project(tmp_path_factory) -> Path:
    """A copy of the project with one new documents column and one new delivery channel, each in one file."""
    root = tmp_path_factory.mktemp("contract") / "project"
    root.mkdir()
    for part in PROJECT_PARTS:
        source = PROJECT_DIR / part
        (root / part).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / part)
    sources = root / "models" / "staging" / "billing" / "_billing__sources.yml"
    text = sources.read_text(encoding="utf-8")
    anchor = "    - name: page_count\n"
    assert text.count(anchor) == 1
    new_column = "    - name: document_reference\n      description: The biller's own reference.\n      meta:\n        type: text\n"
    # page_count is the last documents column: the new one goes after its three lines (description, meta, type)
    at = text.index(anchor)
    end = at + len(anchor) + len("".join(text[at + len(anchor) :].splitlines(keepends=True)[:3]))
    sources.write_text(text[:end] + new_column + text[end:], encoding="utf-8")
    with (root / "seeds" / "delivery_channels.csv").open("a", encoding="utf-8") as handle:
        handle.write("sms,electronic,SMS,10\n")
    return root


def _run_in(project: Path, code: str) -> dict:
    """Run Python in the copy (its billing_reports and dashboards) as a script file (under ``python -c``,
    importing Great Expectations ends the process early); the code calls ``report(dict)``, read back here."""
    result = project / "result.json"
    result.unlink(missing_ok=True)
    script = project / "check_contract.py"
    prelude = f"import json\ndef report(data):\n    open({str(result)!r}, 'w').write(json.dumps(data))\n"
    script.write_text(prelude + code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(project), "GX_ANALYTICS_ENABLED": "False"}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(result.read_text())


def test_a_new_column_and_channel_reach_validator_generator_and_labels(changed_project, tmp_path):
    out = tmp_path / "raw"
    seen = _run_in(
        changed_project,
        f"""
from pathlib import Path
import billing_reports.landing_contract as lc
from billing_reports import validate
from billing_reports.generate import CHANNELS, TABLE_COLUMNS, generate
from dashboards import ui

assert lc.PROJECT_DIR == Path({str(changed_project)!r}), lc.PROJECT_DIR
import great_expectations as gx

gx.get_context(mode="ephemeral")
spec = validate.load_table_specs()["documents"]
suite = validate.build_suite(spec, (2000, 2100))
channel_sets = [e.value_set for e in suite.expectations
                if type(e).__name__ == "ExpectColumnValuesToBeInSet" and e.column == "delivery_channel"]
generate({str(out)!r}, documents=300, days=5, seed=3)
report({{
    "spec_columns": spec.column_names,
    "suite_channels": [sorted(s) for s in channel_sets],
    "generator_columns": TABLE_COLUMNS["documents"],
    "generator_channels": CHANNELS,
    "label": ui.method_label("sms"),
}})
""",
    )
    assert seen["spec_columns"][-1] == "document_reference"
    assert "sms" in seen["suite_channels"][0]
    assert seen["generator_columns"] == seen["spec_columns"]
    assert seen["generator_channels"][-1] == "sms"
    assert seen["label"] == "SMS"
    written = sorted((out / "documents").glob("*.csv"))
    assert written
    with written[0].open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header == seen["spec_columns"]


def test_a_new_column_and_channel_reach_the_loader_and_the_row_checks(changed_project, tmp_path):
    """The copy's dbt lands the new column and judges the new channel by the seed."""
    out = tmp_path / "raw"
    _run_in(
        changed_project,
        f"from billing_reports.generate import generate; generate({str(out)!r}, documents=200, days=5, seed=5); report({{}})",
    )
    first = sorted((out / "documents").glob("*.csv"))[0]
    with first.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    fields = list(rows[0])
    # the first two documents of the first day: one routed to the new channel, one to a channel nobody defined
    rows[0].update(delivery_channel="sms", pull_class="", document_reference="REF-1")
    rows[1].update(delivery_channel="carrier_pigeon", pull_class="")
    with first.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    warehouse = tmp_path / "w.duckdb"
    env = {
        **os.environ,
        "PYTHONPATH": str(changed_project),
        "BILLING_RAW_DIR": str(out),
        "BILLING_WAREHOUSE": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dbt.cli.main",
            "build",
            "--select",
            "+base_billing__documents",
            "--exclude-resource-type",
            "test",
            "--project-dir",
            str(changed_project),
            "--profiles-dir",
            str(changed_project),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=changed_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        landed = con.execute(
            "select document_reference from raw.documents where document_id = ?", [rows[0]["document_id"]]
        ).fetchall()
        judged = dict(
            (document_id, (status, reason))
            for document_id, status, reason in con.execute(
                "select document_id, _row_status, _reject_reason from staging.base_billing__documents "
                "where document_id in (?, ?)",
                [rows[0]["document_id"], rows[1]["document_id"]],
            ).fetchall()
        )
    assert landed == [("REF-1",)]
    assert judged[rows[0]["document_id"]] == ("current", None)
    assert judged[rows[1]["document_id"]] == ("rejected", "unknown delivery_channel: 'carrier_pigeon'")
