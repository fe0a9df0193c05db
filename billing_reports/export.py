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

Only what changed is written again. ``_export.json`` keeps a fingerprint of every model (of every
partition of a partitioned one): its columns and types, its row count and two sums of a 64-bit hash
of every row, computed by DuckDB in one scan, far cheaper than writing the Parquet. An export whose
previous export holds a model (or a partition) with the same fingerprint hard-links those files
into the new folder instead of writing them (same inode, same modification time); a part whose row
count differs from the recorded one has changed and is written without being hashed. The folder is
still assembled whole beside the old one and swapped in as above, so a reader never sees a mix. The
summary says, per model and partition, which export wrote its files (``written_by``).

The refresh calls :func:`export_marts` after it publishes a warehouse.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
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
#: How the Parquet files are written; part of every fingerprint, so a change rewrites everything.
COPY_OPTIONS = "format parquet, compression zstd"


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
                previous = _previous_models(export_dir)
                summary_models = {}
                for model in models:
                    summary_models[model] = _export_model(
                        connection, model, staging / model, export_id, previous.get(model), export_dir / model
                    )
                    details = summary_models[model]
                    partitioned = f", partitioned by {details['partitioned_by']}" if details["partitioned_by"] else ""
                    kept = f" ({details['kept_files']} unchanged, kept)" if details["kept_files"] else ""
                    say(f"exported {model}: {details['rows']} rows in {details['files']} file(s){kept}{partitioned}")
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


def _previous_models(export_dir: Path) -> dict:
    """The models of the export in ``export_dir`` (its ``_export.json``), or {} when there is none."""
    if not is_earlier_export(export_dir):
        return {}
    try:
        return json.loads((export_dir / SUMMARY_FILE).read_text(encoding="utf-8"))["models"]
    except (OSError, ValueError, KeyError):
        return {}


def _export_model(
    connection, model: str, folder: Path, export_id: str, previous: dict | None, previous_folder: Path
) -> dict:
    """Write one model into ``folder``, hard-linking from ``previous_folder`` what has not changed."""
    relation = f"{sql_identifier(PUBLIC_SCHEMA)}.{sql_identifier(model)}"
    columns = connection.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? and table_catalog = current_database() "
        "order by ordinal_position",
        [PUBLIC_SCHEMA, model],
    ).fetchall()
    names = [name for name, _ in columns]
    partitioning = PARTITIONED_MODELS.get(model)
    if partitioning and (partitioning.date_column not in names or partitioning.key in names):
        partitioning = None  # the model changed shape: one file is always right
    # What the files depend on besides the rows: a change rewrites every file of the model.
    layout = hashlib.sha256(
        json.dumps(
            [columns, partitioning.key if partitioning else None, COPY_OPTIONS, _duckdb_version()], default=str
        ).encode()
    ).hexdigest()[:16]
    # Per part (the whole model, or each partition folder ``key=YYYY-MM``): the layout, the rows and
    # two sums of a 64-bit hash of every row (the row as a struct). A part the previous export
    # recorded with another number of rows has changed, so it is not hashed (a table that grows
    # every day, such as fct_documents, costs a count, not a hash); its fingerprint, without the
    # hash, then matches nothing. Every other part is hashed, to be compared now or next time.
    value = (
        f"coalesce(strftime({sql_identifier(partitioning.date_column)}, '%Y-%m'), '{NULL_PARTITION}')"
        if partitioning
        else "''"
    )

    def folder_of(part_value: str) -> str:
        return f"{partitioning.key}={part_value}" if partitioning else ""

    counts = {
        folder_of(part_value): int(count)
        for part_value, count in connection.execute(
            f"select {value} as part, count(*) from {relation} group by part"
        ).fetchall()
    }
    recorded = _recorded(previous)
    grown = {
        name
        for name, count in counts.items()
        if recorded.get(name, ("", ""))[0].startswith(f"{layout}:")
        and not recorded[name][0].startswith(f"{layout}:{count}:")
    }
    same_size = [name for name in counts if name not in grown]
    hashes = {}
    if same_size:
        row = "_export_row" if "_export_row" not in names else "_export_row_" + secrets.token_hex(4)
        hashes = {
            folder_of(part_value): (first, second)
            for part_value, first, second in connection.execute(
                f"select {value} as part, sum(hash({row})), sum(hash({row}, 1)) from {relation} as {row} "
                f"where {value} in ({', '.join(sql_string(name.split('=', 1)[-1]) for name in same_size)}) "
                "group by part"
            ).fetchall()
        }
    rows = sum(counts.values())
    folder.mkdir(parents=True)
    if not counts:
        # An empty model still gets one (empty) file (in the null partition), so that it can be read.
        parts = {folder_of(NULL_PARTITION): f"{layout}:0"}
    else:
        parts = {
            name: f"{layout}:{count}:" + (":".join(map(str, hashes[name])) if name in hashes else "")
            for name, count in counts.items()
        }
    reusable = _reusable(parts, previous, previous_folder)
    # New files first, into the empty folder; then the unchanged ones linked beside them.
    _write(connection, relation, folder, partitioning, [name for name in parts if name not in reusable])
    kept = _link(reusable, folder)
    _write(connection, relation, folder, partitioning, [name for name in reusable if name not in kept], again=True)
    files = sum(1 for _ in folder.rglob("*.parquet"))
    details = {
        "rows": rows,
        "files": files,
        "kept_files": sum(len(reusable[name][1]) for name in kept),
        "partitioned_by": partitioning.key if partitioning else None,
        "partition_source_column": partitioning.date_column if partitioning else None,
    }
    written_by = {name: reusable[name][0] if name in kept else export_id for name in parts}
    if partitioning is None:
        details.update(fingerprint=parts[""], written_by=written_by[""])
    else:
        details["partitions"] = {
            name: {"fingerprint": parts[name], "written_by": written_by[name]} for name in sorted(parts)
        }
    return details


