"""Per-run volume and distribution checks with Great Expectations, compared with recent runs.

dbt judges every landed row (R14); these checks judge a day as a whole, which row tests do badly: the newest
extract day of the landing folder (the file days ``YYYY-MM-DD.csv`` of the ``raw`` tables a build landed)
against the days before it. Per day:

- ``rows_per_table``: rows landed per raw table;
- ``documents_per_client``: documents per client;
- ``silent_client``: a client that sends on (almost) every day of the kind sent nothing;
- ``failure_rate`` / ``bounce_rate``: the share of the day's deliveries that failed / bounced;
- ``fee_per_document``: the day's fee amount per document landed that day;
- ``unassigned_branch_share``: documents of by-branch clients with no branch (the document's nor the
  customer's), of all their documents that day.

The thresholds live in one suite file, ``expectations/volume_suite.yml``. Each check becomes one GX
expectation (``expect_column_values_to_be_between`` on the check's row, with the bounds worked out from the
baseline), so the Data Docs show the value, the bounds and the outcome. ``check_volume`` writes
``volume.json`` and ``volume_docs/`` into a report folder and ``ops.volume_checks`` into the warehouse; the
refresh runs it after the build and only warns.
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from billing_reports import fileio
from billing_reports.landing_contract import table_columns
from billing_reports.settings import PROJECT_DIR

SUITE_FILE = PROJECT_DIR / "expectations" / "volume_suite.yml"

#: The extract day of a landed row: the day in its file's name.
_FILE_DAY = r"regexp_extract(_source_file, '([0-9]{4}-[0-9]{2}-[0-9]{2})[.]csv([.]gz)?$', 1)"

#: ``ops.volume_checks``: the checks of the last refresh, one row per check and subject.
VOLUME_CHECKS_COLUMNS = {
    "run_id": "varchar",
    "checked_day": "date",
    "check_name": "varchar",
    "subject": "varchar",
    "value": "double",
    "baseline": "double",
    "low": "double",
    "high": "double",
    "history_days": "integer",
    "passed": "boolean",
}


@dataclass
class Check:
    """One check of the day: its value, the baseline of recent days and the bounds it must stay within."""

    check_name: str
    subject: str
    value: float
    baseline: float | None
    low: float | None
    high: float | None
    history_days: int
    passed: bool | None = None

    @property
    def key(self) -> str:
        return f"{self.check_name}:{self.subject}"


def load_thresholds(path: Path = SUITE_FILE) -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# The day's figures and their baselines
# --------------------------------------------------------------------------------------------


def _raw_tables(connection) -> set[str]:
    rows = connection.execute(
        "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'raw'"
    ).fetchall()
    return {row[0] for row in rows}


def _daily(connection, sql: str) -> dict[tuple[str, datetime.date], float]:
    """``{(subject, day): value}`` from SQL returning ``subject, day, value``."""
    return {
        (str(subject), day): float(value)
        for subject, day, value in connection.execute(sql).fetchall()
        if day is not None and value is not None
    }


def daily_figures(connection) -> dict[str, dict[tuple[str, datetime.date], float]]:
    """Every figure the checks use, per check: ``{(subject, file day): value}``."""
    present = _raw_tables(connection)
    day = f"cast(nullif({_FILE_DAY}, '') as date)"
    figures: dict[str, dict] = {}
    tables = [table for table in table_columns() if table in present]
    figures["rows_per_table"] = {}
    for table in tables:
        figures["rows_per_table"].update(
            _daily(connection, f"select '{table}', {day} as day, count(*) from raw.{table} group by all")
        )
    if "documents" in present:
        figures["documents_per_client"] = _daily(
            connection, f"select client_id, {day} as day, count(*) from raw.documents group by all"
        )
    if "deliveries" in present:
        for check, outcome in (("failure_rate", "failed"), ("bounce_rate", "bounced")):
            figures[check] = _daily(
                connection,
                f"select 'all deliveries', {day} as day, avg(case when outcome = '{outcome}' then 1.0 else 0.0 end)"
                " from raw.deliveries group by all",
            )
    if {"fees", "documents"} <= present:
        figures["fee_per_document"] = _daily(
            connection,
            f"""
            with fees as (
                select {day} as day, sum(try_cast(amount as decimal(18, 2))) as amount from raw.fees group by all
            ),
            documents as (select {day} as day, count(*) as documents from raw.documents group by all)
            select 'all clients', day, amount / documents from fees inner join documents using (day)
            """,
        )
    if {"documents", "clients", "customers"} <= present:
        figures["unassigned_branch_share"] = _daily(
            connection,
            f"""
            with by_branch as (
                select distinct client_id from raw.clients where lower(invoices_by_branch) = 'true'
            ),
            customer_branches as (
                select client_id, customer_account_id, max(nullif(branch_code, '')) as branch_code
                from raw.customers group by all
            )
            select
                'by-branch clients',
                {day} as day,
                avg(case when nullif(d.branch_code, '') is null and c.branch_code is null then 1.0 else 0.0 end)
            from raw.documents as d
            inner join by_branch as b on d.client_id = b.client_id
            left join customer_branches as c
                on d.client_id = c.client_id and d.customer_account_id = c.customer_account_id
            group by all
            """,
        )
    return figures


def _is_weekend(day: datetime.date) -> bool:
    return day.weekday() >= 5


def plan_checks(figures: dict, thresholds: dict, day: datetime.date | None = None) -> tuple[datetime.date, list[Check]]:
    """The checks of ``day`` (default: the newest file day of any table) with their bounds from recent days."""
    all_days = {d for values in figures.values() for (_, d) in values}
    if not all_days:
        raise ValueError("the warehouse holds no landed rows from day files (raw.<table> with YYYY-MM-DD.csv)")
    day = day or max(all_days)
    horizon = day - datetime.timedelta(days=int(thresholds.get("history_days", 28)))
    min_days = int(thresholds.get("min_history_days", 3))
    settings = thresholds.get("checks") or {}
    checks: list[Check] = []

    def history(values: dict, subject: str, days: list[datetime.date]) -> list[float]:
        return [values.get((subject, d), 0.0) for d in days]

    def same_kind(days: set[datetime.date]) -> list[datetime.date]:
        return sorted(d for d in days if horizon <= d < day and _is_weekend(d) == _is_weekend(day))

    # counts: compared with the same kind of day; a day without rows of the subject counts as 0 when the
    # table had rows that day (rows_per_table: only days with the table's files)
    for name in ("rows_per_table", "documents_per_client"):
        if name not in figures or name not in settings:
            continue
        values, rule = figures[name], settings[name]
        table_days = {d for (_, d) in values}
        for subject in sorted({s for (s, _) in values}):
            days = same_kind({d for (s, d) in values if s == subject} if name == "rows_per_table" else table_days)
            past = history(values, subject, days)
            if len(past) < min_days:
                continue
            baseline = statistics.median(past)
            if baseline <= 0 or baseline < float(rule.get("min_baseline", 0)):
                continue
            checks.append(
                Check(
                    name,
                    subject,
                    values.get((subject, day), 0.0),
                    baseline,
                    baseline * float(rule["min_ratio"]),
                    baseline * float(rule["max_ratio"]),
                    len(past),
                )
            )
    if "documents_per_client" in figures and "silent_client" in settings:
        values = figures["documents_per_client"]
        days = same_kind({d for (_, d) in values})
        for subject in sorted({s for (s, _) in values}):
            past = history(values, subject, days)
            sent_share = sum(1 for value in past if value > 0) / len(past) if past else 0.0
            if len(past) >= min_days and sent_share >= float(settings["silent_client"]["always_share"]):
                checks.append(
                    Check("silent_client", subject, values.get((subject, day), 0.0), sent_share, 1.0, None, len(past))
                )
    # rates and amounts: compared with every recent day that has them
    for name in ("failure_rate", "bounce_rate", "unassigned_branch_share", "fee_per_document"):
        if name not in figures or name not in settings:
            continue
        values, rule = figures[name], settings[name]
        for subject in sorted({s for (s, _) in values}):
            if (subject, day) not in values:
                continue
            past = [v for (s, d), v in values.items() if s == subject and horizon <= d < day]
            if len(past) < min_days:
                continue
            baseline = statistics.median(past)
            if "max_increase" in rule:
                low, high = None, baseline + float(rule["max_increase"])
            else:
                low, high = baseline * float(rule["min_ratio"]), baseline * float(rule["max_ratio"])
            checks.append(Check(name, subject, values[(subject, day)], baseline, low, high, len(past)))
    return day, checks


# --------------------------------------------------------------------------------------------
# Great Expectations: one expectation per check, Data Docs
# --------------------------------------------------------------------------------------------


def run_suite(checks: list[Check], docs_dir: Path | None = None) -> tuple[list[Check], str | None]:
    """Validate the checks with GX (each its own expectation); fills ``passed``; returns the Data Docs index."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import pandas
    from great_expectations.expectations.row_conditions import Column

    from billing_reports.validate import gx_context

    context = gx_context("volume_checks", docs_dir)
    suite = gx.ExpectationSuite(name="volume_checks")
    suite = context.suites.add(suite)
    for check in checks:
        suite.add_expectation(
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="value",
                min_value=check.low,
                max_value=check.high,
                row_condition=Column("key") == check.key,
                meta={"check": check.check_name, "subject": check.subject, "baseline": check.baseline},
            )
        )
    frame = pandas.DataFrame(
        {"key": [check.key for check in checks], "value": [float(check.value) for check in checks]}
    )
    asset = context.data_sources.add_pandas(name="volume").add_dataframe_asset(name="day")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="volume", data=asset.add_batch_definition_whole_dataframe("whole"), suite=suite)
    )
    result = definition.run(batch_parameters={"dataframe": frame})
    outcome = {}
    for item in result.results:
        meta = item.expectation_config.meta or {}
        outcome[f"{meta.get('check')}:{meta.get('subject')}"] = bool(item.success)
    for check in checks:
        check.passed = outcome.get(check.key)
    index = None
    if docs_dir is not None:
        context.build_data_docs(site_names=["volume_checks"])
        index = str(docs_dir / "index.html")
    return checks, index


