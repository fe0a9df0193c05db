"""Checking the landing files (R14), with Great Expectations: headers before dbt reads them, rows after.

Each `<raw_dir>/<table>/*.csv[.gz]` is judged in two steps:

1. **The file as a whole.** A file that is empty, whose header is not UTF-8, that has no header
   row, or whose header lacks a column of the contract cannot be loaded at all. It is *rejected
   whole*: moved (never deleted) to ``<quarantine>/<run-id>/<table>/<file>``, with a manifest
   entry (``<quarantine>/<run-id>/quarantine.json``) naming the file, the missing column(s) and
   the reason. ``quarantined_files()`` reads the manifests back, so that every file still in
   quarantine is recorded in ``ops.rejected_rows`` of each published warehouse.
2. **Its rows**, once a build has landed them (``validate_landed_rows``): a refresh reads every
   landing file once, in dbt's landing step, and validates the rows of its ``raw`` tables (text,
   as read by ``read_csv(..., all_varchar=true, store_rejects=true)``) in a pandas frame, with a
   parsed copy of every typed column (parsed as the landing macros parse it). A table's rows are
   validated together, by one Great Expectations suite built from the column ``meta`` of the
   source YAML: required values present, values that parse (timestamps, dates, booleans,
   numbers, time zones), known codes, keys unique within each file (exact duplicate rows
   collapse, so they do not count), no negative money/count/quantity, timestamps within the
   plausible years. Every expectation is vectorised over the frame. Row problems do not move the
   file: dbt rejects those rows into ``ops.rejected_rows``; the report says which rows, by file
   and row number (the build's own numbers, and its unreadable rows). A table with more than
   ``sample_rows`` new rows is validated on a repeatable sample of about that many (the
   report says so); dbt still checks every row. References to other tables are left to dbt.

The column list, types, keys and codes come from ``models/staging/billing/_billing__sources.yml``
(the one source of truth the dbt macros read too), through :mod:`billing_reports.landing_contract`;
money and quantities parse as decimals, as dbt parses them. Per run, the report folder holds
``validation.json`` (the file decisions and the GX validation results) and GX Data Docs
(``data_docs/index.html``).
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from billing_reports import fileio
from billing_reports.landing_contract import ColumnType, TableSpec, contract, load_table_specs
from billing_reports.settings import PROJECT_DIR
from billing_reports.sql import sql_identifier, sql_string

DBT_PROJECT_YML = PROJECT_DIR / "dbt_project.yml"

#: A table with more new rows than this is validated on a repeatable sample of this many rows.
DEFAULT_SAMPLE_ROWS = 200_000
SAMPLE_SEED = 42

#: The DuckDB spelling of the portable macros that parse the column types without a pattern
#: (macros/portable: billing_parse_timestamp, billing_is_known_timezone; the boolean rule of
#: billing_parse_column). The other types parse by the pattern and cast of the contract.
_MACRO_PARSE_SQL = {
    "timestamp": "cast(timezone('UTC', try_cast({v} as timestamptz)) as timestamp)",
    "boolean": "case lower({v}) when 'true' then true when 'false' then false end",
    "timezone": "case when {v} in (select name from pg_timezone_names()) then {v} end",
}

Progress = Callable[[str], None]


def _parse_sql(column_type: ColumnType, value: str) -> str | None:
    """How the landing macro (``billing_parse_column``) parses a text value of a column type, in DuckDB SQL;
    none for a type kept as text."""
    if column_type.pattern and column_type.cast:
        return (
            f"case when regexp_full_match({value}, {sql_string(column_type.pattern)})"
            f" then try_cast({value} as {column_type.cast}) end"
        )
    template = _MACRO_PARSE_SQL.get(column_type.name)
    return template.format(v=value) if template else None


# --------------------------------------------------------------------------------------------
# The contract, read from the source YAML
# --------------------------------------------------------------------------------------------


def plausible_years(dbt_vars: dict | None = None) -> tuple[int, int]:
    """The timestamp years the build accepts: dbt vars ``min/max_plausible_year`` (run vars win)."""
    import yaml

    project_vars = (yaml.safe_load(DBT_PROJECT_YML.read_text(encoding="utf-8")) or {}).get("vars") or {}
    merged = {**project_vars, **(dbt_vars or {})}
    return int(merged.get("min_plausible_year", 2000)), int(merged.get("max_plausible_year", 2100))


def landing_files(raw_dir: Path, table: str) -> list[Path]:
    """A table's landing files in the order the build applies them (lexicographic file name)."""
    folder = raw_dir / table
    if not folder.is_dir():
        return []
    files = [path for path in folder.iterdir() if path.is_file() and _is_landing_file(path)]
    return sorted(files, key=lambda path: (path.name, str(path)))


