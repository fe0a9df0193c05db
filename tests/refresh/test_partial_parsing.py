"""dbt keeps its parse between runs whose ``as_of`` or ``billing_incremental`` differs (billing_reports.dbt_runner).

dbt parses the whole project again whenever ``--vars`` change (8 s and more of each refresh);
``run_dbt`` hands ``as_of`` over in env ``BILLING_DBT_AS_OF`` instead, which makes dbt re-parse
only the models that read it. That the value still reaches the models is proved by the R5 and R12
report tests (tests/test_reports.py), whose warehouse is built through ``run_dbt`` with an ``as_of``.
``billing_incremental`` goes in env ``BILLING_DBT_INCREMENTAL`` the same way, so that a refresh
switching between a full and an incremental build keeps its parse too.
"""

from __future__ import annotations

import json
from pathlib import Path

from billing_reports.dbt_runner import run_dbt
from tests.fixtures.handmade import write_handmade_landing


def _parse(tmp_path: Path, dbt_vars: dict) -> list[str]:
    """``dbt parse`` of the hand-made folder with ``dbt_vars`` (target folder ``tmp_path/target``);
    dbt's lines about partial parsing."""
    raw = tmp_path / "raw"
    if not raw.exists():
        write_handmade_landing(raw)
    lines: list[str] = []
    result = run_dbt(
        "parse",
        raw_dir=raw,
        warehouse=tmp_path / "billing.duckdb",
        dbt_vars=dbt_vars,
        target_path=tmp_path / "target",
        on_line=lines.append,
    )
    assert result.success, "\n".join(lines)
    return [line for line in lines if "partial pars" in line.lower()]


def test_a_new_as_of_keeps_partial_parsing(tmp_path):
    # The first parse has no saved manifest; the second has one, with another as_of.
    assert any(
        "saved manifest not found" in line for line in _parse(tmp_path, {"as_of": "2026-03-15T12:00:00Z", "n": 1})
    )
    assert _parse(tmp_path, {"as_of": "2026-03-16T12:00:00Z", "n": 1}) == []  # no "Unable to do partial parsing ..."
    # A change of any other var still parses the whole project again, as dbt does.
    assert any("config vars" in line for line in _parse(tmp_path, {"as_of": "2026-03-16T12:00:00Z", "n": 2}))


def test_switching_between_full_and_incremental_builds_keeps_partial_parsing(tmp_path):
    """The models re-parsed on the switch get the new value: the incremental ``base_`` and document
    models are full-refreshed in a full build only (their ``full_refresh`` config)."""

    def parse(dbt_vars: dict) -> tuple[list[str], dict]:
        lines = _parse(tmp_path, dbt_vars)
        nodes = json.loads((tmp_path / "target" / "manifest.json").read_text())["nodes"]
        full_refresh = {
            name: nodes[f"model.billing_reports.{name}"]["config"]["full_refresh"]
            for name in ("base_billing__documents", "fct_documents", "rpt_job_documents")
        }
        return lines, full_refresh

    lines, full_refresh = parse({})
    assert any("saved manifest not found" in line for line in lines)
    assert set(full_refresh.values()) == {True}
    lines, full_refresh = parse({"billing_incremental": True})
    assert lines == []  # no "Unable to do partial parsing because config vars ... changed"
    assert set(full_refresh.values()) == {False}
    lines, full_refresh = parse({"billing_incremental": False})
    assert lines == []
    assert set(full_refresh.values()) == {True}
