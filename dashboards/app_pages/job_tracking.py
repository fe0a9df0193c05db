"""Job tracking report (R6): jobs in a date range with their 10-step tracker and item counts; a
job's details and its Job Activity Report (R11) with PDF and HTML downloads."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from billing_reports.activity_report import render_html_body
from dashboards import data, ui

ui.page_header(
    "Job tracking report",
    "A quick way to learn which invoices were processed in a job or batch: the status of each billing job, "
    "including the number of items sent via the various delivery channels.",
)

left, middle, right, search_column = st.columns([3, 3, 3, 2])
with left:
    clients = ui.client_filter("jt_clients")
with middle:
    start, end = ui.date_range_filter(
        "job_tracking", "jt_dates", help="The date the job was created, in the client's time zone; inclusive."
    )
with right:
    methods = ui.method_filter("jt_methods")
with search_column:
    search = st.text_input("Job ID or name", key="jt_search", placeholder="Search jobs")

jobs = data.jobs(clients, start, end, methods, search)
if jobs.empty:
    ui.empty_state(
        "No jobs in this date range.",
        f"Nothing was created {ui.describe_range(start, end)} for these filters. Try a wider date range "
        "or fewer filters. A file you just uploaded appears here once it is picked up (see File pickup).",
    )
    st.stop()

job_ids = jobs["job_id"].tolist()
steps = data.job_steps(job_ids, clients)
counts = data.job_delivery_counts(job_ids, clients)

awaiting = jobs["current_status_code"].isin(["AWAITING_OPS_APPROVAL", "AWAITING_CUSTOMER_APPROVAL"])
metrics = st.columns(5)
metrics[0].metric("Jobs", f"{len(jobs):,}")
metrics[1].metric("Complete", f"{int(jobs['is_complete'].sum()):,}")
metrics[2].metric("In progress", f"{int((~jobs['is_complete'] & ~awaiting).sum()):,}")
metrics[3].metric("Awaiting approval", f"{int(awaiting.sum()):,}")
metrics[4].metric("Documents", f"{int(jobs['document_count'].sum()):,}")

# One row per job: its tracker as symbols, its progress and its item count per delivery method.
trackers = steps.groupby("job_id").apply(ui.tracker_symbols, include_groups=False).rename("tracker")
method_order = counts.groupby("delivery_method")["document_count"].sum().sort_values(ascending=False).index
per_method = (
    counts.pivot_table(index="job_id", columns="delivery_method", values="document_count", aggfunc="sum")
    .reindex(columns=method_order)
    .fillna(0)
    .astype(int)
    .rename(columns=ui.method_label)
    if not counts.empty
    else pd.DataFrame(index=pd.Index([], name="job_id"))
)
table = jobs.set_index("job_id").join(trackers).join(per_method).reset_index()
method_columns = list(per_method.columns)
table[method_columns] = table[method_columns].fillna(0).astype(int)
shown = pd.DataFrame(
    {
        "Job ID": table["job_id"],
        "Job name": table["job_name"],
        "Client": table["client_name"],
        "Current status": table["current_status_label"],
        "Tracker": table["tracker"],
        "Documents": table["document_count"],
        **{column: table[column] for column in method_columns},
        "Created (UTC)": table["created_at"],
        "Completed (local date)": table["job_complete_date"],
    }
)

st.subheader("Jobs")
st.caption(f"{ui.TRACKER_LEGEND}. Click a row to open the job's details.")
event = ui.table(
    shown,
    "job_tracking.csv",
    key="jt_table",
    column_config={
        "Created (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Job name": st.column_config.TextColumn(width="medium"),
        "Current status": st.column_config.TextColumn(width="medium"),
        "Tracker": st.column_config.TextColumn(help=ui.TRACKER_LEGEND, width=110),
        "Completed (local date)": st.column_config.DateColumn(format="YYYY-MM-DD"),
    },
    on_select="rerun",
    selection_mode="single-row",
)

# A clicked row chooses the job shown below; the select box can choose one as well.
selected_rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
clicked = shown["Job ID"].iloc[selected_rows[0]] if selected_rows and selected_rows[0] < len(shown) else None
if clicked is not None and st.session_state.get("jt_last_clicked") != clicked:
    st.session_state["jt_last_clicked"] = clicked
    st.session_state["jt_job"] = clicked
if st.session_state.get("jt_job") not in job_ids:
    st.session_state["jt_job"] = job_ids[0]
names = dict(zip(jobs["job_id"], jobs["job_name"], strict=True))

st.divider()
job_id = st.selectbox(
    "Job details",
    job_ids,
    key="jt_job",
    format_func=lambda value: f"{value} · {names.get(value) or ''}".rstrip(" ·"),
)
job = jobs.set_index("job_id").loc[job_id]
st.subheader(f"{job['job_name'] or job_id}")
st.caption(
    f"Job {job_id} · {job['client_name']} · created {pd.Timestamp(job['created_at']):%Y-%m-%d %H:%M} UTC · "
    f"current status: {job['current_status_label']}"
)
st.html(ui.tracker_html(steps[steps["job_id"] == job_id]))

chart_column, facts_column = st.columns([3, 2])
job_counts = counts[counts["job_id"] == job_id].assign(
    method=lambda frame: frame["delivery_method"].map(ui.method_label)
)
with chart_column:
    if job_counts.empty:
        ui.empty_state("This job has no documents.")
    else:
        figure = px.bar(
            job_counts.sort_values("document_count"),
            x="document_count",
            y="method",
            orientation="h",
            text="document_count",
            labels={"document_count": "Items", "method": ""},
            title="Items by delivery method",
        )
        figure.update_layout(height=120 + 40 * len(job_counts), margin={"t": 40, "b": 10, "l": 10, "r": 10})
        ui.count_axis(figure, job_counts["document_count"].max(), axis="x")
        st.plotly_chart(figure, key="jt_counts_chart")
with facts_column:
    completed = job["job_completed_at"]
    completed_text = (
        "not complete yet"
        if pd.isna(completed)
        else f"{pd.Timestamp(completed):%Y-%m-%d %H:%M} UTC (local date {pd.Timestamp(job['job_complete_date']):%Y-%m-%d})"
    )
    st.markdown(
        f"- **Documents:** {int(job['document_count']):,}\n"
        f"- **Pulled documents (pull class T):** {int(job['pulled_document_count']):,}\n"
        f"- **Current status:** {job['current_status_label']}\n"
        f"- **Completed:** {completed_text}"
    )

st.subheader("Job Activity Report")
report = data.job_activity(job_id, clients)
if not report["is_complete"]:
    st.info(
        "The Job Activity Report is available once the job has completed; it is then e-mailed "
        "automatically to the client's primary support and billing contacts.",
        icon=":material/pending:",
    )
else:
    html_text, pdf_bytes = data.job_activity_files(job_id, clients)
    activity = report["activity"]
    cells = st.columns(4)
    cells[0].metric("Failed deliveries", f"{int(activity['failed_delivery_count']):,}")
    cells[1].metric("Bounced deliveries", f"{int(activity['bounced_delivery_count']):,}")
    cells[2].metric("Batches", f"{int(activity['print_batch_count'] + activity['electronic_batch_count']):,}")
    cells[3].metric(
        "Fees billed",
        " + ".join(ui.money(fee["amount"], fee["currency"]) for fee in report["fees"]) or "None",
    )
    buttons = st.container(horizontal=True)
    buttons.download_button(
        "Download PDF",
        pdf_bytes,
        file_name=f"job-activity-{job_id}.pdf",
        mime="application/pdf",
        key="jt_report_pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
    )
    buttons.download_button(
        "Download HTML",
        html_text.encode("utf-8"),
        file_name=f"job-activity-{job_id}.html",
        mime="text/html",
        key="jt_report_html",
        icon=":material/code:",
        on_click="ignore",
    )
    with st.expander("View Job Activity Report"):
        st.html(render_html_body(report))
