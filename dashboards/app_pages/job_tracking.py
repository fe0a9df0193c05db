"""Job tracking report (R6): find a document by its number or customer account; jobs in a date
range with their 10-step tracker and item counts; a job's details (the tracker in the help page's
words, its documents, paged and filtered) and its Job Activity Report (R11), interim while the
job is in progress, with PDF and HTML downloads. Every time is in the client's zone."""

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

DOCUMENT_TYPE_LABELS = {"invoice": "Invoice", "statement": "Statement", "credit_memo": "Credit memo"}
OUTCOME_LABELS = {"sent": "sent", "bounced": "bounced", "failed": "failed"}
PAGE_SIZES = [100, 500, 2000]


def attempts_text(document_ids: list[str], clients: list[str] | None) -> dict[str, str]:
    """Each document's delivery attempts with their outcomes, in the order made, as one line."""
    if not document_ids:
        return {}
    attempts = data.document_deliveries(document_ids, clients)
    lines: dict[str, str] = {}
    for document_id, rows in attempts.groupby("document_id", sort=False):
        outcomes = ", ".join(OUTCOME_LABELS.get(outcome, str(outcome)) for outcome in rows["outcome"])
        lines[str(document_id)] = f"{len(rows)}: {outcomes}"
    return lines


def routing(method: str, pull_class: str | None) -> str:
    label = ui.method_label(method)
    return f"{label} (class {pull_class})" if method == "pull" and pull_class else label


def document_table(documents: pd.DataFrame, clients: list[str] | None, with_job: bool) -> pd.DataFrame:
    """Documents as the page shows them: names, routing as generated and as delivered, attempts,
    and the time mailed or sent in the client's zone (its UTC value beside it)."""
    attempted = documents[documents["delivery_attempt_count"] > 0]
    attempts = attempts_text(attempted["document_id"].astype(str).tolist(), clients)
    localised = ui.with_local_times(documents, ["mailed_or_sent_at"])
    shown = pd.DataFrame(
        {
            "Document": documents["document_number"].fillna(documents["document_id"]),
            **({"Job": documents["job_id"] + " · " + documents["job_name"].fillna("")} if with_job else {}),
            "Batch": documents["batch_id"],
            "Type": documents["document_type"].map(lambda value: DOCUMENT_TYPE_LABELS.get(value, value)),
            "Customer": documents["customer_account_id"]
            + documents["customer_name"].map(lambda name: f" · {name}" if isinstance(name, str) and name else ""),
            "Amount due": [
                ui.money(amount, currency)
                for amount, currency in zip(documents["amount_due"], documents["currency"], strict=True)
            ],
            "Routed as generated": documents["delivery_channel"].map(ui.method_label),
            "Delivered as": [
                routing(method, pull_class)
                for method, pull_class in zip(documents["delivery_method"], documents["pull_class"], strict=True)
            ],
            "State": documents["delivery_state"].map(lambda value: data.DOCUMENT_STATES.get(value, value)),
            "Delivery attempts": documents["document_id"].astype(str).map(lambda key: attempts.get(key, "none")),
            "Mailed or sent": localised["mailed_or_sent_at"],
            "Mailed or sent (UTC)": localised["mailed_or_sent_at_utc"],
        }
    )
    return shown


# --------------------------------------------------------------------------------------------
# Find a document: by document (invoice) number or customer account, across the client's jobs
# --------------------------------------------------------------------------------------------

st.subheader("Find a document")
FIND_BY_LABELS = {"document_number": "Invoice (document) number", "customer_account": "Customer account"}
find_by = st.radio(
    "Find by",
    list(FIND_BY_LABELS),
    format_func=FIND_BY_LABELS.get,
    horizontal=True,
    key="jt_find_by",
)
found_text = st.text_input(
    FIND_BY_LABELS[find_by],
    key="jt_find",
    placeholder="e.g. INV-301" if find_by == "document_number" else "e.g. A1",
    help="The whole number, as printed on the bill, across every job you can see.",
)
if found_text.strip():
    found = data.find_documents(found_text, None, by=find_by)
    if found.empty:
        ui.empty_state(
            "No document has that number." if find_by == "document_number" else "No document for that account.",
            "Type the whole number as it is printed on the bill.",
        )
    else:
        st.caption(
            f"{len(found):,} document{'s' if len(found) != 1 else ''} found"
            + (f" (the first {data.SEARCH_LIMIT})" if len(found) >= data.SEARCH_LIMIT else "")
            + ". Each names the job and batch that processed it."
        )
        ui.table(document_table(found, None, with_job=True), "document_search.csv", key="jt_found")
        attempted = found[found["delivery_attempt_count"] > 0]
        attempts = data.document_deliveries(attempted["document_id"].astype(str).tolist()) if len(attempted) else None
        if attempts is not None and not attempts.empty:
            zones = dict(zip(found["document_id"], found["timezone"], strict=True))
            attempts = attempts.assign(timezone=attempts["document_id"].map(zones))
            localised = ui.with_local_times(attempts, ["attempted_at", "sent_at"])
            with st.expander(f"Delivery attempts ({len(attempts):,})"):
                ui.table(
                    pd.DataFrame(
                        {
                            "Document": localised["document_number"],
                            "Attempt": localised["attempt_number"],
                            "Channel": localised["delivery_channel"].map(ui.method_label),
                            "Attempted": localised["attempted_at"],
                            "Sent": localised["sent_at"],
                            "Outcome": localised["outcome"],
                            "Attempted (UTC)": localised["attempted_at_utc"],
                            "Sent (UTC)": localised["sent_at_utc"],
                        }
                    ),
                    "document_attempts.csv",
                    key="jt_found_attempts",
                )
