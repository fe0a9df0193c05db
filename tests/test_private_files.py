"""Issue 16, items 5 and 7: what the commands write holds every client's data, so it is private,
and `billing-reports export --out DIR` never deletes a folder that is not an earlier export.

Each attack runs the real command in a subprocess, as an operator would, with the usual login
umask 022 (under which files used to be created 0644 and folders 0755: readable by every account).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.handmade import AS_OF, CAD_TO_USD_RATE, write_handmade_landing

PROJECT_DIR = Path(__file__).resolve().parents[1]
HANDMADE_VARS = {"as_of": AS_OF, "cad_to_usd_rate": CAD_TO_USD_RATE}


def _command(*argv: str, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "GX_ANALYTICS_ENABLED": "False",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PYTHONPATH": str(PROJECT_DIR),  # this checkout's code
        **(env or {}),
    }
    script = Path(sys.executable).with_name("billing-reports")  # as an operator runs it
    return subprocess.run(
        [str(script), *argv],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=lambda: os.umask(0o022),  # a login's usual umask
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ----------------------------------------------------------------------------------------------
# 5. export --out refuses a folder that is not an earlier export
# ----------------------------------------------------------------------------------------------


def test_export_out_the_warehouse_folder_is_refused_and_nothing_is_deleted(handmade_warehouse, tmp_path):
    # A warehouse folder as `refresh` leaves it: the warehouse, the users file, the outbox.
    folder = tmp_path / "warehouse"
    folder.mkdir()
    warehouse = folder / "billing.duckdb"
    warehouse.write_bytes(handmade_warehouse.read_bytes())
    (folder / "users.toml").write_text("[users]\n")
    (folder / "outbox.sqlite").write_bytes(b"SQLite format 3\0")
    before = sorted(path.name for path in folder.iterdir())

    result = _command("export", "--warehouse", str(warehouse), "--out", str(folder))
    assert result.returncode == 2, result.stderr
    assert f"{folder} is not empty and is not an earlier export" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in folder.iterdir()) == before
    assert (folder / "users.toml").read_text() == "[users]\n"
    assert not list(tmp_path.glob("warehouse.old-*")) and not list(tmp_path.glob("warehouse.tmp-*"))


def test_export_out_a_file_or_a_folder_with_a_forged_summary_is_refused(handmade_warehouse, tmp_path):
    from billing_reports.export import NotAnExport, export_marts

    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    with pytest.raises(NotAnExport, match="is not a folder"):
        export_marts(handmade_warehouse, a_file)
    assert a_file.read_text() == "keep me"

    # An _export.json does not make any folder an export: it must name all the folder holds.
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "_export.json").write_text(json.dumps({"export_id": "x", "models": {"fct_documents": {}}}))
    (forged / "billing.duckdb").write_bytes(b"precious")
    with pytest.raises(NotAnExport, match="not an earlier export"):
        export_marts(handmade_warehouse, forged)
    assert (forged / "billing.duckdb").read_bytes() == b"precious"


def test_export_replaces_an_earlier_export_and_fills_an_empty_folder(handmade_warehouse, tmp_path):
    from billing_reports.export import export_marts, is_earlier_export

    empty = tmp_path / "empty"
    empty.mkdir()
    first = export_marts(handmade_warehouse, empty)
    assert is_earlier_export(empty)
    second = export_marts(handmade_warehouse, empty)  # an earlier export: replaced whole
    assert second["export_id"] != first["export_id"]
    assert json.loads((empty / "_export.json").read_text())["export_id"] == second["export_id"]


# ----------------------------------------------------------------------------------------------
# 7. The warehouse, the export, the logs, the validation reports and the outbox are private
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    """`billing-reports refresh` then `notify --dry-run`, with umask 022, into a warehouse folder
    that already exists with mode 0755 (as the repository's warehouse/ is checked out)."""
    root = tmp_path_factory.mktemp("private")
    raw = write_handmade_landing(root / "raw")
    folder = root / "warehouse"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    environment = {
        "BILLING_RAW_DIR": str(raw),
        "BILLING_WAREHOUSE": str(folder / "billing.duckdb"),
        "BILLING_EXPORT_DIR": str(root / "exports" / "parquet"),
    }
    environment.pop("BILLING_OUTBOX", None)
    refresh = _command("refresh", "--vars", json.dumps(HANDMADE_VARS), env=environment)
    assert refresh.returncode == 0, refresh.stdout[-3000:] + refresh.stderr[-3000:]
    notify = _command("notify", "--dry-run", "--eml-dir", str(root / "mail"), env=environment)
    assert notify.returncode == 0, notify.stdout[-3000:] + notify.stderr[-3000:]
    return root, folder


def test_everything_the_commands_write_is_private(refreshed):
    root, folder = refreshed
    written = {
        "warehouse": folder / "billing.duckdb",
        "run log": folder / "refresh_runs.jsonl",
    }
    for name, path in written.items():
        assert path.is_file(), name
    logs = list((folder / "logs").glob("*.log"))
    reports = [path for path in (folder / "validation").rglob("*") if path.is_file()]
    parquet = [path for path in (root / "exports").rglob("*") if path.is_file()]
    mails = list((root / "mail").rglob("*.eml"))
    assert logs and reports and parquet and mails
    for path in [*written.values(), *logs, *reports, *parquet, *mails]:
        assert _mode(path) & 0o077 == 0, f"{path} is {_mode(path):04o}"
    folders = [
        folder / "logs",
        folder / "validation",
        root / "exports",
        root / "exports" / "parquet",
        root / "mail",
        *[path for path in (root / "exports").rglob("*") if path.is_dir()],
    ]
    for path in folders:
        assert _mode(path) == 0o700, f"{path} is {_mode(path):04o}"


def test_the_gitignore_covers_the_streamlit_secrets_file():
    result = subprocess.run(
        ["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=PROJECT_DIR, capture_output=True
    )
    assert result.returncode == 0
    assert subprocess.run(["git", "check-ignore", "-q", ".streamlit/config.toml"], cwd=PROJECT_DIR).returncode == 1


def test_the_outbox_is_created_private_whatever_the_umask(tmp_path):
    """The outbox (every e-mail's recipient, subject and state) is made by SQLite, which would use
    the umask's 0644; `notify` is also called from `refresh --notify` and from Python."""
    from billing_reports.notify.outbox import Outbox

    previous = os.umask(0o022)
    try:
        box = Outbox(tmp_path / "new" / "outbox.sqlite")
        box.close()
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "new" / "outbox.sqlite") == 0o600
    assert _mode(tmp_path / "new") == 0o700
