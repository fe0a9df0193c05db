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

clients, start, end, (right,) = ui.report_filters(
    "file_pickup", "fp", label="Uploaded", help="The upload date, in the client's time zone; inclusive."
)
with right:
    states = ui.choice_filter(
        "State", ui.PICKUP_STATE_LABELS, "fp_states", placeholder="Every state", default=["waiting", "overdue"]
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

st.caption(
    f"States as of **{ui.local_time(as_of, ui.viewer_timezone())}**, the time the warehouse was built for. "
    "Times are in each client's time zone; the CSV download has them in UTC as well."
)
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
    for file in overdue.itertuples(index=False):
        uploaded = ui.local_time(file.uploaded_at, file.timezone)
        expected = ui.local_time(file.expected_pickup_by, file.timezone)
        subject = f"File not picked up: {file.file_name} ({file.client_name})"
        body = (
            f"Client: {file.client_name} ({file.client_id})\n"
            f"File: {file.file_name} (file id {file.file_id})\n"
            f"Uploaded: {uploaded}\n"
            f"Expected pickup by: {expected}\n\n"
            "The file has not been picked up for processing and does not appear in the Job Tracking report."
        )
        st.markdown(
            f"- **{file.file_name}** ({file.client_name}), uploaded {uploaded}, expected by {expected}: "
            f"[submit a ticket]({ui.support_ticket_link(subject, body)})"
        )

ui.table_with_times(
    pd.DataFrame(
        {
            "State": files["pickup_state"].map(ui.PICKUP_STATE_LABELS),
            "Client": files["client_name"],
            "File": files["file_name"],
            "Uploaded": files["uploaded_at"],
            "Expected pickup by": files["expected_pickup_by"],
            "Picked up": files["picked_up_at"],
            "Job ID": files["job_id"],
            "Timed start": files["timed_start_rule_id"].notna(),
            "Size (KB)": (files["size_bytes"] / 1024).round(1),
            ui.TIMEZONE_COLUMN: files["timezone"],
        }
    ),
    ["Uploaded", "Expected pickup by", "Picked up"],
    "file_pickup.csv",
    key="fp_table",
    column_config={
        "Timed start": st.column_config.CheckboxColumn(help="A timed-start rule delayed the pickup window."),
    },
)
