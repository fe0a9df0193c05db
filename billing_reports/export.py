"""``billing-reports export``: every public model (schema ``marts``) as Parquet, for BI tools.

Layout of the export folder (default ``warehouse/export``, env ``BILLING_EXPORT_DIR``)::

    export/
      _export.json                      what was exported, from which file, when, how many rows
      fct_documents/
        job_complete_month=2026-03/data_0.parquet
        job_complete_month=__HIVE_DEFAULT_PARTITION__/data_0.parquet   documents of open jobs
      rpt_billing_statistics/data_0.parquet
      ...                               one folder per table in schema marts, named after it

Only ``fct_documents`` (one row per document: the one model that grows into the millions) is
hive-partitioned, by the month of its job's local completion date (R2, R3), the date every
billing report counts by; the partition key is in the folder name only, the files hold exactly
the model's columns. Every other model is one file per folder (report grains are thousands to
hundreds of thousands of rows). Read any model as ``read_parquet('export/<model>/**/*.parquet',
hive_partitioning = true)``.

Writing never disturbs readers of the previous export: the warehouse is opened read-only, the new
export is written into a sibling folder ``export.tmp-<id>``, then swapped in by two renames
(``export`` -> ``export.old-<id>``, ``export.tmp-<id>`` -> ``export``) and the old folder is
removed. A directory cannot be replaced by one atomic rename, so between the two renames (a few
microseconds) ``export`` does not exist; a reader that lists it then, or holds files it listed
before the swap, should list it again. ``<export>.lock`` (``flock``) keeps two exports apart.

Because the folder is replaced whole, only a new or empty folder or an earlier export (its
``_export.json`` names everything in it) is accepted; any other folder is refused, so that
``--out warehouse`` cannot delete the warehouse. The export is private (folders 0700, files
0600): it holds every client's data.

The refresh calls :func:`export_marts` after it publishes a warehouse.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from billing_reports import fileio, settings
from billing_reports.sql import sql_identifier, sql_string

PUBLIC_SCHEMA = "marts"
SUMMARY_FILE = "_export.json"
#: The folder name DuckDB (and Hive, Spark, pyarrow) give a null partition value.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class Partitioning:
    """Hive partitions of one model: ``<key>=YYYY-MM`` folders by the month of ``date_column``."""

    date_column: str
    key: str


#: The large models and how they are partitioned; every other public model is one file.
PARTITIONED_MODELS: dict[str, Partitioning] = {
    "fct_documents": Partitioning(date_column="job_complete_date", key="job_complete_month"),
}


class ExportBusy(Exception):
    """Another export of the same folder is running."""


class NotAnExport(ValueError):
    """The folder given is not empty and not an earlier export: it is never replaced."""


def is_earlier_export(folder: Path) -> bool:
    """Whether ``folder`` is an export this command wrote: its ``_export.json`` (written last, with
    an ``export_id`` and the models) names every folder in it, and nothing else is there."""
    try:
        summary = json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8"))
        entries = {entry.name for entry in folder.iterdir()}
    except (OSError, ValueError):
        return False
    if not isinstance(summary, dict) or not summary.get("export_id") or not isinstance(summary.get("models"), dict):
        return False
    return entries <= {SUMMARY_FILE, *summary["models"]} and all(
        (folder / name).is_dir() and not (folder / name).is_symlink() for name in entries - {SUMMARY_FILE}
    )


def refuse_a_folder_that_is_not_an_export(export_dir: Path) -> None:
    """An export replaces its folder whole, deleting what was there: refuse any folder but an empty
    one or an earlier export (``--out warehouse`` would delete the warehouse and the users file)."""
    if export_dir.is_symlink() or (export_dir.exists() and not export_dir.is_dir()):
        raise NotAnExport(f"{export_dir} is not a folder; give --out a new or empty folder, or an earlier export")
    if export_dir.is_dir() and any(export_dir.iterdir()) and not is_earlier_export(export_dir):
        raise NotAnExport(
            f"{export_dir} is not empty and is not an earlier export (it has no {SUMMARY_FILE} naming all it "
            "holds); an export replaces its folder whole, so it would be deleted. Give --out a new or empty "
            "folder, or an earlier export"
        )


def export_marts(warehouse: Path, export_dir: Path, progress: Callable[[str], None] | None = None) -> dict:
    """Write every table of schema ``marts`` in ``warehouse`` to Parquet under ``export_dir``.

    The warehouse is opened read-only (so a refresh's publish by rename is never blocked) and the
    export is swapped in whole (see the module docstring). Returns the summary also written to
    ``<export_dir>/_export.json``: the warehouse, the time, and per model its rows, files and
    partition key. Raises ``ExportBusy`` when another export of ``export_dir`` is running,
    ``FileNotFoundError`` when the warehouse does not exist and ``ValueError`` when it has no
    public models; a DuckDB error (e.g. a writer holds the file) propagates.
    """
    import duckdb

    say = progress or (lambda message: None)
    warehouse = Path(warehouse).resolve()
    export_dir = Path(export_dir).resolve()
    if not warehouse.is_file():
        raise FileNotFoundError(f"warehouse {warehouse} does not exist; build or refresh it first")
    fileio.private_dir(export_dir.parent)
    refuse_a_folder_that_is_not_an_export(export_dir)
    started = time.monotonic()
    export_id = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)

    with _export_lock(export_dir):
        _remove_leftovers(export_dir, say)
        staging = export_dir.with_name(f"{export_dir.name}.tmp-{export_id}")
        staging.mkdir(mode=fileio.PRIVATE_DIR_MODE)
        os.chmod(staging, fileio.PRIVATE_DIR_MODE)  # every client's data: the service account only
        try:
            connection = duckdb.connect(str(warehouse), read_only=True)
            try:
                models = _public_models(connection)
                if not models:
                    raise ValueError(f"{warehouse} has no tables in schema {PUBLIC_SCHEMA}; build it first")
                summary_models = {}
                for model in models:
                    summary_models[model] = _export_model(connection, model, staging / model)
                    details = summary_models[model]
                    partitioned = f", partitioned by {details['partitioned_by']}" if details["partitioned_by"] else ""
                    say(f"exported {model}: {details['rows']} rows in {details['files']} file(s){partitioned}")
            finally:
                connection.close()
            summary = {
                "export_id": export_id,
                "exported_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "warehouse": str(warehouse),
                "export_dir": str(export_dir),
                "models": summary_models,
            }
            fileio.atomic_write_text(staging / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
            _swap_in(staging, export_dir, export_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    summary["seconds"] = round(time.monotonic() - started, 3)
    say(f"export of {len(summary_models)} public models in {export_dir} ({summary['seconds']} s)")
    return summary


def _public_models(connection) -> list[str]:
    rows = connection.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_catalog = current_database() order by table_name",
        [PUBLIC_SCHEMA],
    ).fetchall()
    return [row[0] for row in rows]


def _export_model(connection, model: str, folder: Path) -> dict:
    relation = f"{sql_identifier(PUBLIC_SCHEMA)}.{sql_identifier(model)}"
    columns = [
        row[0]
        for row in connection.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? and table_catalog = current_database() "
            "order by ordinal_position",
            [PUBLIC_SCHEMA, model],
        ).fetchall()
    ]
    rows = connection.execute(f"select count(*) from {relation}").fetchone()[0]
    partitioning = PARTITIONED_MODELS.get(model)
    if partitioning and (partitioning.date_column not in columns or partitioning.key in columns):
        partitioning = None  # the model changed shape: one file is always right
    folder.mkdir(parents=True)
    options = "format parquet, compression zstd"
    if partitioning is None:
        connection.execute(f"copy (select * from {relation}) to {sql_string(folder / 'data_0.parquet')} ({options})")
    elif rows == 0:
        # An empty model still gets one (empty) file, in the null partition, so that it can be read.
        empty = folder / f"{partitioning.key}={NULL_PARTITION}"
        empty.mkdir()
        connection.execute(
            f"copy (select * from {relation} limit 0) to {sql_string(empty / 'data_0.parquet')} ({options})"
        )
    else:
        connection.execute(
            f"copy (select *, strftime({sql_identifier(partitioning.date_column)}, '%Y-%m') as {sql_identifier(partitioning.key)} "
            f"from {relation}) to {sql_string(folder)} "
            f"({options}, partition_by ({sql_identifier(partitioning.key)}), filename_pattern 'data_{{i}}')"
        )
    files = sum(1 for _ in folder.rglob("*.parquet"))
    return {
        "rows": rows,
        "files": files,
        "partitioned_by": partitioning.key if partitioning else None,
        "partition_source_column": partitioning.date_column if partitioning else None,
    }


def _swap_in(staging: Path, export_dir: Path, export_id: str) -> None:
    """Two renames: the current export aside, the new one in; then the old one is removed."""
    old = export_dir.with_name(f"{export_dir.name}.old-{export_id}")
    had_old = export_dir.exists()
    if had_old:
        os.rename(export_dir, old)
    try:
        os.rename(staging, export_dir)
    except BaseException:
        if had_old:
            os.rename(old, export_dir)
        raise
    fileio.fsync_directory(export_dir.parent)
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _export_lock(export_dir: Path):
    path = fileio.lock_path(export_dir)
    try:
        with fileio.exclusive_lock(path):
            yield
    except fileio.LockBusy:
        raise ExportBusy(f"another export of {export_dir} is running (it holds {path})") from None


def _remove_leftovers(export_dir: Path, say: Callable[[str], None]) -> None:
    """Folders of exports that were killed (only ever called under the lock).

    An export killed between its two renames left no ``export`` folder; the last complete export
    is then the newest ``.old-*`` folder (ids sort by time), which is put back first.
    """
    olds = sorted(export_dir.parent.glob(f"{export_dir.name}.old-*"))
    if olds and not export_dir.exists():
        say(f"putting back {olds[-1]}, the last complete export (an export was stopped mid-swap)")
        os.rename(olds.pop(), export_dir)
    for path in olds + sorted(export_dir.parent.glob(f"{export_dir.name}.tmp-*")):
        say(f"removing {path}, left by an export that did not finish")
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export",
        help="write every public model (schema marts) to Parquet for BI tools",
        description="Write every table of schema marts to Parquet, one folder per model (fct_documents "
        "hive-partitioned by job_complete_month), reading the warehouse read-only. The new export is "
        "written beside the old one and swapped in by two renames, so readers never see half an export. "
        "Exit codes: 0 exported, 1 failed (the previous export is untouched), 2 usage error, "
        "3 another export of the folder is running.",
    )
    export.add_argument(
        "--warehouse", help="DuckDB file to export (default: BILLING_WAREHOUSE or warehouse/billing.duckdb)"
    )
    export.add_argument(
        "--out",
        metavar="DIR",
        help="export folder (default: BILLING_EXPORT_DIR or warehouse/export): a new or empty folder, or an "
        "earlier export, which is replaced whole; any other folder is refused (exit 2)",
    )
    export.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    import sys

    import duckdb

    from billing_reports.cli import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, UserError, progress

    warehouse = Path(args.warehouse).resolve() if args.warehouse else settings.warehouse_path()
    out = Path(args.out).resolve() if args.out else settings.export_dir()
    if not warehouse.is_file():
        raise UserError(f"warehouse {warehouse} does not exist; run `billing-reports refresh` (or build) first")
    try:
        summary = export_marts(warehouse, out, progress=progress)
    except ExportBusy as error:
        print(f"billing-reports export: {error}; try again when it has finished", file=sys.stderr)
        return EXIT_LOCKED
    except ValueError as error:
        raise UserError(str(error)) from error
    except duckdb.Error as error:
        print(f"billing-reports export: could not read {warehouse}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(summary["export_dir"])
    return EXIT_OK
