"""Running dbt for a landing folder and a warehouse file, with clear errors.

dbt runs in a child process: dbt-duckdb keeps its DuckDB connection open for the life of the
process, which would block this process from opening the warehouse afterwards, and a child
process can be stopped cleanly.

On Spark (``BILLING_ENGINE=spark``, or ``engine="spark"``) dbt writes Parquet tables into a fresh
folder beside the warehouse file (``settings.spark_dir``); a successful build or run then copies
them into the warehouse file (``billing_reports.spark_warehouse``), so that every caller gets a
DuckDB warehouse file whichever engine built it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from billing_reports import fileio, settings
from billing_reports.settings import PROJECT_DIR

#: The env var that carries the dbt var ``as_of`` to dbt (see ``run_dbt``).
AS_OF_ENV = "BILLING_DBT_AS_OF"
#: The env var that carries the dbt var ``billing_incremental`` to dbt (see ``run_dbt``).
INCREMENTAL_ENV = "BILLING_DBT_INCREMENTAL"
#: dbt commands that write tables (and, on Spark, start from an empty Spark folder).
_WRITING_COMMANDS = ("build", "run", "seed", "snapshot")


def package_versions() -> str:
    """``name==version`` lines of the packages that decide what a build writes (dbt, its adapter and
    DuckDB): part of the refresh's code digest and of the batch's compiled-test cache key."""
    import importlib.metadata

    return "".join(f"{name}=={importlib.metadata.version(name)}\n" for name in ("dbt-core", "dbt-duckdb", "duckdb"))


@dataclass
class DbtResult:
    success: bool
    returncode: int
    failures: list[str] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    elapsed_seconds: float | None = None


def run_dbt(
    command: str,
    *,
    raw_dir: Path,
    warehouse: Path,
    dbt_vars: dict | None = None,
    extra_args: Sequence[str] = (),
    quiet: bool = False,
    target_path: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    engine: str | None = None,
    batch_tests: bool = False,
) -> DbtResult:
    """Run ``dbt <command>`` (e.g. ``build``, ``docs generate``) at the project root against ``raw_dir`` and ``warehouse``.

    The landing folder and warehouse reach dbt through the contract's environment variables, so a
    plain ``dbt build`` with the same settings gives the same result. dbt's output goes to
    ``on_line`` (default: this process's stderr) line by line, as progress. ``engine`` defaults
    to ``settings.engine()`` (env ``BILLING_ENGINE``).

    ``batch_tests`` (``build`` on DuckDB only; ``extra_args`` must not select nodes): build every node
    but the data tests, then run the data tests in one batch on the build's connection
    (``billing_reports.dbt_batch``); the results, ``run_results.json`` included, are those of a
    ``dbt build``.
    """
    engine = engine or settings.engine()
    fileio.private_dir(warehouse.parent)
    target = Path(target_path) if target_path else PROJECT_DIR / "target"
    env = dict(os.environ)
    env["BILLING_RAW_DIR"] = str(raw_dir)
    env["BILLING_WAREHOUSE"] = str(warehouse)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env["BILLING_ENGINE"] = engine
    spark_dir = settings.spark_dir(warehouse)
    writes = command.split()[0] in _WRITING_COMMANDS
    if engine == "spark":
        from billing_reports import spark_warehouse

        env["BILLING_SPARK_DIR"] = str(spark_dir)
        if writes:
            spark_warehouse.remove_spark_dir(spark_dir)
    batch = batch_tests and engine == "duckdb" and command == "build"
    common = [
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
        # dbt's file log defaults to debug (every query it sends), which costs about 10 % of a
        # build's fixed cost; its console output (info) reaches ``on_line``, and the refresh log.
        "--log-level-file",
        "warn",
    ]
    # dbt parses the whole project again when --vars change (8 s and more), but when an env var
    # changes only the files that read it: `as_of`, new each scheduled run, goes in the environment
    # (macros/portable/billing_as_of.sql reads it), so that partial parsing keeps working.
    dbt_vars = dict(dbt_vars or {})
    as_of = dbt_vars.pop("as_of", None)
    env[AS_OF_ENV] = "" if as_of is None else str(as_of)
    # The same for billing_incremental, which a refresh sets in one build and not in the next
    # (macros/portable/billing_incremental_build.sql reads it).
    incremental = dbt_vars.pop("billing_incremental", None)
    env[INCREMENTAL_ENV] = "true" if str(incremental).lower() in ("true", "1", "yes") else "false"
    if dbt_vars:
        common += ["--vars", json.dumps(dbt_vars)]
    if quiet:
        common += ["--quiet"]
    if batch:
        args = [sys.executable, "-m", "billing_reports.dbt_batch", *common, "--", *extra_args]
    else:
        cli = "import sys; from dbt.cli.main import cli; sys.exit(cli())"
        args = [sys.executable, "-c", cli, *command.split(), *common, *extra_args]
    emit = on_line or (lambda line: print(line, file=sys.stderr, flush=True))
    process = subprocess.Popen(
        args, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip("\n")
        output.append(line)
        emit(line)
    returncode = process.wait()

    results, failures, elapsed = _read_run_results(target / "run_results.json")
    if returncode != 0 and not failures:
        tail = "\n".join(output[-20:])
        failures.append(f"dbt {command} exited with code {returncode}:\n{tail}")
    if engine == "spark" and writes:
        import duckdb

        try:
            if returncode == 0:
                spark_warehouse.copy_into_duckdb(
                    spark_dir, warehouse, manifest_path=target / "manifest.json", progress=emit
                )
        except (OSError, ValueError, duckdb.Error) as error:
            returncode = 1
            failures.append(f"copying the Spark build's tables into {warehouse} failed: {error}")
        finally:
            # The Parquet is in the warehouse file now (or the build failed): the folder is not kept.
            spark_warehouse.remove_spark_dir(spark_dir)
    return DbtResult(
        success=returncode == 0,
        returncode=returncode,
        failures=failures,
        results=results,
        elapsed_seconds=elapsed,
    )


def _read_run_results(path: Path) -> tuple[list[dict], list[str], float | None]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return [], [], None
    results, failures = [], []
    for item in data.get("results", []):
        status = item.get("status")
        results.append({"node": item.get("unique_id"), "status": status, "seconds": item.get("execution_time")})
        if status in ("error", "fail", "runtime error"):
            failures.append(f"{item.get('unique_id')}: {status}: {item.get('message')}")
    return results, failures, data.get("elapsed_time")