def _is_landing_file(path: Path) -> bool:
    return path.name.endswith(".csv") or path.name.endswith(".csv.gz")


# --------------------------------------------------------------------------------------------
# What the validation found
# --------------------------------------------------------------------------------------------


@dataclass
class FileCheck:
    """The verdict on one landing file."""

    table: str
    file_name: str
    source_file: str
    status: str = "ok"  # ok | row_problems | quarantined
    message: str | None = None
    missing_columns: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: int | None = None
    rows_validated: int | None = None
    sampled: bool = False
    unreadable_rows: list[dict] = field(default_factory=list)
    failed_checks: list[dict] = field(default_factory=list)
    quarantined_to: str | None = None


@dataclass
class ValidationReport:
    run_id: str
    raw_dir: str
    report_dir: str
    started_at: str
    finished_at: str | None = None
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    plausible_years: tuple[int, int] = (2000, 2100)
    files: list[FileCheck] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    #: ``table/file`` of the files not checked again: an earlier run checked and landed them, unchanged.
    skipped: list[str] = field(default_factory=list)
    data_docs: str | None = None
    gx_error: str | None = None
    #: The GX validation results, by validated asset (a table's files, or a file rejected whole).
    gx_results: dict = field(default_factory=dict)
    json_path: str | None = None

    @property
    def quarantined(self) -> list[FileCheck]:
        return [check for check in self.files if check.status == "quarantined"]

    @property
    def files_with_row_problems(self) -> list[FileCheck]:
        return [check for check in self.files if check.status == "row_problems"]


# --------------------------------------------------------------------------------------------
# Validating a landing folder
# --------------------------------------------------------------------------------------------


def check_landing_files(
    raw_dir: Path,
    *,
    run_id: str,
    report_dir: Path,
    quarantine_root: Path | None = None,
    dbt_vars: dict | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    progress: Progress | None = None,
    specs: dict[str, TableSpec] | None = None,
    skip: set | frozenset = frozenset(),
) -> ValidationReport:
    """The first step alone: every file's header, and the files rejected whole moved to quarantine.

    The report it returns (``validation.json`` written already) lists the files whose rows are
    still to be validated, once a build has landed them: ``validate_landed_rows`` reads them from
    the build's ``raw`` tables, so a refresh reads every landing file once.
    """
    say = progress or (lambda message: None)
    specs = specs or load_table_specs()
    min_year, max_year = plausible_years(dbt_vars)
    fileio.private_dir(report_dir)
    report = ValidationReport(
        run_id=run_id,
        raw_dir=str(raw_dir),
        report_dir=str(report_dir),
        started_at=_now_iso(),
        sample_rows=sample_rows,
        plausible_years=(min_year, max_year),
    )
    report.ignored = _ignored_paths(raw_dir, specs)
    for path in report.ignored:
        say(f"warning: {path} is not a landing file of any table; the build ignores it")

    with _connection() as connection:
        for table, spec in specs.items():
            for path in landing_files(raw_dir, table):
                if (table, path.name) in skip:
                    report.skipped.append(f"{table}/{path.name}")
                    continue
                check = FileCheck(table=table, file_name=path.name, source_file=str(path))
                report.files.append(check)
                problem = _check_header(path, spec, check, connection)
                if problem:
                    check.status = "quarantined"
                    check.message = f"{table}/{path.name}: file rejected whole: {problem}"
                    say(f"REJECTED {check.message}")
                    if quarantine_root is not None:
                        check.quarantined_to = str(
                            quarantine_file(path, quarantine_root=quarantine_root, run_id=run_id, check=check)
                        )
                        say(f"  moved to {check.quarantined_to}")

    report.files.sort(key=lambda check: (check.table, check.file_name))
    earlier = f" ({len(report.skipped)} more checked by an earlier run, unchanged)" if report.skipped else ""
    say(f"validation: {len(report.files)} landing file(s){earlier}, {len(report.quarantined)} rejected whole")
    report.json_path = str(report_dir / "validation.json")
    _write_json(Path(report.json_path), _report_dict(report))
    return report


