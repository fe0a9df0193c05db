"""``billing-reports``: the one command line of the warehouse.

Each subcommand lives in the module of its job. A module joins the command line by exposing
``register(subparsers)``, which adds its subcommands with ``set_defaults(func=...)``; ``func``
takes the parsed arguments and returns the exit code. Heavy imports (dbt, GX, Streamlit) stay
inside the functions, so ``--help`` is instant.

Exit codes (shared by every subcommand):
    0  success
    1  the work ran and failed (a dbt model or error-severity test failed, ...)
    2  a usage or input error: a bad option, a missing folder, an unreadable file
    3  another refresh holds the lock
    130 interrupted
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from billing_reports import fileio
from billing_reports.settings import SettingsError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_INTERRUPTED = 130

#: Modules that add subcommands, each with its ``register(subparsers)``.
COMMAND_MODULES = (
    "billing_reports.refresh",
    "billing_reports.serve",
    "billing_reports.notify",
    "billing_reports.bench",
    "billing_reports.export",
    "billing_reports.docs_site",
    "billing_reports.users",
    "billing_reports.approvals",
    "billing_reports.volume",
)


class UserError(Exception):
    """A mistake the user can fix; printed without a stack trace, exit code 2 (as is a ``SettingsError``)."""


def progress(message: str) -> None:
    """Progress lines for long work, on stderr so that stdout stays clean for data."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def non_negative_number(unit: str):
    """An argparse type for a number of ``unit`` (seconds, hours, ...) that is 0 or more."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"expected a number of {unit}, got {text!r}") from error
        if value < 0:
            raise argparse.ArgumentTypeError(f"expected 0 {unit} or more, got {text}")
        return value

    return parse


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from error
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


def _dbt_vars(text: str) -> dict:
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"--vars must be a JSON object: {error}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('--vars must be a JSON object, e.g. \'{"as_of": "2026-10-01T00:00:00Z"}\'')
    return value


def add_dbt_vars_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vars",
        type=_dbt_vars,
        default={},
        metavar="JSON",
        help='dbt vars passed through, e.g. \'{"as_of": "2026-10-31T12:00:00Z", "cad_to_usd_rate": 0.73}\'',
    )


def cmd_generate(args: argparse.Namespace) -> int:
    from billing_reports.generate import extend_one_day, generate

    out = Path(args.out)
    if args.extend_days:
        if not (out / "jobs").is_dir() or not any((out / "jobs").glob("*.csv*")):
            raise UserError(f"{out} holds no generated landing folder to extend (no {out / 'jobs'}/*.csv)")
        for _ in range(args.extend_days):
            try:
                summary = extend_one_day(out, seed=args.seed, progress=progress)
            except (FileNotFoundError, ValueError) as error:
                raise UserError(str(error)) from error
            progress(f"extended {out} by {summary['day']}: {summary['rows']}")
        return EXIT_OK
    if out.exists() and any(out.iterdir()) and not args.force:
        raise UserError(f"{out} is not empty; pass --force to write over it")
    summary = generate(
        out,
        documents=args.documents,
        clients=args.clients,
        days=args.days,
        seed=42 if args.seed is None else args.seed,
        progress=progress,
    )
    progress(f"wrote {out}: {summary}")
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    from billing_reports import settings
    from billing_reports.dbt_runner import run_dbt

    raw = Path(args.raw_dir) if args.raw_dir else settings.raw_dir()
    warehouse = Path(args.warehouse) if args.warehouse else settings.warehouse_path()
    if not raw.exists():
        progress(f"note: landing folder {raw} does not exist; every table will be empty")
    progress(f"dbt build: landing folder {raw} -> warehouse {warehouse}")
    result = run_dbt("build", raw_dir=raw, warehouse=warehouse, dbt_vars=args.vars)
    if not result.success:
        for failure in result.failures:
            print(f"FAILED {failure}", file=sys.stderr)
        return EXIT_FAILED
    progress(f"built {warehouse}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="billing-reports",
        description="Billing-operations analytics warehouse: generate demo data, build, refresh and serve the reports.",
        epilog="Settings: BILLING_RAW_DIR (landing folder, default data/raw), "
        "BILLING_WAREHOUSE (DuckDB file, default warehouse/billing.duckdb); README.md, Settings, lists every one.",
    )
    from billing_reports import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

    generate = subparsers.add_parser(
        "generate",
        help="write a realistic demo landing folder (deterministic for a seed)",
        description="Write a landing folder in the contract's layout: several US and Canadian clients, "
        "their jobs, documents, deliveries, batches, fees, routing and rules. Generated with DuckDB SQL; "
        "10 million documents take minutes.",
    )
    generate.add_argument("--out", required=True, help="the landing folder to write")
    generate.add_argument("--documents", type=_positive_int, default=20_000, help="documents in all (default 20000)")
    generate.add_argument("--clients", type=_positive_int, default=6, help="clients (billers) (default 6)")
    generate.add_argument("--days", type=_positive_int, default=30, help="days of activity (default 30)")
    generate.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random seed; same seed, same files (default 42; with --extend-days: derived from the folder)",
    )
    generate.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    generate.add_argument(
        "--extend-days",
        type=_positive_int,
        default=0,
        metavar="N",
        help="append N more extract days to the generated folder --out (no --force needed); "
        "--documents/--clients/--days are then ignored",
    )
    generate.set_defaults(func=cmd_generate)

    build = subparsers.add_parser(
        "build",
        help="run dbt build for the landing folder into the warehouse file",
        description="Run `dbt build` (every model and test) for BILLING_RAW_DIR into BILLING_WAREHOUSE. "
        "This writes the warehouse file in place; scheduled runs should use `refresh`, which builds "
        "into a new file and publishes it atomically.",
    )
    build.add_argument("--raw-dir", help="landing folder (default: BILLING_RAW_DIR or data/raw)")
    build.add_argument("--warehouse", help="DuckDB file (default: BILLING_WAREHOUSE or warehouse/billing.duckdb)")
    add_dbt_vars_option(build)
    build.set_defaults(func=cmd_build)

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    # The warehouse, export, logs, validation reports and outbox hold every client's data: what a
    # command (or dbt, DuckDB, SQLite under it) creates is private (docs/security.md).
    umask = fileio.use_private_umask()
    try:
        return int(args.func(args) or 0)
    except (UserError, SettingsError) as error:
        print(f"billing-reports {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"billing-reports {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        os.umask(umask)


if __name__ == "__main__":
    # `python -m billing_reports.cli` runs this file as __main__, a second copy of the module: the
    # commands raise billing_reports.cli.UserError, which only the imported module's main() catches.
    from billing_reports.cli import main as _main

    sys.exit(_main())
