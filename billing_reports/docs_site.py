"""``billing-reports docs``: the dbt documentation site (models, columns, lineage, tests, metrics).

``dbt docs generate`` opens the warehouse to read its catalog (column types) and dbt-duckdb opens
it read-write, which would block readers of the published file. So the catalog is read from a
scratch copy: the published warehouse's schema only (``COPY FROM DATABASE ... (SCHEMA)``, no
rows, read through a read-only attach), in a temporary folder, under the same file name so that
the site names the same database. Without a published warehouse the scratch file is empty and
the site shows the YAML documentation without column types.

The site is written to ``target/docs`` (``--target-path``), apart from the ``target/`` of
builds, and served by ``dbt docs serve``; ``--no-serve`` only writes it (``index.html`` for a
server, ``static_index.html`` that opens from disk).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from billing_reports import settings
from billing_reports.sql import sql_string

DEFAULT_PORT = 8080


def default_target_path() -> Path:
    return settings.PROJECT_DIR / "target" / "docs"


def schema_copy(published: Path, scratch: Path) -> None:
    """Make ``scratch`` a DuckDB file with the schemas, tables and views of ``published`` and no rows."""
    import duckdb

    scratch_name = scratch.stem
    connection = duckdb.connect(str(scratch))
    try:
        connection.execute(f"attach {sql_string(published)} as published_warehouse (read_only)")
        connection.execute(f'copy from database published_warehouse to "{scratch_name}" (schema)')
        connection.execute("detach published_warehouse")
    finally:
        connection.close()


def generate_docs(
    *,
    raw_dir: Path,
    warehouse: Path,
    target_path: Path,
    progress=None,
) -> Path:
    """Run ``dbt docs generate --static`` with a scratch copy of ``warehouse``'s schema; return index.html."""
    say = progress or (lambda message: None)
    target_path.mkdir(parents=True, exist_ok=True)
    scratch_dir = Path(tempfile.mkdtemp(prefix="billing-docs-"))
    try:
        scratch = scratch_dir / (warehouse.name if warehouse.suffix else "billing.duckdb")
        if warehouse.is_file():
            say(f"reading the catalog from a schema-only copy of {warehouse}")
            schema_copy(warehouse, scratch)
        else:
            say(f"note: {warehouse} does not exist; the site will show no column types")
        say(f"dbt docs generate -> {target_path}")
        from billing_reports.dbt_runner import run_dbt

        result = run_dbt(
            "docs generate",
            raw_dir=raw_dir,
            warehouse=scratch,
            target_path=target_path,
            extra_args=["--static"],
        )
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    if not result.success:
        raise RuntimeError(f"dbt docs generate failed with exit code {result.returncode}")
    return target_path / "index.html"


def serve_docs(*, target_path: Path, port: int, host: str = "127.0.0.1") -> int:
    """``dbt docs serve`` of an already generated site; blocks until interrupted."""
    return _dbt(
        ["docs", "serve", "--port", str(port), "--host", host, "--no-browser"],
        raw_dir=settings.raw_dir(),
        warehouse=settings.warehouse_path(),
        target_path=target_path,
    )


def _dbt(arguments: Sequence[str], *, raw_dir: Path, warehouse: Path, target_path: Path) -> int:
    """``dbt docs serve`` in a child process that SIGTERM stops too (``run_dbt`` streams a finite run)."""
    env = dict(os.environ)
    env["BILLING_RAW_DIR"] = str(raw_dir)
    env["BILLING_WAREHOUSE"] = str(warehouse)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    command = [
        sys.executable,
        "-c",
        "import sys; from dbt.cli.main import cli; sys.exit(cli())",
        *arguments,
        "--project-dir",
        str(settings.PROJECT_DIR),
        "--profiles-dir",
        str(settings.PROJECT_DIR),
        "--target-path",
        str(target_path),
    ]
    process = subprocess.Popen(command, cwd=settings.PROJECT_DIR, env=env, stdout=sys.stderr, stderr=sys.stderr)
    previous = _stop_on_sigterm()
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM: stop dbt too, so that no server is left behind
        process.terminate()
        process.wait()
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm():
    """Turn SIGTERM into KeyboardInterrupt (main thread only); return the previous handler."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        return None


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    docs = subparsers.add_parser(
        "docs",
        help="generate and serve the dbt documentation site (models, lineage, tests, metrics)",
        description="Run `dbt docs generate` (its catalog read from a schema-only scratch copy of the "
        "warehouse, so the published file is never locked) and then `dbt docs serve`. With --no-serve, "
        "only write the site and print the path of its index.html.",
    )
    docs.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to serve on (default {DEFAULT_PORT})")
    docs.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    docs.add_argument("--no-serve", action="store_true", help="only generate the site and print its path")
    docs.add_argument("--raw-dir", help="landing folder (default: BILLING_RAW_DIR or data/raw)")
    docs.add_argument("--warehouse", help="DuckDB file (default: BILLING_WAREHOUSE or warehouse/billing.duckdb)")
    docs.add_argument("--target-path", help="where the site is written (default: target/docs)")
    docs.set_defaults(func=cmd_docs)


def cmd_docs(args: argparse.Namespace) -> int:
    import duckdb

    from billing_reports.cli import EXIT_FAILED, EXIT_OK, UserError, progress

    if not 0 < args.port < 65536:
        raise UserError(f"--port must be between 1 and 65535, got {args.port}")
    raw_dir = Path(args.raw_dir).resolve() if args.raw_dir else settings.raw_dir()
    warehouse = Path(args.warehouse).resolve() if args.warehouse else settings.warehouse_path()
    target_path = Path(args.target_path).resolve() if args.target_path else default_target_path()
    try:
        index = generate_docs(raw_dir=raw_dir, warehouse=warehouse, target_path=target_path, progress=progress)
    except duckdb.Error as error:
        print(f"billing-reports docs: could not read the schema of {warehouse}: {error}", file=sys.stderr)
        return EXIT_FAILED
    except RuntimeError as error:
        print(f"billing-reports docs: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.no_serve:
        progress(f"site written; open {target_path / 'static_index.html'} directly, or serve {target_path}")
        print(index)
        return EXIT_OK
    progress(f"serving the docs site on http://{args.host}:{args.port} (Ctrl-C to stop)")
    returncode = serve_docs(target_path=target_path, port=args.port, host=args.host)
    return EXIT_OK if returncode == 0 else EXIT_FAILED
