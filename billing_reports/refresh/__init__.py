"""``billing-reports refresh`` and ``rollback``: the scheduled path that never breaks what readers see.

A refresh, under a lock:

1. takes ``<warehouse>.lock`` (``fcntl.flock``, non-blocking: a second refresh exits with code 3;
   the kernel releases the lock when a process dies, so a killed run never blocks the next);
2. checks every landing file's header (``billing_reports.validate``), moving files rejected whole
   to the quarantine folder;
3. builds into a new file, ``<warehouse>.building-next``, with ``dbt build``: in full, or
   incrementally when it can (see "Incremental builds" below); dbt's landing step reads each
   landing file once;
4. validates the rows the build landed with Great Expectations, read from its ``raw`` tables
   (a report: row problems are rejected by the build itself);
5. records in that file every file still in quarantine (``ops.rejected_rows``, reject_level
   ``file``; ``ops.quarantined_files``) and the run in ``ops.refresh_runs``, carrying the
   history of the published file (opened read-only) and of the run log;
6. publishes only when the build and its error-severity tests passed: the published file is
   kept as ``<warehouse>.previous`` (a hard link), then ``os.replace(new, warehouse)``. A
   reader that has the old file open keeps reading it; the next open sees the new one. On
   failure the published file is untouched and the half-built file deleted.

Every run, published or not, is appended to ``<warehouse dir>/refresh_runs.jsonl``; each run
logs its progress and dbt's output to ``<warehouse dir>/logs/refresh-<run-id>.log`` and keeps its
validation report in ``<warehouse dir>/validation/<run-id>/``. See docs/refresh.md.

Incremental builds. When the published warehouse was built by the same project (models, macros,
seeds, settings: ``raw._build_state``) from the same landing folder, and every file it landed is
still there, unchanged (name, size, modification time: ``raw._landing_signatures``) and still
first in its table's file order, the refresh copies the published file forward as the new file
and builds with the var ``billing_incremental``: only the new files are validated and landed, and
the ``base_`` models re-judge only the key groups the new rows touch (plus rows waiting for a
parent); everything downstream is rebuilt from them. Otherwise, or with ``--full``, it builds
from nothing. Both give the same warehouse; tests/refresh/test_refresh_incremental.py proves it.

On Spark (``BILLING_ENGINE=spark``, docs/scale-out.md) step 3 builds in full on Spark, which writes
Parquet, and copies its tables into the new file (``billing_reports.spark_warehouse``); every other
step, and what readers see, is the same.

The package, one module per step: ``plan`` (the options; incremental or full), ``build`` (validate,
build, record), ``publish`` (the lock, publish, rollback), ``runlog`` (the record of every run),
``run`` (``run_refresh``: one refresh) and ``command`` (the command line).
"""

from __future__ import annotations

from billing_reports.refresh.build import RefreshOutcome
from billing_reports.refresh.command import register
from billing_reports.refresh.plan import RefreshOptions
from billing_reports.refresh.run import run_refresh

__all__ = ["RefreshOptions", "RefreshOutcome", "register", "run_refresh"]
