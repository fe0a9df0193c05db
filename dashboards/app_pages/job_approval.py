"""Job approval (R7, issue 15): the user's own queue, the jobs waiting for the other party, and
approving or rejecting a job with documents pulled, after a confirmation step.

Deciding goes through ``billing_reports.approvals.decide``, which checks the user's rights itself
(a forged click is refused there) and writes the decision once; this page only offers it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from billing_reports import approvals
from dashboards import data, ui

CONFIRM_KEY = "ja_confirm"  # the decision waiting for its confirmation
RESULT_KEY = "ja_result"  # what the last decision said, shown once

ui.page_header(
    "Job approval",
    "Shows a list of jobs that require your approval so that they can be processed to completion. If any "
    "documents are selected to be pulled within a specific job, the routing for these documents will be "
    "converted to “Pull Class T”.",
)

scope = data.current_scope()
queue = approvals.queue_stages(scope.role, scope.demo)
clients = ui.client_filter("ja_clients")

jobs = data.approval_jobs(clients)
if jobs.empty:
    ui.empty_state("No jobs are awaiting approval.", "Jobs appear here while they wait for ops or customer approval.")
    st.stop()

approvals.recover()  # a decision a crash left half written is finished before it is shown
decided = approvals.submitted(jobs["approval_id"].dropna())
decider = approvals.Decider.from_scope(scope, session="-")


def state_of(job) -> str:
    """Pending, submitted (waiting for the billing system) or decided (the billing system's row landed)."""
    if pd.notna(job.approval_decided_at):
        return (
            f"{str(job.approval_decision).capitalize()} by {job.approval_decided_by} at "
            f"{ui.local_time(job.approval_decided_at, job.timezone)}"
        )
    record = decided.get(job.approval_id) if pd.notna(job.approval_id) else None
    if record is not None:
        return (
            f"{record['decision'].capitalize()} by {record['decided_by']}: submitted at "
            f"{ui.local_time(record['decided_at'], job.timezone)}, waiting for the billing system"
        )
    if pd.isna(job.approval_id):
        return "No approval request has reached the portal yet"
    return "Pending"


def decidable(job) -> bool:
    return (
        pd.notna(job.approval_id)
        and pd.isna(job.approval_decided_at)
        and job.approval_id not in decided
        and approvals.may_decide(decider, job.approval_stage, job.client_id) is None
    )


JOB_COLUMNS = {
    "Amount due": st.column_config.NumberColumn(format="%.2f"),
    "Approval": st.column_config.TextColumn(width="large"),
}


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    local = ui.with_local_times(frame, ["awaiting_since"])
    return pd.DataFrame(
        {
            "Job ID": frame["job_id"],
            "Job name": frame["job_name"],
            "Client": frame["client_name"].fillna(frame["client_id"]),
            "Awaiting": frame["approval_stage"].map(ui.APPROVAL_STAGE_LABELS),
            "Awaiting since": local["awaiting_since"],
            "Approval": [state_of(job) for job in frame.itertuples(index=False)],
            "Documents": frame["document_count"].astype(int),
            "Amount due": frame["amount_due"].astype(float),
            "Currency": frame["currency"].fillna("mixed"),
            "Pulled documents": frame["pulled_document_count"].astype(int),
            "Awaiting since (UTC)": local["awaiting_since_utc"],
        }
    )


mine = jobs[jobs["approval_stage"].isin(queue)]
others = jobs[~jobs["approval_stage"].isin(queue)]
if scope.demo:
    other_party, other_short = "the other party", "the other party"
elif scope.is_ops:
    other_party, other_short = "the client", "the client"
else:
    other_party, other_short = "the provider's operations team", "operations"

metrics = st.columns(4)
metrics[0].metric("Awaiting your approval", f"{len(mine):,}")
metrics[1].metric(f"Waiting for {other_short}", f"{len(others):,}")
metrics[2].metric("Documents", f"{int(jobs['document_count'].sum()):,}")
metrics[3].metric("Pulled documents", f"{int(jobs['pulled_document_count'].sum()):,}")

st.subheader("Awaiting your approval")
if scope.demo:
    st.caption("Sign-in is off (a local demo): you act for the clients and for operations, so both stages are yours.")
elif scope.is_ops:
    st.caption("Jobs awaiting ops approval: the operations team's queue.")
else:
    st.caption("Jobs awaiting customer approval: your company's queue.")
if mine.empty:
    ui.empty_state("No jobs are awaiting your approval.")
else:
    ui.table(
        shown(mine),
        "job_approval_awaiting_you.csv",
        key="ja_table",
        column_config=JOB_COLUMNS,
    )
    for job in mine.itertuples(index=False):
        if state_of(job) != "Pending":
            st.caption(f"Job {job.job_id}: {state_of(job)}.")

if not others.empty:
    st.subheader(f"Waiting for {other_party}")
    st.caption(f"Shown for information only: {other_party} decides these.")
    ui.table(
        shown(others),
        "job_approval_waiting_for_others.csv",
        key="ja_others",
        column_config=JOB_COLUMNS,
    )

# --------------------------------------------------------------------------------------------
# Deciding: choose a job, the documents to pull, approve or reject, confirm
# --------------------------------------------------------------------------------------------


def ask_to_confirm(decision: str, approval_id: str) -> None:
    st.session_state[CONFIRM_KEY] = {
        "approval_id": approval_id,
        "decision": decision,
        "pulls": list(st.session_state.get(f"ja_pulls_{approval_id}") or []) if decision == "approved" else [],
        "reason": str(st.session_state.get("ja_reason") or ""),
    }
    st.session_state.pop(RESULT_KEY, None)


def confirm() -> None:
    """The confirmation button: decide, with the rights of the user signed in now."""
    asked = st.session_state.pop(CONFIRM_KEY, None)
    if not asked:
        return
    context = get_script_run_ctx()
    who = approvals.Decider.from_scope(data.current_scope(), session=context.session_id if context else "-")
    try:
        result = approvals.decide(
            asked["approval_id"], asked["decision"], who, pulls=asked["pulls"], reason=asked["reason"]
        )
    except approvals.Refused as error:
        st.session_state[RESULT_KEY] = ("error", f"Not submitted: {error}.")
    except approvals.AlreadyDecided as error:
        record = error.record
        when = ui.local_time(record["decided_at"], record.get("timezone"))
        st.session_state[RESULT_KEY] = (
            "warning",
            f"Not submitted: already decided by {record['decided_by']} at {when} ({record['decision']}).",
        )
    else:
        record = result.record
        st.session_state[RESULT_KEY] = (
            "success",
            f"{record['decision'].capitalize()} job {record['job_id']}: submitted at {ui.local_time(record['decided_at'], record.get('timezone'))}, "
            "waiting for the billing system.",
        )
        st.session_state.pop(f"ja_pulls_{asked['approval_id']}", None)
        st.session_state.pop("ja_reason", None)


def cancel() -> None:
    st.session_state.pop(CONFIRM_KEY, None)


result = st.session_state.pop(RESULT_KEY, None)
if result:
    getattr(st, result[0])(result[1])

open_jobs = [job for job in mine.itertuples(index=False) if decidable(job)]
st.subheader("Approve or reject")
if not open_jobs:
    not_yours = [
        job
        for job in mine.itertuples(index=False)
        if pd.isna(job.approval_decided_at) and approvals.may_decide(decider, job.approval_stage, job.client_id)
    ]
    if not not_yours:
        ui.empty_state("Nothing awaits your decision.")
    else:
        ui.empty_state(
            "You can see these jobs, but approving them is for your company's approvers.",
            "An administrator makes a user an approver with `billing-reports users add NAME --role client "
            "--client-id ID --approver`.",
        )
else:
    by_approval = {job.approval_id: job for job in open_jobs}
    approval_id = st.selectbox(
        "Job to decide",
        list(by_approval),
        key="ja_decide_job",
        format_func=lambda value: f"{by_approval[value].job_id} · {by_approval[value].job_name or ''}".rstrip(" ·"),
    )
    job = by_approval[approval_id]
    documents = data.job_documents([job.job_id], [job.client_id])
    can_pull = documents[~documents["is_pulled"].astype(bool)]
    labels = {
        row.document_id: f"{row.document_number or row.document_id} · {row.customer_account_id} · {ui.money(row.amount_due, row.currency)}"
        for row in can_pull.itertuples(index=False)
    }
    st.multiselect(
        "Documents to pull (their routing becomes Pull Class T)",
        list(labels),
        key=f"ja_pulls_{approval_id}",
        format_func=lambda value: labels.get(value, value),
        placeholder="None: every document is sent",
    )
    st.text_input(
        "Reason (optional for an approval, required for a rejection)", key="ja_reason", max_chars=approvals.MAX_REASON
    )
    buttons = st.columns(2)
    buttons[0].button(
        "Approve…", key="ja_approve", on_click=ask_to_confirm, args=("approved", approval_id), type="primary"
    )
    buttons[1].button("Reject…", key="ja_reject", on_click=ask_to_confirm, args=("rejected", approval_id))

    asked = st.session_state.get(CONFIRM_KEY)
    if asked and asked["approval_id"] == approval_id:
        effect = approvals.summarize(documents.to_dict("records"), asked["decision"], asked["pulls"])
        with st.container(border=True):
            verb = "Approve" if asked["decision"] == "approved" else "Reject"
            st.markdown(f"**{verb} job {job.job_id} ({job.job_name})?** Please check what will happen:")
            if asked["decision"] == "approved":
                st.markdown(
                    f"- Documents to send: **{effect['send_count']}** ({approvals.describe_amounts(effect['send_amounts'])})\n"
                    f"- Documents to pull (Pull Class T): **{effect['pull_count']}** ({approvals.describe_amounts(effect['pull_amounts'])})"
                    + "".join(
                        f"\n    - {pull['document_number'] or pull['document_id']}: {pull['amount_due']} {pull['currency']}"
                        for pull in effect["pulls"]
                    )
                )
            else:
                st.markdown("- The job is rejected: no document is sent and none is pulled.")
            if asked["reason"]:
                st.markdown(f"- Reason: {asked['reason']}")
            missing_reason = asked["decision"] == "rejected" and not asked["reason"].strip()
            if missing_reason:
                st.error("A rejection needs a reason: type it above and press Reject… again.")
            actions = st.columns(2)
            actions[0].button(
                "Confirm approval" if asked["decision"] == "approved" else "Confirm rejection",
                key="ja_confirm_button",
                on_click=confirm,
                type="primary",
                disabled=missing_reason,
            )
            actions[1].button("Cancel", key="ja_cancel", on_click=cancel)

# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------

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