def check_volume(
    warehouse: Path,
    report_dir: Path | None = None,
    *,
    run_id: str | None = None,
    day: datetime.date | None = None,
    thresholds_path: Path = SUITE_FILE,
    record: bool = True,
) -> dict:
    """Check the newest day of a built warehouse; write ``volume.json`` and Data Docs into ``report_dir`` and
    (``record``) ``ops.volume_checks`` into the warehouse. Returns the JSON written: ``day``, ``checks``,
    ``warnings`` (the failed checks) and ``data_docs``."""
    import duckdb

    thresholds = load_thresholds(thresholds_path)
    with duckdb.connect(str(warehouse), read_only=not record) as connection:
        checked_day, checks = plan_checks(daily_figures(connection), thresholds, day)
        checks, docs = run_suite(checks, report_dir / "volume_docs" if report_dir else None)
        if record:
            _record(connection, run_id, checked_day, checks)
    summary = {
        "day": checked_day.isoformat(),
        "checks": [asdict(check) for check in checks],
        "warnings": [asdict(check) for check in checks if check.passed is False],
        "data_docs": docs,
    }
    if report_dir is not None:
        fileio.atomic_write_text(report_dir / "volume.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _record(connection, run_id: str | None, day: datetime.date, checks: list[Check]) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in VOLUME_CHECKS_COLUMNS.items())
    connection.execute("create schema if not exists ops")
    connection.execute(f"create or replace table ops.volume_checks ({columns})")
    if not checks:  # a day with no history to compare (a first load): an empty table, not an error
        return
    connection.executemany(
        f"insert into ops.volume_checks values ({', '.join('?' for _ in VOLUME_CHECKS_COLUMNS)})",
        [
            [run_id, day, c.check_name, c.subject, c.value, c.baseline, c.low, c.high, c.history_days, c.passed]
            for c in checks
        ],
    )


def warning_lines(summary: dict) -> list[str]:
    """The failed checks in words, e.g. ``documents_per_client CL001: 5 (usual 10, expected 6-20)``."""
    lines = []
    for check in summary["warnings"]:
        bounds = "-".join("" if b is None else f"{b:g}" for b in (check["low"], check["high"]))
        usual = "" if check["baseline"] is None else f"usual {check['baseline']:g}, "
        lines.append(f"{check['check_name']} {check['subject']}: {check['value']:g} ({usual}expected {bounds})")
    return lines


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check-volume",
        help="compare the newest day of a warehouse with recent days (volume and distribution)",
        description=(
            "Check the newest extract day landed in a warehouse against the days before it: rows per table, "
            "documents per client, clients that always send and sent nothing, failure and bounce rates, fee per "
            "document, share of unassigned branches. Thresholds: expectations/volume_suite.yml. Prints the "
            "warnings; exit 0 either way (a refresh runs the same checks and only warns)."
        ),
    )
    parser.add_argument("--warehouse", type=Path, help="the warehouse file (default: $BILLING_WAREHOUSE)")
    parser.add_argument("--day", type=datetime.date.fromisoformat, help="the day to check (default: the newest)")
    parser.add_argument("--report", type=Path, help="also write volume.json and GX Data Docs into this folder")
    parser.set_defaults(func=_cmd_check_volume)


def _cmd_check_volume(args) -> int:
    from billing_reports import settings
    from billing_reports.cli import UserError

    warehouse = args.warehouse or settings.warehouse_path()
    if not warehouse.is_file():
        raise UserError(f"no warehouse at {warehouse}; build or refresh it first")
    try:
        summary = check_volume(warehouse, args.report, day=args.day, record=False)
    except ValueError as error:
        raise UserError(str(error)) from error
    print(f"{summary['day']}: {len(summary['checks'])} checks, {len(summary['warnings'])} warning(s)")
    for line in warning_lines(summary):
        print(f"  warning: {line}")
    if summary["data_docs"]:
        print(f"Data Docs: {summary['data_docs']}")
    return 0
