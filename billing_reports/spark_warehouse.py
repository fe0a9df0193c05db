"""A Spark build's Parquet tables, copied into a DuckDB warehouse file (BILLING_ENGINE=spark).

A build on Spark (profiles.yml, target ``spark``) writes every table as Parquet under
``<spark dir>/tables/<schema>.db/<table>/``. Serving reads a DuckDB file either way, so after a
Spark build its tables are copied into the DuckDB file the build was for (``refresh`` then
validates, records and publishes that file atomically, as after a DuckDB build):

- copied, not views over ``read_parquet``: the published file stands alone, like a DuckDB build's.
  Readers (dashboard, notify, export, BI tools) never see a half-written Spark folder while the
  next build runs, a rollback to ``.previous`` brings its data with it, and the Spark folder can
  be deleted after the copy;
- a table whose model has an enforced contract (the marts) gets exactly the contract's column
  types (Spark widens some: ``row_number()`` is an int, a sum of decimal(18,2) a decimal(28,2));
- timestamps are UTC wall-clock ``timestamp`` columns, as DuckDB builds them;
- views (the ``stg_`` filters over the ``base_`` tables) are not copied: no reader uses them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from billing_reports.sql import sql_identifier, sql_string


def spark_tables(spark_dir: Path) -> dict[tuple[str, str], Path]:
    """``{(schema, table): folder}`` of every Parquet table a Spark build wrote under ``spark_dir``."""
    tables: dict[tuple[str, str], Path] = {}
    root = spark_dir / "tables"
    for schema_dir in sorted(root.glob("*.db")):
        schema = schema_dir.name.removesuffix(".db")
        for table_dir in sorted(path for path in schema_dir.iterdir() if path.is_dir()):
            if any(table_dir.glob("*.parquet")):
                tables[(schema, table_dir.name)] = table_dir
    return tables


def contract_types(manifest_path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """``{(schema, table): {column: data type}}`` of the models with an enforced contract in a dbt manifest."""
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return {}
    types: dict[tuple[str, str], dict[str, str]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or not node.get("contract", {}).get("enforced"):
            continue
        columns = {name: column.get("data_type") for name, column in node.get("columns", {}).items()}
        if all(columns.values()):
            types[(node["schema"], node.get("alias") or node["name"])] = columns
    return types


def copy_into_duckdb(
    spark_dir: Path,
    warehouse: Path,
    *,
    manifest_path: Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> int:
    """Copy every table of a Spark build into the DuckDB file ``warehouse`` (created or replaced); returns how many."""
    import duckdb

    tables = spark_tables(spark_dir)
    if not tables:
        raise FileNotFoundError(f"the Spark build wrote no Parquet tables under {spark_dir / 'tables'}")
    typed = contract_types(manifest_path) if manifest_path else {}
    if warehouse.exists():
        warehouse.unlink()
    connection = duckdb.connect(str(warehouse))
    try:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute("begin transaction")
        for (schema, table), folder in tables.items():
            connection.execute(f"create schema if not exists {sql_identifier(schema)}")
            source = f"read_parquet({sql_string(folder / '*.parquet')})"
            described = connection.execute(f"describe select * from {source}").fetchall()
            wanted = typed.get((schema, table), {})
            columns = []
            for name, column_type, *_ in described:
                target = wanted.get(name)
                if target is None and column_type.upper().startswith("TIMESTAMP WITH TIME ZONE"):
                    target = "timestamp"
                quoted = sql_identifier(name)
                columns.append(f"cast({quoted} as {target}) as {quoted}" if target else quoted)
            connection.execute(
                f"create table {sql_identifier(schema)}.{sql_identifier(table)} as select {', '.join(columns)} from {source}"
            )
        connection.execute("commit")
        connection.execute("checkpoint")
    finally:
        connection.close()
    progress(f"copied {len(tables)} table(s) of the Spark build in {spark_dir} into {warehouse}")
    return len(tables)


def remove_spark_dir(spark_dir: Path) -> None:
    """Delete a Spark build's folder (a build starts from an empty one: its catalog lives for one dbt run)."""
    shutil.rmtree(spark_dir, ignore_errors=True)
