"""Running dbt for a landing folder and a warehouse file, in-process, with clear errors."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from billing_reports.settings import PROJECT_DIR


class DbtFailure(RuntimeError):
    """dbt ran but a model or an error-severity test failed."""


@dataclass
class DbtResult:
    success: bool
    failures: list[str]
    results: list[dict]


def run_dbt(
    command: str,
    *,
    raw_dir: Path,
    warehouse: Path,
    dbt_vars: dict | None = None,
    extra_args: Sequence[str] = (),
    quiet: bool = False,
) -> DbtResult:
    """Run ``dbt <command>`` at the project root against ``raw_dir`` and ``warehouse``.

    The landing folder and warehouse are handed to dbt through the contract's environment
    variables, so a plain ``dbt build`` with the same settings gives the same result.
    """
    from dbt.cli.main import dbtRunner  # imported lazily: dbt is slow to import

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    previous = {key: os.environ.get(key) for key in ("BILLING_RAW_DIR", "BILLING_WAREHOUSE")}
    os.environ["BILLING_RAW_DIR"] = str(raw_dir)
    os.environ["BILLING_WAREHOUSE"] = str(warehouse)
    args = [command, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    if quiet:
        args += ["--quiet"]
    args += list(extra_args)
    try:
        outcome = dbtRunner().invoke(args)
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    results: list[dict] = []
    failures: list[str] = []
    if outcome.result is not None and hasattr(outcome.result, "results"):
        for item in outcome.result.results:
            status = str(getattr(item, "status", ""))
            name = getattr(getattr(item, "node", None), "unique_id", "?")
            results.append(
                {"node": name, "status": status, "seconds": getattr(item, "execution_time", None)}
            )
            if status in ("error", "fail", "runtime error"):
                failures.append(f"{name}: {status}: {getattr(item, 'message', '')}")
    if outcome.exception is not None:
        failures.append(f"dbt could not run: {outcome.exception}")
    return DbtResult(success=bool(outcome.success), failures=failures, results=results)
