"""``billing-reports serve``: the managers' dashboard (Streamlit) on the published warehouse."""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

from billing_reports import settings
from billing_reports.settings import auth_disabled

APP = settings.PROJECT_DIR / "dashboards" / "app.py"
DEFAULT_PORT = 8501
DEFAULT_HOST = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"


def is_loopback(address: object) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only.

    An unset or empty address is NOT: Streamlit (like most servers) then listens on every
    interface. ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1) are.
    """
    text = str(address or "").strip().strip("[]")
    if text.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def auth_off_refusal(address: object) -> str | None:
    """Why ``BILLING_AUTH=off`` may not be served on ``address`` (None: it may, or sign-in is on).

    ``serve`` checks it before starting Streamlit; the dashboard (``dashboards.auth.sign_in``)
    checks Streamlit's ``server.address`` on every run, for ``streamlit run``.
    """
    if not auth_disabled() or is_loopback(address):
        return None
    shown = f"address {str(address).strip()!r}" if str(address or "").strip() else "no address (every interface)"
    return (
        f"sign-in is off (BILLING_AUTH=off), which is for a local demo only, but the server would listen on "
        f"{shown}, which other machines can reach. Serve it on 127.0.0.1 (`billing-reports serve`, or "
        "`streamlit run dashboards/app.py --server.address 127.0.0.1`), or add users (`billing-reports users "
        "add NAME --role ops`) and unset BILLING_AUTH."
    )


def streamlit_command(port: int, host: str) -> list[str]:
    """``streamlit run dashboards/app.py``, headless, without usage statistics."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
        "--theme.base",
        "light",
        "--theme.primaryColor",
        "#1c7ed6",
    ]


def cmd_serve(args: argparse.Namespace) -> int:
    from billing_reports.cli import EXIT_INTERRUPTED, UserError, progress

    settings.check(settings.DASHBOARD_SETTINGS)  # a bad value stops here, not on a page
    refusal = auth_off_refusal(args.host)
    if refusal:
        raise UserError(f"refusing to start: {refusal}")
    warehouse = Path(args.warehouse).expanduser().resolve() if args.warehouse else settings.warehouse_path()
    if not warehouse.is_file():
        raise UserError(
            f"the warehouse {warehouse} does not exist yet: run `billing-reports build` first "
            "(or `billing-reports refresh`), or pass --warehouse"
        )
    environment = dict(os.environ)
    environment["BILLING_WAREHOUSE"] = str(warehouse)
    shown_host = "localhost" if args.host in (DEFAULT_HOST, ALL_INTERFACES) else args.host
    progress(f"serving the dashboard on {warehouse} at http://{shown_host}:{args.port} (Ctrl+C stops it)")
    process = subprocess.Popen(streamlit_command(args.port, args.host), cwd=settings.PROJECT_DIR, env=environment)

    # A service manager (or a test) stops `serve` with SIGTERM: pass it on, so Streamlit stops too.
    def forward(signum: int, _frame: object) -> None:
        if process.poll() is None:
            process.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        code = process.wait()
    except KeyboardInterrupt:
        _stop(process)
        return EXIT_INTERRUPTED
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _stop(process)
    return 128 - code if code < 0 else code


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from error
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the managers' dashboard (Streamlit) on the published warehouse",
        description="Run the dashboard (`streamlit run dashboards/app.py`, headless, usage statistics off) "
        "on the published warehouse, read-only. Settings: BILLING_DASHBOARD_CACHE_SECONDS (query cache, "
        "default 60), BILLING_STALE_AFTER_HOURS (stale banner, default 26).",
    )
    serve.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"the port to listen on (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--warehouse", help="the DuckDB file to read (default: BILLING_WAREHOUSE or warehouse/billing.duckdb)"
    )
    serve.add_argument(
        "--host",
        nargs="?",
        const=ALL_INTERFACES,
        default=DEFAULT_HOST,
        metavar="ADDRESS",
        help=f"the address to listen on (default {DEFAULT_HOST}, this machine only); "
        f"--host alone listens on every interface ({ALL_INTERFACES}). With BILLING_AUTH=off only a "
        "loopback address (127.0.0.1, ::1, localhost) is accepted",
    )
    serve.set_defaults(func=cmd_serve)
