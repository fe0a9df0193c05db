"""The data tests in one batch (billing_reports/dbt_batch.py) judge each test as dbt does.

A tiny dbt project: a seed of four people, two without a name, and a model over it, with tests
whose verdicts are worked out by hand (dbt's rules: ``failures`` = the rows the test returns;
``severity: error`` fails when ``failures <error_if>`` holds, else it warns when ``failures
<warn_if>`` holds; ``severity: warn`` never fails):

    test                       config                                   failures  verdict
    name_not_null              (defaults: error, != 0)                  2         fail
    name_not_null_warn         severity warn                            2         warn
    name_not_null_thresholds   warn_if > 1, error_if > 5                2         warn
    name_not_null_limit_1      limit 1, warn_if > 1, error_if > 1       1         pass (failures 0, as dbt reports a pass)
    id_unique                  (defaults)                               0         pass
    id_not_null                (defaults)                               0         pass

``tests/refresh/test_scoped_tests.py`` proves the same on the project itself (the same tests, SQL and
verdicts as ``dbt build``, scoped in an incremental build).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from billing_reports.settings import PROJECT_DIR

EXPECTED = {
    "name_not_null": ("fail", 2),
    "name_not_null_warn": ("warn", 2),
    "name_not_null_thresholds": ("warn", 2),
    "name_not_null_limit_1": ("pass", 0),
    "id_unique": ("pass", 0),
    "id_not_null": ("pass", 0),
}

SCHEMA = """
models:
  - name: people_named
    columns:
      - name: id
        data_tests:
          - unique: {name: id_unique}
          - not_null: {name: id_not_null}
      - name: name
        data_tests:
          - not_null: {name: name_not_null%(store)s}
          - not_null: {name: name_not_null_warn, config: {severity: warn}}
          - not_null: {name: name_not_null_thresholds, config: {warn_if: ">1", error_if: ">5"}}
          - not_null: {name: name_not_null_limit_1, config: {limit: 1, warn_if: ">1", error_if: ">1"}}
"""


def _project(root: Path, *, store_failures: bool = False) -> Path:
    project = root / "tiny"
    (project / "seeds").mkdir(parents=True)
    (project / "models").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\nseed-paths: [seeds]\nmodel-paths: [models]\n"
    )
    (project / "profiles.yml").write_text(
        "tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: \"{{ env_var('TINY_WAREHOUSE') }}\"\n      threads: 2\n"
    )
    (project / "seeds" / "people.csv").write_text("id,name\n1,Ann\n2,\n3,\n4,Bob\n")
    (project / "models" / "people_named.sql").write_text("select id, name from {{ ref('people') }}\n")
    store = ", config: {store_failures: true}" if store_failures else ""
    (project / "models" / "schema.yml").write_text(SCHEMA % {"store": store})
    return project


def _run(project: Path, warehouse: Path, *, batch: bool) -> tuple[int, dict, str]:
    """(exit code, {test name: (status, failures)}, output) of a dbt build of the tiny project."""
    target = warehouse.parent / f"target-{'batch' if batch else 'build'}"
    common = ["--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(target)]
    if batch:
        args = [sys.executable, "-m", "billing_reports.dbt_batch", *common, "--", "--no-use-colors"]
    else:
        args = [sys.executable, "-c", "import sys; from dbt.cli.main import cli; sys.exit(cli())", "build", *common]
    env = {**os.environ, "TINY_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    # From the project's root, as run_dbt runs it (billing_reports importable either way).
    process = subprocess.run(args, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    results = json.loads((target / "run_results.json").read_text())["results"]
    verdicts = {
        result["unique_id"].split(".")[2]: (result["status"], result["failures"])
        for result in results
        if result["unique_id"].startswith("test.")
    }
    return process.returncode, verdicts, process.stdout + process.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("dbt_batch")
    project = _project(root)
    return {
        "build": _run(project, root / "build.duckdb", batch=False),
        "batch": _run(project, root / "batch.duckdb", batch=True),
    }


def test_dbt_build_gives_the_verdicts_worked_out_by_hand(runs):
    code, verdicts, output = runs["build"]
    assert verdicts == EXPECTED, output[-3000:]
    assert code == 1


def test_the_batch_gives_the_same_verdicts(runs):
    code, verdicts, output = runs["batch"]
    assert verdicts == EXPECTED, output[-3000:]
    assert code == 1  # a test failed: the refresh publishes nothing
    assert "data tests in one batch: 6 in" in output and "1 fail, 3 pass, 2 warn" in output
    assert re.search(r"test\.tiny\.name_not_null(\.\w+)?: Got 2 results, configured to fail if != 0", output)


def test_a_test_that_stores_its_failures_makes_the_batch_run_the_tests_as_dbt_nodes(tmp_path):
    """The batch writes no failure tables; a project that asks for them gets them from dbt itself."""
    project = _project(tmp_path, store_failures=True)
    warehouse = tmp_path / "batch.duckdb"
    code, verdicts, output = _run(project, warehouse, batch=True)
    assert verdicts == EXPECTED, output[-3000:]
    assert code == 1
    assert "the data tests run as dbt nodes" in output
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        stored = connection.execute("select count(*) from main_dbt_test__audit.name_not_null").fetchone()
    assert stored == (2,)