def preload_great_expectations() -> threading.Thread:
    """Import Great Expectations in a background thread, to overlap its import with something else.

    Importing GX (pandas, scipy, pydantic models, its expectation registry) takes 4 to 10 s of one
    core, about as long as validating a day's rows with it. A refresh starts this before the
    ``dbt build`` (a child process, while this process only relays its output), so that the
    validation after the build finds GX imported. Import errors are left to the validation, which
    reports them; a second ``import`` waits for this one (Python's import lock).
    """

    def load() -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        with contextlib.suppress(Exception):
            import great_expectations  # noqa: F401
            import great_expectations.expectations.row_conditions  # noqa: F401

    thread = threading.Thread(target=load, name="import great_expectations", daemon=True)
    thread.start()
    return thread


def validate_landed_rows(
    report: ValidationReport,
    database: Path,
    *,
    progress: Progress | None = None,
    specs: dict[str, TableSpec] | None = None,
) -> ValidationReport:
    """The second step on the rows a build landed: GX on each table's rows in ``database``'s ``raw`` tables.

    ``report`` comes from ``check_landing_files``. Only the rows of the files it checked are read
    (those of the files ``skip``-ped there were landed, and validated, by an earlier build). A
    table's rows above ``report.sample_rows`` are validated on a repeatable sample of about
    that many; the row counts and unreadable rows are the build's own (``raw._landing_files``,
    ``raw._landing_rejects``), so the report's row numbers are the build's.
    """
    import duckdb

    say = progress or (lambda message: None)
    specs = specs or load_table_specs()
    table_frames: dict[str, list[tuple[FileCheck, object]]] = {}
    with duckdb.connect(str(database), read_only=True) as connection:
        connection.execute("set enable_progress_bar = false")
        connection.execute("set TimeZone = 'UTC'")
        for table, checks in _checks_by_table(report).items():
            table_frames[table] = _landed_frames(connection, specs[table], checks, report.sample_rows)
    return _finish_validation(report, table_frames, specs, say)


def _checks_by_table(report: ValidationReport) -> dict[str, list[FileCheck]]:
    """The checked files whose rows are to be validated (not rejected whole), by table."""
    by_table: dict[str, list[FileCheck]] = {}
    for check in report.files:
        if check.status != "quarantined":
            by_table.setdefault(check.table, []).append(check)
    return by_table


