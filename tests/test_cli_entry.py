"""The command's three entry points report a user error the same way: one line, exit 2, no traceback."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["billing_reports.cli", "billing_reports"])
def test_python_dash_m_reports_a_user_error_in_one_line(module, tmp_path):
    # `export` of a warehouse file that does not exist raises the CLI's UserError inside the command.
    missing = tmp_path / "missing.duckdb"
    completed = subprocess.run(
        [sys.executable, "-m", module, "export", "--warehouse", str(missing), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "GX_ANALYTICS_ENABLED": "False", "HOME": str(tmp_path)},
    )
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines() == [
        f"billing-reports export: error: warehouse {missing} does not exist; run `billing-reports refresh` (or build) first"
    ]
