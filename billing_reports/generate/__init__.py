"""Synthetic landing-folder generator for the billing-reports warehouse.

``generate(out_dir, documents=..., ...)`` writes ``<out_dir>/<table>/<extract-day>.csv`` for the 16 raw
tables of the contract (``shared/spec/contract.md`` section 2) and returns a summary dict.

Everything that scales with the document count is produced by DuckDB SQL (``range``/``unnest``,
joins, window functions, ``COPY``); only the per-client configuration (clients, contacts, branches,
processing rules and their change requests: a few rows per client) is laid out in Python.
Every random value is derived from ``hash(<row key>, seed, <purpose>)``, never from ``random()``, and
every file is written with an explicit ``ORDER BY`` on its key, so the output is byte-identical for a
given seed whatever the thread scheduling.

Time model: the period is ``[start_date 00:00Z, start_date + days 00:00Z)``; its end is the "as of"
moment of the extract (returned as ``summary["as_of"]``). Facts that would happen after it are cut:
recent jobs stop mid-sequence, approvals are pending, batches are unreleased/unmailed, files wait.
Large tables are split into one file per UTC extract day (``YYYY-MM-DD.csv``); a record that changes
after the day it first appeared is re-sent, updated, in the later day's file (upsert by key).

Ids are a letter prefix plus a zero-padded number (``CL001``, ``J000123``, ``D000000042`` ...), so they
sort lexicographically in creation order. See ``ID_FORMATS``.

``extend_one_day(out_dir)`` appends the next extract day to such a folder (``billing-reports generate --out DIR
--extend-days N`` calls it N times): it reads the folder's state with DuckDB and writes one more
``<table>/<day>.csv`` per table with the day's new uploads, jobs, documents, ... (ids continuing after the
folder's) and the re-sent versions of the open records that progress that day.
"""

from __future__ import annotations

from billing_reports.generate.contract import CHANNELS, ID_FORMATS, STATUS_CODES, TABLE_COLUMNS, TABLE_KEYS
from billing_reports.generate.extend import extend_one_day
from billing_reports.generate.period import generate

__all__ = ["generate", "extend_one_day", "TABLE_COLUMNS", "TABLE_KEYS", "CHANNELS", "STATUS_CODES", "ID_FORMATS"]