def _landed_frames(connection, spec: TableSpec, checks: list[FileCheck], sample_rows: int) -> list[tuple]:
    """Each file's landed rows as text, with parsed copies of the typed columns, as GX validates them.

    The files share one repeatable sample of about ``sample_rows`` rows of the table.
    """
    import pandas

    by_name = {check.file_name: check for check in checks}
    landed = {
        Path(source_file).name: (source_file, file_order, int(rows or 0))
        for source_file, file_order, rows in connection.execute(
            """
            select source_file, file_order, rows_read
            from raw._landing_files
            where source_table = ? and file_status = 'loaded'
            """,
            [spec.name],
        ).fetchall()
        if Path(source_file).name in by_name
    }
    for check in checks:
        check.rows = landed.get(check.file_name, (None, None, 0))[2]
    rejects = connection.execute(
        """
        select source_file, source_row, source_line, reason
        from raw._landing_rejects
        where source_table = ? and starts_with(reason, 'unreadable row: ')
        order by source_file, source_row
        """,
        [spec.name],
    ).fetchall()
    for source_file, row, line, reason in rejects:
        name = Path(source_file).name
        if name in landed and landed[name][0] == source_file:
            reason = reason.removeprefix("unreadable row: ")
            by_name[name].unreadable_rows.append({"row": int(row), "line": int(line), "reason": reason})
            by_name[name].status = "row_problems"

    total = sum(rows for _, _, rows in landed.values())
    sampled = bool(sample_rows) and total > sample_rows
    # A repeatable sample of about sample_rows rows: a row is in it when a hash of its file and row
    # number falls below the sampled fraction. Unlike a reservoir sample (one thread over every
    # row: 17 s at 10M documents), the filter runs in parallel; the same rows every time.
    per_million = -(-int(sample_rows) * 1_000_000 // total) if sampled else 1_000_000
    sample = f"and hash(_source_file, _source_row, {SAMPLE_SEED}) % 1000000 < {per_million}" if sampled else ""
    types = contract().column_types
    columns = [sql_identifier(name) for name in spec.column_names]
    parsed = [
        f"{_parse_sql(types[column.type], sql_identifier(column.name))} as {sql_identifier(column.name + '__parsed')}"
        for column in spec.columns
        if _parse_sql(types[column.type], "v")
    ]
    # The plausible-years check compares years, as the build does: a vectorised check on integers
    # (GX compares datetimes row by row in Python).
    parsed += [
        f"year({sql_identifier(column.name + '__parsed')}) as {sql_identifier(column.name + '__year')}"
        for column in spec.columns
        if column.type == "timestamp"
    ]
    orders = ", ".join(str(int(file_order)) for _, file_order, _ in landed.values()) or "null"
    frame = connection.execute(
        f"""
        with sampled as (
            select {", ".join(columns)}, _source_file, _file_order, _source_row
            from raw.{sql_identifier(spec.name)}
            where _file_order in ({orders}) {sample}
        ),

        typed as (
            select
                * exclude (_source_file),
                row_number() over (partition by _file_order, {", ".join(columns)} order by _source_row) as _copy,
                {", ".join(parsed) if parsed else "1 as _no_typed_columns"}
            from sampled
        )

        select * from typed
        order by _file_order, _source_row
        """
    ).df()
    file_orders = frame.pop("_file_order").to_numpy()
    pairs = []
    for check in checks:
        order = landed.get(check.file_name, (None, -1, 0))[1]
        part = frame[file_orders == order].reset_index(drop=True)
        check.rows_validated = len(part)
        check.sampled = sampled and check.rows_validated < (check.rows or 0)
        pairs.append((check, part if len(part) else pandas.DataFrame(columns=frame.columns)))
    return pairs


def _finish_validation(report: ValidationReport, table_frames: dict, specs: dict, say: Progress) -> ValidationReport:
    """Run GX on the tables' frames and the rejected headers; say what the build will reject; rewrite the report.

    ``report`` comes from ``check_landing_files``, which chose and first wrote ``report.json_path``.
    """
    header_frames = [(check, _header_frame(check.header)) for check in report.quarantined if check.header]
    if table_frames or header_frames:
        _run_expectations(
            table_frames, header_frames, specs, report, Path(report.report_dir), report.plausible_years, say
        )
    for check in report.files_with_row_problems:
        words = [f"{item['unexpected_count']} {item['check']}" for item in check.failed_checks]
        if check.unreadable_rows:
            words.insert(0, f"{len(check.unreadable_rows)} unreadable row(s)")
        say(f"rows the build will reject in {check.table}/{check.file_name}: {'; '.join(words)}")
    report.finished_at = _now_iso()
    _write_json(Path(report.json_path), _report_dict(report))
    return report


def _ignored_paths(raw_dir: Path, specs: dict[str, TableSpec]) -> list[str]:
    """Things in the landing folder the build will not read: unknown folders, non-CSV files."""
    if not raw_dir.is_dir():
        return []
    ignored = []
    for entry in sorted(raw_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and entry.name in specs:
            ignored += [
                str(path)
                for path in sorted(entry.iterdir())
                if not path.name.startswith(".") and not (path.is_file() and _is_landing_file(path))
            ]
        else:
            ignored.append(str(entry))
    return ignored


def _check_header(path: Path, spec: TableSpec, check: FileCheck, connection=None) -> str | None:
    """Why the file cannot be loaded at all, or None. Fills ``check.header``/``missing_columns``."""
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            first_line = handle.readline(1 << 20)
    except (OSError, EOFError) as error:
        return f"it cannot be read ({error})"
    if not first_line:
        return "the file is empty (0 bytes): it has no header row; expected columns: " + ", ".join(spec.column_names)
    try:
        first_line.decode("utf-8")
    except UnicodeDecodeError as error:
        return (
            f"its header is not UTF-8 (byte 0x{first_line[error.start]:02x} at position {error.start}); "
            "save the file as UTF-8"
        )
    import duckdb

    with _connection(connection) as duck:
        try:
            described = duck.execute(
                f"describe select * from read_csv({sql_string(path)}, {contract().csv_options})"
            ).fetchall()
        except duckdb.Error as error:
            return f"DuckDB cannot read it as CSV: {str(error).splitlines()[0]}"
    header = [row[0] for row in described]
    if all(re.fullmatch(r"column[0-9]+", name) for name in header):
        return "it has no header row; expected columns: " + ", ".join(spec.column_names)
    check.header = header
    check.missing_columns = [name for name in spec.column_names if name not in header]
    if check.missing_columns:
        hint = "" if set(header) & set(spec.column_names) else " (the first line looks like data, not a header)"
        return (
            f"header lacks required column(s): {', '.join(check.missing_columns)}{hint}; "
            f"header found: {', '.join(header)}"
        )
    return None


@contextlib.contextmanager
def _connection(connection=None):
    """The given DuckDB connection, or a new in-memory one (closed after) set up for reading landing files."""
    if connection is not None:
        yield connection
        return
    import duckdb

    connection = duckdb.connect()
    try:
        connection.execute("set enable_progress_bar = false")
        connection.execute("set TimeZone = 'UTC'")
        yield connection
    finally:
        connection.close()


def _header_frame(header: Sequence[str]):
    import pandas

    return pandas.DataFrame({name: pandas.Series([], dtype="object") for name in dict.fromkeys(header)})


# --------------------------------------------------------------------------------------------
# Great Expectations
# --------------------------------------------------------------------------------------------


def build_suite(spec: TableSpec, plausible: tuple[int, int]):
    """The row-level expectations of one raw table, from its column meta."""
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column

    expectations = gx.expectations
    suite = gx.ExpectationSuite(name=spec.name)
    types = contract().column_types
    suite.add_expectation(
        expectations.ExpectTableColumnsToMatchSet(
            column_set=spec.column_names, exact_match=False, meta={"check": "header has every contract column"}
        )
    )
    first_copy = Column("_copy") == 1
    for column in spec.columns:
        if column.required:
            words = "missing key" if column.key else "missing required value"
            suite.add_expectation(
                expectations.ExpectColumnValuesToNotBeNull(
                    column=column.name, meta={"check": f"{words}: {column.name}", "column": column.name}
                )
            )
        if column.type == "code":
            suite.add_expectation(
                expectations.ExpectColumnValuesToBeInSet(
                    column=column.name,
                    value_set=list(column.values),
                    meta={"check": f"unknown {column.name}", "column": column.name},
                )
            )
        if _parse_sql(types[column.type], "v"):
            suite.add_expectation(
                expectations.ExpectColumnValuesToNotBeNull(
                    column=f"{column.name}__parsed",
                    row_condition=Column(column.name).is_not_null(),
                    meta={
                        "check": f"unparseable {types[column.type].words} in {column.name}",
                        "column": column.name,
                    },
                )
            )
        if column.type == "timestamp":
            suite.add_expectation(
                expectations.ExpectColumnValuesToBeBetween(
                    column=f"{column.name}__year",
                    min_value=plausible[0],
                    max_value=plausible[1],
                    meta={
                        "check": f"implausible timestamp in {column.name} (outside {plausible[0]}-{plausible[1]})",
                        "column": column.name,
                    },
                )
            )
        if types[column.type].non_negative:
            suite.add_expectation(
                expectations.ExpectColumnValuesToBeBetween(
                    column=f"{column.name}__parsed",
                    min_value=0,
                    meta={"check": f"negative {column.name}", "column": column.name},
                )
            )
    key_meta = {
        "check": f"duplicate key with different values in one file: {', '.join(spec.key)}",
        "column": spec.key[0] if spec.key else None,
    }
    if spec.key:  # within one file: the frame holds a table's files, each row with its _source_file
        suite.add_expectation(
            expectations.ExpectCompoundColumnsToBeUnique(
                column_list=[*spec.key, "_source_file"], row_condition=first_copy, meta=key_meta
            )
        )
    return suite


def _header_suite(spec: TableSpec):
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"{spec.name}__header")
    suite.add_expectation(
        gx.expectations.ExpectTableColumnsToMatchSet(
            column_set=spec.column_names, exact_match=False, meta={"check": "header has every contract column"}
        )
    )
    return suite


def gx_context(site_name: str, docs_dir: Path | None):
    """An ephemeral GX context without progress bars, building Data Docs site ``site_name`` into ``docs_dir``."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name=site_name,
            site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            },
        )
    return context


def _run_expectations(
    table_frames, header_frames, specs, report: ValidationReport, report_dir: Path, plausible, say: Progress
) -> None:
    """Run each table's suite on its files' rows (one frame), and the header suite on files rejected whole.

    One validation per table, not per file: GX's fixed cost per validation is what grows with
    the number of files. Failures are traced back to files and rows by ``_source_file`` and
    ``_source_row``. The Data Docs are built at the end.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    try:
        import great_expectations as gx
        import pandas
    except Exception as error:  # GX is a report, not a gate: dbt still checks every row.
        report.gx_error = f"Great Expectations could not be imported: {error}"
        say(f"warning: {report.gx_error}")
        return
    say(f"Great Expectations: validating {len(table_frames)} table(s), {len(header_frames)} rejected header(s)")
    try:
        docs_dir = report_dir / "data_docs"
        context = gx_context("landing_validation", docs_dir)
        datasource = context.data_sources.add_pandas(name="landing")

        def validate(name: str, suite, frame, index_columns: list[str]):
            asset = datasource.add_dataframe_asset(name=_safe_name(name))
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(
                    name=_safe_name(name), data=asset.add_batch_definition_whole_dataframe("whole"), suite=suite
                )
            )
            result = definition.run(
                batch_parameters={"dataframe": frame},
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": index_columns},
            )
            report.gx_results[name] = _trimmed(result.to_json_dict())
            return result

        for table, pairs in table_frames.items():
            frame = pandas.concat(
                [frame.assign(_source_file=check.file_name) for check, frame in pairs], ignore_index=True
            )
            suite = context.suites.add(build_suite(specs[table], plausible))
            result = validate(table, suite, frame, ["_source_file", "_source_row"])
            failed = _failed_checks_by_file(result, frame)
            for check, _ in pairs:
                check.failed_checks = failed.get(check.file_name, [])
                if check.failed_checks:
                    check.status = "row_problems"
        header_suites = {}
        for check, frame in header_frames:
            if check.table not in header_suites:
                header_suites[check.table] = context.suites.add(_header_suite(specs[check.table]))
            validate(f"{check.table}__{check.file_name}", header_suites[check.table], frame, [])
        context.build_data_docs(site_names=["landing_validation"])
        report.data_docs = str(docs_dir / "index.html")
    except Exception as error:  # a report problem must not stop the refresh: dbt checks every row
        report.gx_error = f"Great Expectations failed: {type(error).__name__}: {error}"
        say(f"warning: {report.gx_error}")


