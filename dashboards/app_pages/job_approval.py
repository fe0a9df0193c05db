"""Job approval (R7): jobs awaiting ops or customer approval, their documents and pulled documents."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import data, ui

ui.page_header(
    "Job approval",
    "Shows a list of jobs that require your approval so that they can be processed to completion. If any "
    "documents are selected to be pulled within a specific job, the routing for these documents will be "
    "converted to “Pull Class T”.",
)

left, right = st.columns(2)
with left:
    clients = ui.client_filter("ja_clients")
with right:
    stages = ui.choice_filter(
        "Awaiting",
        list(ui.APPROVAL_STAGE_LABELS),
        "ja_stages",
        format_func=ui.APPROVAL_STAGE_LABELS.get,
        placeholder="Ops and customer approval",
    )

jobs = data.approval_jobs(clients, stages)
if jobs.empty:
    ui.empty_state("No jobs are awaiting approval.", "Jobs appear here while they wait for ops or customer approval.")
    st.stop()

metrics = st.columns(4)
metrics[0].metric("Awaiting ops approval", f"{int((jobs['approval_stage'] == 'ops').sum()):,}")
metrics[1].metric("Awaiting customer approval", f"{int((jobs['approval_stage'] == 'customer').sum()):,}")
metrics[2].metric("Documents", f"{int(jobs['document_count'].sum()):,}")
metrics[3].metric("Pulled documents", f"{int(jobs['pulled_document_count'].sum()):,}")

st.subheader("Jobs awaiting approval")
shown = pd.DataFrame(
    {
        "Job ID": jobs["job_id"],
        "Job name": jobs["job_name"],
        "Client": jobs["client_name"],
        "Awaiting": jobs["approval_stage"].map(ui.APPROVAL_STAGE_LABELS),
        "Awaiting since": jobs["awaiting_since"],
        "Documents": jobs["document_count"].astype(int),
        "Amount due": jobs["amount_due"].astype(float),
        "Currency": jobs["currency"].fillna("mixed"),
        "Pulled documents": jobs["pulled_document_count"].astype(int),
        ui.TIMEZONE_COLUMN: jobs["timezone"],
    }
)
ui.table_with_times(
    shown,
    ["Awaiting since"],
    "job_approval.csv",
    key="ja_table",
    column_config={"Amount due": st.column_config.NumberColumn(format="%.2f")},
)

job_ids = jobs["job_id"].tolist()
st.subheader("Pulled documents")
st.caption("Documents pulled at approval are delivered as Pull, class T, whatever they were routed to.")
pulled = data.job_documents(job_ids, clients, pulled_only=True)
if pulled.empty:
    ui.empty_state("No documents have been pulled from these jobs.")
else:
    ui.table_with_times(
        pd.DataFrame(
            {
                "Job ID": pulled["job_id"],
                "Document": pulled["document_number"].fillna(pulled["document_id"]),
                "Type": pulled["document_type"],
                "Customer": pulled["customer_account_id"],
                "Routed to": pulled["delivery_channel"].map(ui.method_label),
                "Pulled at": pulled["pulled_at"],
                "Amount due": pulled["amount_due"].astype(float),
                "Currency": pulled["currency"],
                ui.TIMEZONE_COLUMN: pulled["timezone"],
            }
        ),
        ["Pulled at"],
        "job_approval_pulled_documents.csv",
        key="ja_pulled",
        column_config={"Amount due": st.column_config.NumberColumn(format="%.2f")},
    )

st.subheader("Documents of a job")
names = dict(zip(jobs["job_id"], jobs["job_name"], strict=True))
job_id = st.selectbox(
    "Job", job_ids, key="ja_job", format_func=lambda value: f"{value} · {names.get(value) or ''}".rstrip(" ·")
)
documents = data.job_documents([job_id], clients)
if documents.empty:
    ui.empty_state("This job has no documents.")
else:
    ui.table(
        pd.DataFrame(
            {
                "Document": documents["document_number"].fillna(documents["document_id"]),
                "Type": documents["document_type"],
                "Customer": documents["customer_account_id"],
                "Branch": documents["branch_code"],
                "Delivery method": documents["delivery_method"].map(ui.method_label),
                "Pull class": documents["pull_class"],
                "Pulled": documents["is_pulled"],
                "Amount due": documents["amount_due"].astype(float),
                "Currency": documents["currency"],
                "Pages": documents["page_count"],
            }
        ),
        f"job_approval_documents_{job_id}.csv",
        key="ja_documents",
        column_config={"Amount due": st.column_config.NumberColumn(format="%.2f")},
    )
