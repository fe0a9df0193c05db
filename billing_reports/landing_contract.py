"""The landing contract, read from its one definition: ``models/staging/billing/_billing__sources.yml``.

Source ``billing`` lists the 16 raw tables in load order; each column's ``meta`` says its ``type``, whether it
is part of the ``key``, ``required``, what it ``references``, and for a code column its ``values`` or the seed
its values come from (``values_from: <seed>``, the seed's column of the same name). The source's own ``meta``
says how the files are read (``csv_options``) and how each column type parses (``column_types``: ``pattern``,
``cast``, ``words``, ``non_negative``).

The landing macros (``macros/landing``) read the same YAML through dbt's ``graph.sources``; the validator
(:mod:`billing_reports.validate`), the generator (:mod:`billing_reports.generate`) and the dashboard labels read
it here. Adding a column or a delivery channel is a change to that YAML (or to the seed) only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from billing_reports.settings import PROJECT_DIR

SOURCES_YML = PROJECT_DIR / "models" / "staging" / "billing" / "_billing__sources.yml"
SEEDS_DIR = PROJECT_DIR / "seeds"
SOURCE_NAME = "billing"


@dataclass(frozen=True)
class ColumnType:
    """How a column type's text parses: a full-match ``pattern`` then a ``cast`` (none: parsed by its own
    macro, or not parsed at all); ``words`` name it in a reject reason."""

    name: str
    words: str
    pattern: str | None = None
    cast: str | None = None
    non_negative: bool = False


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str = "text"
    key: bool = False
    required: bool = False
    values: tuple[str, ...] = ()
    references: str | None = None
    values_from: str | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass(frozen=True)
class LandingContract:
    tables: dict[str, TableSpec]
    column_types: dict[str, ColumnType]
    csv_options: str


def _source(path: Path) -> dict:
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for source in document.get("sources", []):
        if source.get("name") == SOURCE_NAME:
            return source
    raise ValueError(f"{path} has no source named {SOURCE_NAME!r}")


def seed_rows(seed: str, seeds_dir: Path | None = None) -> list[dict[str, str]]:
    """The rows of ``seeds/<seed>.csv``, in file order."""
    path = (seeds_dir or SEEDS_DIR) / f"{seed}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def seed_labels(seed: str, code_column: str, label_column: str, seeds_dir: Path | None = None) -> dict[str, str]:
    """``{code: label}`` of a reference seed, in file order."""
    return {row[code_column]: row[label_column] for row in seed_rows(seed, seeds_dir)}


def load_contract(path: Path = SOURCES_YML, seeds_dir: Path | None = None) -> LandingContract:
    """The whole contract from a sources YAML (seeds from ``seeds_dir``, by default the project's)."""
    source = _source(path)
    source_meta = source.get("meta") or {}
    column_types = {
        name: ColumnType(
            name=name,
            words=str((spec or {}).get("words", name)),
            pattern=(spec or {}).get("pattern"),
            cast=(spec or {}).get("cast"),
            non_negative=bool((spec or {}).get("non_negative")),
        )
        for name, spec in (source_meta.get("column_types") or {}).items()
    }
    if not column_types or not source_meta.get("csv_options"):
        raise ValueError(f"{path}: source {SOURCE_NAME!r} has no meta csv_options / column_types")
    tables: dict[str, TableSpec] = {}
    for table in source.get("tables", []):
        columns = []
        for column in table.get("columns", []):
            meta = column.get("meta") or {}
            column_type = meta.get("type", "text")
            if column_type not in column_types:
                raise ValueError(f"{path}: {table['name']}.{column['name']} has unknown type {column_type!r}")
            values = tuple(str(value) for value in meta.get("values") or ())
            if meta.get("values_from"):
                values = tuple(row[column["name"]] for row in seed_rows(meta["values_from"], seeds_dir))
            columns.append(
                ColumnSpec(
                    name=column["name"],
                    type=column_type,
                    key=bool(meta.get("key")),
                    required=bool(meta.get("required")),
                    values=values,
                    references=meta.get("references"),
                    values_from=meta.get("values_from"),
                )
            )
        key = tuple((table.get("meta") or {}).get("key") or [c.name for c in columns if c.key])
        tables[table["name"]] = TableSpec(name=table["name"], key=key, columns=tuple(columns))
    return LandingContract(tables=tables, column_types=column_types, csv_options=str(source_meta["csv_options"]))


def load_table_specs(path: Path = SOURCES_YML) -> dict[str, TableSpec]:
    """The raw tables of source ``billing`` with their columns' type/key/required/values meta."""
    return load_contract(path).tables


@cache
def contract() -> LandingContract:
    """The project's contract, read once per process."""
    return load_contract()


def table_columns() -> dict[str, list[str]]:
    """``{table: [column, ...]}`` in load order."""
    return {name: spec.column_names for name, spec in contract().tables.items()}


def table_keys() -> dict[str, list[str]]:
    """``{table: [key column, ...]}``."""
    return {name: list(spec.key) for name, spec in contract().tables.items()}