#: Rows listed per file and failed check in the report (the count is always complete).
LISTED_ROWS = 100


def _failed_checks_by_file(result, frame) -> dict[str, list[dict]]:
    """The failed expectations of a table's frame, per file: what, how many rows, which, example values."""
    raw_values = frame.set_index(["_source_file", "_source_row"])
    by_file: dict[str, list[dict]] = {}
    for item in result.results:
        if item.success:
            continue
        config = item.expectation_config
        meta = config.meta or {}
        column = meta.get("column") or config.kwargs.get("column")
        details = item.result or {}
        exception = item.exception_info or {}
        rows_by_file: dict[str, list[int]] = {}
        for entry in details.get("unexpected_index_list") or []:
            rows_by_file.setdefault(entry["_source_file"], []).append(int(entry["_source_row"]))
        if not rows_by_file:  # a failure without rows (an error): every file of the table shares it
            rows_by_file = {name: [] for name in frame["_source_file"].unique()}
        for file_name, rows in rows_by_file.items():
            rows = sorted(rows)
            examples = []
            if column in raw_values.columns and rows:
                values = raw_values.loc[[(file_name, row) for row in rows[:10]], column]
                examples = [None if value is None or value != value else str(value) for value in values]
            by_file.setdefault(file_name, []).append(
                {
                    "check": meta.get("check", config.type),
                    "expectation": config.type,
                    "column": column,
                    "unexpected_count": len(rows),
                    "rows": rows[:LISTED_ROWS],
                    "examples": examples,
                    "error": exception.get("exception_message") if exception.get("raised_exception") else None,
                }
            )
    return by_file