def _write(
    connection, relation: str, folder: Path, partitioning: Partitioning | None, parts: list[str], *, again=False
) -> None:
    """Write the parts named (``""``: the whole model; else partition folders ``key=value``) into
    ``folder``; ``again``: beside files already there (parts that could not be linked)."""
    if not parts:
        return
    if partitioning is None:
        connection.execute(
            f"copy (select * from {relation}) to {sql_string(str(folder / 'data_0.parquet'))} ({COPY_OPTIONS})"
        )
        return
    key, values = sql_identifier(partitioning.key), [part.split("=", 1)[1] for part in parts]
    selected = (
        f"select * from (select *, strftime({sql_identifier(partitioning.date_column)}, '%Y-%m') as {key} "
        f"from {relation}) where coalesce({key}, '{NULL_PARTITION}') in ({', '.join(map(sql_string, values))})"
    )
    if not connection.execute(f"select exists ({selected})").fetchone()[0]:
        # An empty model still gets one (empty) file, in the null partition, so that it can be read.
        empty = folder / f"{partitioning.key}={NULL_PARTITION}"
        empty.mkdir(exist_ok=True)
        connection.execute(
            f"copy (select * from {relation} limit 0) to {sql_string(str(empty / 'data_0.parquet'))} ({COPY_OPTIONS})"
        )
        return
    connection.execute(
        f"copy ({selected}) to {sql_string(str(folder))} ({COPY_OPTIONS}, partition_by ({key}), "
        f"filename_pattern 'data_{{i}}'{', overwrite_or_ignore' if again else ''})"
    )


def _recorded(previous: dict | None) -> dict[str, tuple[str, str]]:
    """``{part: (fingerprint, written_by)}`` of a model in the previous export's summary."""
    if not previous:
        return {}
    if "partitions" in previous:
        return {
            name: (entry.get("fingerprint") or "", entry.get("written_by") or "")
            for name, entry in previous["partitions"].items()
        }
    return {"": (previous.get("fingerprint") or "", previous.get("written_by") or "")}


def _reusable(parts: dict[str, str], previous: dict | None, previous_folder: Path) -> dict:
    """The parts whose fingerprint is the one the previous export recorded (a fingerprint without
    the rows' hash, ending in ``:``, never is), with their files still there:
    ``{part: (written_by, [files])}``."""
    recorded = _recorded(previous)
    reusable = {}
    for name, fingerprint in parts.items():
        old_fingerprint, written_by = recorded.get(name, ("", ""))
        source = previous_folder / name if name else previous_folder
        if not written_by or old_fingerprint != fingerprint or fingerprint.endswith(":") or not source.is_dir():
            continue
        files = sorted(path for path in source.iterdir() if path.name.endswith(".parquet") and path.is_file())
        if files and (name or len(files) == previous.get("files")):
            reusable[name] = (written_by, files)
    return reusable


def _link(reusable: dict, folder: Path) -> set[str]:
    """Hard-link the reusable parts' files into ``folder`` (same inode: nothing is written); the
    parts that could not be linked (no hard links on this file system) are left out."""
    kept = set()
    for name, (_, files) in reusable.items():
        target = folder / name if name else folder
        target.mkdir(mode=fileio.PRIVATE_DIR_MODE, exist_ok=True)
        try:
            for path in files:
                os.link(path, target / path.name)
        except OSError:
            for path in files:
                (target / path.name).unlink(missing_ok=True)
            continue
        kept.add(name)
    return kept


def _duckdb_version() -> str:
    import duckdb

    return duckdb.__version__


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
