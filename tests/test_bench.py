"""The benchmark works end to end at a small size (CI runs it only small; real figures are in BENCHMARKS.md)."""

import json
import subprocess
import sys


def test_bench_writes_report_and_json_at_small_size(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    results = tmp_path / "bench.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "billing_reports.cli",
            "bench",
            "--documents",
            "20000",
            "--runs",
            "1",
            "--query-runs",
            "2",
            "--out",
            str(tmp_path / "bench"),
            "--report",
            str(report),
            "--json",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    data = json.loads(results.read_text())
    size = data["sizes"][0]
    assert size["documents"] == 20000
    assert size["full_refresh_ok"] is True
    assert size["scan_floor_seconds"] > 0 and size["full_refresh_seconds"] > size["scan_floor_seconds"]
    assert size["peak_rss_mib"] > 0
    assert {
        "check headers (quarantine)",
        "landing (on-run-start)",
        "models and tests",
        "validate the landed rows (GX)",
    } <= set(size["stages"])
    assert size["incremental_ok"] is True and size["incremental_refresh_seconds"] > 0
    assert size["incremental_modes"] == ["incremental"]
    assert "copy the published file forward (incremental)" in size["incremental_stages"]
    pages = size["dashboard_queries"]
    assert "Billing statistics" in pages and all("error" not in timing for timing in pages.values()), pages
    text = report.read_text()
    assert "| 20,000 |" in text and "Dashboard queries" in text


def test_bench_measures_the_document_lookup_on_an_existing_warehouse(handmade_warehouse):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "billing_reports.cli",
            "bench",
            "--warehouse",
            str(handmade_warehouse),
            "--pages",
            "find a document",
            "--query-runs",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    rows = [line for line in completed.stdout.splitlines() if line.startswith("| Job tracking")]
    # Only the lookup by document number was asked for; it ran without error.
    assert len(rows) == 1 and rows[0].startswith("| Job tracking: find a document by number |"), completed.stdout
    assert "error" not in rows[0]


def test_bench_says_when_the_warehouse_is_missing(tmp_path, capsys):
    from billing_reports.cli import EXIT_USAGE, main

    assert main(["bench", "--warehouse", str(tmp_path / "none.duckdb")]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert "is not a warehouse file" in error and "Traceback" not in error
