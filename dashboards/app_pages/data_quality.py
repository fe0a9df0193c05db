"""Data quality (operations users only): the recent refreshes, the landing accounting and the rows
kept out of the reports (R14), with file, row and reason."""

from __future__ import annotations

from pathlib import PurePath

import pandas as pd
import streamlit as st

from dashboards import data, ui

ui.page_header(
    "Data quality",
    "For the operations team: how the recent refreshes went, what landed in each raw table and what became of "
    "it, and every landed row kept out of the reports, with its file, row and reason.",
)
if not data.current_scope().is_ops:  # app.py lists this page for operations users only
    st.error("This page is for the operations team.", icon=":material/lock:")
    st.stop()

RUN_OUTCOMES = {
    "published": "Published",
    "failed": "Failed",
    "interrupted": "Interrupted",
    "rolled_back": "Rolled back",
}


def _duration(seconds: float | None) -> str:
    if seconds is None or pd.isna(seconds):
        return "–"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


st.subheader("Recent refreshes")
runs = data.refresh_runs()
if runs is None or runs.empty:
    ui.empty_state(
        "No refresh run is recorded in this warehouse.",
        "`billing-reports refresh` records each run in ops.refresh_runs; a plain `billing-reports build` does not.",
    )
else:
    ui.table_with_times(
        pd.DataFrame(
            {
                "Started": runs["started_at"],
                "Build": runs["build_mode"].fillna("–").str.capitalize(),
                "Outcome": runs["outcome"].map(lambda value: RUN_OUTCOMES.get(value, value)),
                "Duration": runs["duration_seconds"].map(_duration),
                "Rows landed": runs["rows_landed"],
                "Rows rejected": runs["rows_rejected"],
                "Files quarantined": runs["files_quarantined"],
                "Note": runs["build_note"].fillna(runs["dbt_failures"]),
                "Run": runs["run_id"],
                ui.TIMEZONE_COLUMN: None,
            }
        ),
        ["Started"],
        "refresh_runs.csv",
        key="dq_runs",
    )

st.subheader("Landing accounting")
st.caption("Rows landed = accepted + rejected + exact duplicates collapsed; a file rejected whole is not read.")
accounting = data.landing_accounting()
if accounting is None or accounting.empty:
    ui.empty_state("No landing accounting in this warehouse.")
else:
    ui.table(
        pd.DataFrame(
            {
                "Table": accounting["source_table"],
                "Files": accounting["files_seen"],
                "Files rejected": accounting["files_rejected"],
                "Rows landed": accounting["rows_landed"],
                "Accepted": accounting["rows_accepted"],
                "Rejected": accounting["rows_rejected"],
                "Duplicates collapsed": accounting["duplicates_collapsed"],
                "Current": accounting["rows_current"],
                "Superseded": accounting["rows_superseded"],
                "Unreadable": accounting["rows_unreadable"],
            }
        ),
        "landing_accounting.csv",
        key="dq_accounting",
    )

st.subheader("Rejected rows")
rejected = data.rejected_rows()
if rejected is None or rejected.empty:
    ui.empty_state("No landed row was rejected.", "Every landed row passed the contract's checks (R14).")
else:
    st.caption(
        f"{len(rejected):,} row{'s' if len(rejected) != 1 else ''} or file{'s' if len(rejected) != 1 else ''} kept "
        "out of the reports. Row 0 is a file rejected whole; other rows count data rows from 1 (header excluded)."
    )
    ui.table(
        pd.DataFrame(
            {
                "Table": rejected["source_table"],
                "File": rejected["source_file"].map(lambda path: PurePath(str(path)).name),
                "Row": rejected["source_row"],
                "Reason": rejected["reason"],
                "Key": rejected["record_key"],
                "Level": rejected["reject_level"],
                "Path": rejected["source_file"],
            }
        ),
        "rejected_rows.csv",
        key="dq_rejected",
    )