def _trimmed(result: dict) -> dict:
    """A validation result for the JSON report: the full lists of unexpected rows cut to their first 20."""
    for item in result.get("results", []):
        details = item.get("result") or {}
        details.pop("unexpected_index_query", None)
        for name in ("unexpected_list", "unexpected_index_list"):
            if isinstance(details.get(name), list) and len(details[name]) > 20:
                details[name] = details[name][:20]
                details[f"{name}_trimmed"] = True
    return result


# --------------------------------------------------------------------------------------------
# Quarantine
# --------------------------------------------------------------------------------------------

MANIFEST = "quarantine.json"


def default_quarantine_root(raw_dir: Path) -> Path:
    """``<raw_dir>/../quarantine``: beside the landing folder, outside it, so dbt never reads it."""
    return raw_dir.resolve().parent / "quarantine"


def quarantine_file(path: Path, *, quarantine_root: Path, run_id: str, check: FileCheck) -> Path:
    """Move a file rejected whole to ``<root>/<run-id>/<table>/<file>`` and note why in the manifest.

    The manifest entry is written first, the file moved second: a run killed in between leaves
    an entry without a file (ignored) and the file still in the landing folder, never a lost file.
    """
    run_dir = quarantine_root / run_id
    target = run_dir / check.table / path.name
    fileio.private_dir(target.parent)
    manifest_path = run_dir / MANIFEST
    entries = _read_manifest(manifest_path)
    entries.append(
        {
            "run_id": run_id,
            "source_table": check.table,
            "file_name": path.name,
            "source_file": str(path),
            "raw_dir": str(path.parent.parent.resolve()),
            "quarantined_to": str(target.relative_to(quarantine_root)),
            "reason": check.message,
            "missing_columns": check.missing_columns,
            "quarantined_at": _now_iso(),
        }
    )
    _write_json(manifest_path, entries)
    shutil.move(str(path), str(target))
    return target


def quarantined_files(quarantine_root: Path, raw_dir: Path) -> list[dict]:
    """Files of this landing folder still in quarantine, oldest first.

    A file counts while it sits in quarantine and no file of the same name has come back into
    its table folder (a corrected file put back replaces the record). Each entry carries
    ``quarantined_to`` as an absolute path.
    """
    if not quarantine_root.is_dir():
        return []
    raw = str(raw_dir.resolve())
    entries = []
    for manifest_path in sorted(quarantine_root.glob(f"*/{MANIFEST}")):
        for entry in _read_manifest(manifest_path):
            target = quarantine_root / entry.get("quarantined_to", "")
            if entry.get("raw_dir") != raw or not target.is_file():
                continue
            if (raw_dir / entry["source_table"] / entry["file_name"]).exists():
                continue
            entries.append({**entry, "quarantined_to": str(target)})
    return entries


def _read_manifest(path: Path) -> list[dict]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return entries if isinstance(entries, list) else []


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _report_dict(report: ValidationReport) -> dict:
    data = asdict(report)
    data["quarantined"] = len(report.quarantined)
    data["files_with_row_problems"] = len(report.files_with_row_problems)
    return data


def _write_json(path: Path, data) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    fileio.atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)
