"""What a refresh is asked to do, and whether it can build incrementally or must build in full."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from billing_reports import settings, validate
from billing_reports.validate import DEFAULT_SAMPLE_ROWS

DEFAULT_KEEP_REPORTS = 50


@dataclass
class RefreshOptions:
    raw_dir: Path
    warehouse: Path
    dbt_vars: dict = field(default_factory=dict)
    notify: bool = False
    export: bool = True
    log_file: Path | None = None
    quarantine_root: Path | None = None
    report_root: Path | None = None
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    keep_reports: int = DEFAULT_KEEP_REPORTS
    run_id: str | None = None
    full: bool = False


@dataclass
class BuildPlan:
    """How this refresh builds: ``full`` from nothing, or ``incremental`` on a copy of the published file."""

    mode: str
    reason: str
    #: (table, file name) of the landing files the published build already landed, unchanged.
    landed_before: set = field(default_factory=set)
    #: Landing files the published build has not landed yet (incremental plans only).
    new_files: int = 0


def build_state(options: RefreshOptions) -> dict:
    """What a build's result depends on besides the landing files: the project and the landing settings.

    ``code``: a digest of every file dbt reads (models, macros, seeds, tests, project and profile)
    and of the dbt and DuckDB versions. ``settings``: the landing folder and the vars the base
    models read (the plausible years). ``as_of`` and the exchange rate are left out on purpose:
    only the marts read them, and an incremental build rebuilds every mart.
    """
    import hashlib

    from billing_reports.dbt_runner import package_versions
    from billing_reports.settings import PROJECT_DIR

    digest = hashlib.sha256()
    digest.update(package_versions().encode())
    digest.update(f"engine={settings.engine()}\n".encode())
    paths = [PROJECT_DIR / "dbt_project.yml", PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        paths.extend(sorted(path for path in (PROJECT_DIR / folder).rglob("*") if path.is_file()))
    for path in paths:
        if path.exists() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    min_year, max_year = validate.plausible_years(options.dbt_vars)
    settings_text = json.dumps(
        {"raw_dir": str(options.raw_dir), "min_plausible_year": min_year, "max_plausible_year": max_year},
        sort_keys=True,
    )
    return {"code": digest.hexdigest(), "settings": settings_text}


def _signature(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def plan_build(options: RefreshOptions) -> BuildPlan:
    """Incremental when the published build can be extended with the new files alone; else full, and why."""
    import duckdb

    if options.full:
        return BuildPlan("full", "asked for with --full")
    if settings.engine() == "spark":
        return BuildPlan("full", "builds on Spark are full builds")
    warehouse = options.warehouse
    if not warehouse.exists():
        return BuildPlan("full", "no published warehouse yet")
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            tables = {
                row[0]
                for row in connection.execute(
                    "select table_name from duckdb_tables() where schema_name = 'raw'"
                ).fetchall()
            }
            if not {"_build_state", "_landing_signatures", "_landing_files"} <= tables:
                return BuildPlan("full", "the published warehouse does not record what it was built from")
            state = connection.execute("select code_digest, settings from raw._build_state").fetchone()
            landed = connection.execute(
                """
                select source_table, file_name, file_size, file_mtime_ns
                from raw._landing_signatures
                order by source_table, file_order
                """
            ).fetchall()
    except duckdb.Error as error:
        return BuildPlan("full", f"the published warehouse could not be read ({error})")
    wanted = build_state(options)
    if state is None or state[0] != wanted["code"]:
        return BuildPlan("full", "the project (models, macros, seeds or versions) changed since the published build")
    if state[1] != wanted["settings"]:
        return BuildPlan(
            "full", f"the landing folder or plausible years changed since the published build ({state[1]})"
        )
    by_table: dict[str, list[tuple]] = {}
    for table, name, size, mtime_ns in landed:
        by_table.setdefault(table, []).append((name, size, mtime_ns))
    landed_before = set()
    new_files = 0
    for table in validate.load_table_specs():
        files = validate.landing_files(options.raw_dir, table)
        before = by_table.pop(table, [])
        for position, (name, size, mtime_ns) in enumerate(before):
            if position >= len(files) or files[position].name != name:
                return BuildPlan(
                    "full",
                    f"{table}/{name}, landed by the published build, is gone or no longer in its place in file-name "
                    "order (a file was removed, renamed, or a new file sorts before it)",
                )
            if _signature(files[position]) != (size, mtime_ns):
                return BuildPlan("full", f"{table}/{name} changed since the published build")
            landed_before.add((table, name))
        new_files += len(files) - len(before)
    if by_table:
        return BuildPlan("full", f"the published build landed tables this project no longer has: {sorted(by_table)}")
    return BuildPlan(
        "incremental",
        f"{new_files} new landing file(s) on top of the {len(landed_before)} the published build landed",
        landed_before,
        new_files,
    )


def _record_build_state(connection, options: RefreshOptions) -> None:
    """Record in the new file what it was built from, for the next refresh's ``plan_build``."""
    state = build_state(options)
    connection.execute("create or replace table raw._build_state (code_digest varchar, settings varchar)")
    connection.execute("insert into raw._build_state values (?, ?)", [state["code"], state["settings"]])
    connection.execute(
        """
        create or replace table raw._landing_signatures (
            source_table varchar, file_name varchar, file_order integer, file_size bigint, file_mtime_ns bigint
        )
        """
    )
    landed = connection.execute("select source_table, source_file, file_order from raw._landing_files").fetchall()
    for table, source_file, file_order in landed:
        path = Path(source_file)
        if not path.is_absolute():
            path = options.raw_dir / table / path.name
        with contextlib.suppress(OSError):
            size, mtime_ns = _signature(path)
            connection.execute(
                "insert into raw._landing_signatures values (?, ?, ?, ?, ?)",
                [table, path.name, file_order, size, mtime_ns],
            )
