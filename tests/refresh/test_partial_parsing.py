"""dbt keeps its parse between runs whose ``as_of`` differs (billing_reports.dbt_runner).

dbt parses the whole project again whenever ``--vars`` change (8 s and more of each refresh);
``run_dbt`` hands ``as_of`` over in env ``BILLING_DBT_AS_OF`` instead, which makes dbt re-parse
only the models that read it. That the value still reaches the models is proved by the R5 and R12
report tests (tests/test_reports.py), whose warehouse is built through ``run_dbt`` with an ``as_of``.
"""

from __future__ import annotations

from billing_reports.dbt_runner import run_dbt
from tests.fixtures.handmade import write_handmade_landing


def test_a_new_as_of_keeps_partial_parsing(tmp_path):
    raw = write_handmade_landing(tmp_path / "raw")

    def parse(dbt_vars: dict) -> list[str]:
        """dbt's lines about partial parsing when it parses with ``dbt_vars``."""
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

    # The first parse has no saved manifest; the second has one, with another as_of.
    assert any("saved manifest not found" in line for line in parse({"as_of": "2026-03-15T12:00:00Z", "n": 1}))
    assert parse({"as_of": "2026-03-16T12:00:00Z", "n": 1}) == []  # no "Unable to do partial parsing because ..."
    # A change of any other var still parses the whole project again, as dbt does.
    assert any("config vars" in line for line in parse({"as_of": "2026-03-16T12:00:00Z", "n": 2}))
