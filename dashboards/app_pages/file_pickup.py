"""File pickup (R12): uploaded files waiting to be picked up for processing, or overdue."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import data, ui

SUPPORT_HINT = (
    "When you upload a file there is approximately a 15-minute window before the file will be picked up for "
    "processing. Additionally, some customers may use a timed rule which prevents jobs from starting until a "
    "designated time. If your job doesn't process and appear in the Job Tracking report within the 15-minute "
    "window you can submit a ticket to Customer Support."
)

ui.page_header(
    "File pickup",
    "Files uploaded for processing and when each is expected to be picked up: within 15 minutes of the upload, "
    "or of the next timed start when a timed rule applies.",
)
st.info(SUPPORT_HINT, icon=":material/support_agent:")

left, middle, right = st.columns([3, 3, 3])
with left:
    clients = ui.client_filter("fp_clients")
with middle:
    start, end = ui.date_range_filter("file_pickup", "fp_dates", label="Uploaded", help="The upload date (UTC).")
with right:
    states = ui.choice_filter(
        "State",
        list(ui.PICKUP_STATE_LABELS),
        "fp_states",
        format_func=ui.PICKUP_STATE_LABELS.get,
        placeholder="Every state",
        default=["waiting", "overdue"],
    )

files = data.file_pickup(clients, start, end, states)
as_of = files["as_of"].max() if not files.empty else None
if files.empty:
    waiting_only = states is not None and set(states) <= {"waiting", "overdue"}
    ui.empty_state(
        "No files waiting or overdue in this date range." if waiting_only else "No uploaded files in this date range.",
        f"Uploads {ui.describe_range(start, end)} for these filters.",
    )
    st.stop()

st.caption(f"States as of **{pd.Timestamp(as_of):%Y-%m-%d %H:%M} UTC**, the time the warehouse was built for.")
overdue = files[files["pickup_state"] == "overdue"]
metrics = st.columns(3)
metrics[0].metric("Overdue", f"{len(overdue):,}")
metrics[1].metric("Waiting", f"{int((files['pickup_state'] == 'waiting').sum()):,}")
metrics[2].metric("Picked up", f"{int((files['pickup_state'] == 'picked_up').sum()):,}")
if not overdue.empty:
    st.error(
        f"{len(overdue)} file{'s are' if len(overdue) != 1 else ' is'} overdue: not picked up by the expected time. "
        "You can submit a ticket to Customer Support.",
        icon=":material/report:",
    )

ui.table(
    pd.DataFrame(
        {
            "State": files["pickup_state"].map(ui.PICKUP_STATE_LABELS),
            "Client": files["client_id"],
            "File": files["file_name"],
            "Uploaded (UTC)": files["uploaded_at"],
            "Expected pickup by (UTC)": files["expected_pickup_by"],
            "Picked up (UTC)": files["picked_up_at"],
            "Job ID": files["job_id"],
            "Timed start": files["timed_start_rule_id"].notna(),
            "Size (KB)": (files["size_bytes"] / 1024).round(1),
        }
    ),
    "file_pickup.csv",
    key="fp_table",
    column_config={
        "Uploaded (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Expected pickup by (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Picked up (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Timed start": st.column_config.CheckboxColumn(help="A timed-start rule delayed the pickup window."),
    },
)
