"""`billing-reports serve`: its options and its error when there is no warehouse yet."""

from __future__ import annotations

from billing_reports import cli, serve


def test_serve_without_a_warehouse_says_to_build_first(tmp_path, capsys):
    code = cli.main(["serve", "--warehouse", str(tmp_path / "missing.duckdb")])
    assert code == cli.EXIT_USAGE == 2
    assert "run `billing-reports build` first" in capsys.readouterr().err


def test_serve_uses_the_environment_warehouse_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BILLING_WAREHOUSE", str(tmp_path / "env.duckdb"))
    assert cli.main(["serve"]) == 2
    assert "env.duckdb" in capsys.readouterr().err


def test_serve_options():
    parser = cli.build_parser()
    args = parser.parse_args(["serve"])
    assert (args.port, args.host, args.warehouse) == (8501, "127.0.0.1", None)
    args = parser.parse_args(["serve", "--port", "9000", "--host", "--warehouse", "w.duckdb"])
    assert (args.port, args.host, args.warehouse) == (9000, "0.0.0.0", "w.duckdb")
    assert parser.parse_args(["serve", "--host", "10.0.0.5"]).host == "10.0.0.5"


def test_streamlit_runs_headless_without_usage_statistics():
    command = serve.streamlit_command(9000, "127.0.0.1")
    assert command[1:4] == ["-m", "streamlit", "run"]
    assert command[4].endswith("dashboards/app.py")
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.headless"] == "true"
    assert options["--browser.gatherUsageStats"] == "false"
    assert options["--server.port"] == "9000"