st.divider()

# --------------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------------

clients, start, end, (right, search_column) = ui.report_filters(
    "job_tracking",
    "jt",
    help="The date the job was created, in the client's time zone; inclusive.",
    widths=(3, 3, 3, 2),
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

# "Complete" is the tracker's last step (Job Complete/All Bills Sent); the R2 completion used by
# Billing statistics has its own column below.
awaiting = jobs["current_status_code"].isin(["AWAITING_OPS_APPROVAL", "AWAITING_CUSTOMER_APPROVAL"])
complete = jobs["is_tracker_complete"].fillna(False).astype(bool)
metrics = st.columns(5)
metrics[0].metric("Jobs", f"{len(jobs):,}")
metrics[1].metric(
    "Complete", f"{int(complete.sum()):,}", help="Jobs whose tracker reached Job Complete/All Bills Sent."
)
metrics[2].metric("In progress", f"{int((~complete & ~awaiting).sum()):,}")
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
local = ui.with_local_times(table, ["created_at", "tracker_completed_at"])
shown = pd.DataFrame(
    {
        "Job ID": table["job_id"],
        "Job name": table["job_name"],
        "Client": table["client_name"].fillna(table["client_id"]),
        "Current status": table["current_status_label"],
        "Tracker": table["tracker"],
        "Documents": table["document_count"],
        **{column: table[column] for column in method_columns},
        "Created": local["created_at"],
        "Completed": local["tracker_completed_at"],
        "Billing-statistics complete date (R2)": table["job_complete_date"],
        "Created (UTC)": local["created_at_utc"],
        "Completed (UTC)": local["tracker_completed_at_utc"],
    }
)

st.subheader("Jobs")
st.caption(
    f"{ui.TRACKER_LEGEND}. Click a row to open the job's details. Times are the client's local times. "
    "Completed is when the tracker reached Job Complete/All Bills Sent; the billing-statistics complete "
    "date (R2) is when all electronic bills were sent or the job was sent to print, whichever is last."
)
event = ui.table(
    shown,
    "job_tracking.csv",
    key="jt_table",
    column_config={
        "Job name": st.column_config.TextColumn(width="medium"),
        "Current status": st.column_config.TextColumn(width="medium"),
        "Tracker": st.column_config.TextColumn(help=ui.TRACKER_LEGEND, width=110),
        "Completed": st.column_config.TextColumn(help="The tracker's last step, Job Complete/All Bills Sent."),
        "Billing-statistics complete date (R2)": st.column_config.DateColumn(
            format="YYYY-MM-DD",
            help="The date Billing statistics counts the job on (the client's local date).",
        ),
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

# --------------------------------------------------------------------------------------------
# Job details
# --------------------------------------------------------------------------------------------

st.divider()
job_id = st.selectbox(
    "Job details",
    job_ids,
    key="jt_job",
    format_func=lambda value: f"{value} · {names.get(value) or ''}".rstrip(" ·"),
)
job = jobs.set_index("job_id").loc[job_id]
zone = job["timezone"] if isinstance(job["timezone"], str) else None
st.subheader(f"{job['job_name'] or job_id}")
st.caption(
    f"Job {job_id} · {job['client_name'] or job['client_id']} · created {ui.local_time(job['created_at'], zone)} · "
    f"current status: {job['current_status_label']}"
)
job_steps = steps[steps["job_id"] == job_id]
st.html(ui.tracker_html(job_steps, zone))
with st.expander("What each step means (the help page's descriptions)", expanded=True):
    ordered = job_steps.sort_values("step_order")
    # A static table, so that the descriptions wrap instead of being cut off.
    st.table(
        pd.DataFrame(
            {
                "Step": ordered["step_order"],
                "Status": ordered["step_title"],
                "State": [
                    reason if state == "not_applicable" and isinstance(reason, str) else ui.STEP_STATE_LABELS.get(state)
                    for state, reason in zip(ordered["step_state"], ordered["not_applicable_reason"], strict=True)
                ],
                "Entered": [ui.local_time(value, zone) for value in ordered["entered_at"]],
                "Description": ordered["help_text"],
            }
        ).set_index("Step")
    )

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
    tracker_done = job["tracker_completed_at"]
    r2_date = job["job_complete_date"]
    st.markdown(
        f"- **Documents:** {int(job['document_count']):,}\n"
        f"- **Pulled documents (pull class T):** {int(job['pulled_document_count']):,}\n"
        f"- **Current status:** {job['current_status_label']}\n"
        f"- **Completed (Job Complete/All Bills Sent):** "
        f"{'not complete yet' if pd.isna(tracker_done) else ui.local_time(tracker_done, zone)}\n"
        f"- **Billing-statistics complete date (R2):** "
        f"{'none yet' if pd.isna(r2_date) else f'{pd.Timestamp(r2_date):%Y-%m-%d}'}"
    )

# The job's documents: which invoices this job processed, paged, with their filters.
st.subheader("Documents in this job")
filters = st.columns([3, 3, 3, 2, 2])
with filters[0]:
    document_methods = ui.method_filter("jt_doc_methods", job_counts["delivery_method"].tolist())
with filters[1]:
    document_types = ui.choice_filter(
        "Document type",
        data.job_document_types(job_id, clients),
        "jt_doc_types",
        format_func=lambda value: DOCUMENT_TYPE_LABELS.get(value, value),
        placeholder="All document types",
    )
with filters[2]:
    states = ui.choice_filter("State", data.DOCUMENT_STATES, "jt_doc_states", placeholder="All states")
with filters[3]:
    page_size = st.selectbox("Rows per page", PAGE_SIZES, key="jt_doc_page_size")
total = data.job_document_count(job_id, clients, document_methods, document_types, states)
pages = max(1, -(-total // page_size))
with filters[4]:
    page = st.number_input("Page", min_value=1, max_value=pages, value=1, step=1, key="jt_doc_page")
page = min(int(page), pages)
documents = data.job_document_page(job_id, clients, document_methods, document_types, states, page, page_size)
if documents.empty:
    ui.empty_state("No document of this job matches these filters.")
else:
    first = (page - 1) * page_size + 1
    st.caption(
        f"Documents {first:,}–{first + len(documents) - 1:,} of {total:,} (page {page} of {pages}), by document "
        "number. The download holds this page."
    )
    ui.table(
        document_table(documents, clients, with_job=False),
        f"job-{job_id}-documents-page-{page}.csv",
        key="jt_documents",
    )

# --------------------------------------------------------------------------------------------
# The Job Activity Report: final once the job is complete, interim before
# --------------------------------------------------------------------------------------------

st.subheader("Job Activity Report")
report = data.job_activity(job_id, clients)
html_text, pdf_bytes = data.job_activity_files(job_id, clients)
activity = report["activity"]
if not report["is_complete"]:
    st.warning(
        "**Interim report.** This job is still in progress: the report below shows what is done so far. "
        "The final Job Activity Report is e-mailed automatically to the client's primary support and "
        "billing contacts once the job has completed.",
        icon=":material/pending:",
    )
if activity is not None:
    cells = st.columns(4)
    cells[0].metric("Failed deliveries", f"{int(activity['failed_delivery_count']):,}")
    cells[1].metric("Bounced deliveries", f"{int(activity['bounced_delivery_count']):,}")
    cells[2].metric("Batches", f"{int(activity['print_batch_count'] + activity['electronic_batch_count']):,}")
    if report["is_complete"]:
        cells[3].metric(
            "Fees billed", " + ".join(ui.money(fee["amount"], fee["currency"]) for fee in report["fees"]) or "None"
        )
    else:
        cells[3].metric(
            "Mailed or sent so far",
            f"{int(activity['mailed_or_sent_document_count']):,} of {int(job['document_count']):,}",
        )
prefix = "job-activity" if report["is_complete"] else "interim-job-activity"
buttons = st.container(horizontal=True)
buttons.download_button(
    "Download PDF",
    pdf_bytes,
    file_name=f"{prefix}-{job_id}.pdf",
    mime="application/pdf",
    key="jt_report_pdf",
    icon=":material/picture_as_pdf:",
    on_click="ignore",
)
buttons.download_button(
    "Download HTML",
    html_text.encode("utf-8"),
    file_name=f"{prefix}-{job_id}.html",
    mime="text/html",
    key="jt_report_html",
    icon=":material/code:",
    on_click="ignore",
)
with st.expander("View Job Activity Report" if report["is_complete"] else "View interim Job Activity Report"):
    st.html(render_html_body(report))
