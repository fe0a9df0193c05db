"""Branch report (R8): documents of completed jobs by branch, date and delivery method."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import data, ui

ui.page_header(
    "Branch report",
    "If you invoice by branch, this report breaks down activity by branch so that you can allocate charges "
    "appropriately. Please contact customer service if your branch names/numbers do not appear.",
)

clients, start, end, (branch_column, method_column) = ui.report_filters(
    "branch_activity",
    "br",
    help="The job's complete date, in the client's time zone; inclusive.",
    widths=(3, 3, 3, 3),
)
with branch_column:
    branch_codes = ui.branch_filter("br_branches", clients)
with method_column:
    methods = ui.method_filter("br_methods")

# The report applies only to clients who invoice by branch (dim_clients.invoices_by_branch).
in_view = data.clients(clients)
by_branch = in_view[in_view["invoices_by_branch"].astype(bool)]
not_by_branch = in_view[~in_view["invoices_by_branch"].astype(bool)]
if not in_view.empty and by_branch.empty:
    names = ", ".join(not_by_branch["client_name"])
    st.info(
        f"**The Branch report does not apply to {names}.** It breaks activity down by branch for clients who "
        f"invoice by branch, and {names} {'is' if len(not_by_branch) == 1 else 'are'} not set up to invoice by "
        "branch. Billing statistics and Billing activity details show all of your activity. If you should be "
        f"invoiced by branch, please contact customer service: {ui.support_contact()}.",
        icon=":material/store:",
    )
    st.stop()
if not not_by_branch.empty:
    st.caption(
        f"Not shown: {', '.join(not_by_branch['client_name'])} (not invoiced by branch, so the report does not apply)."
    )
    clients = by_branch["client_id"].tolist()

activity = data.branch_activity(clients, start, end, branch_codes, methods)
if activity.empty:
    ui.empty_state(
        "No branch activity in this date range.",
        f"No documents of jobs completed {ui.describe_range(start, end)} for these filters.",
    )
    st.stop()

activity = activity.assign(
    method=activity["delivery_method"].map(ui.method_label),
    branch=activity["branch_code"] + " · " + activity["branch_name"].fillna(activity["branch_code"]),
)

metrics = st.columns(4)
metrics[0].metric("Branches", f"{activity[['client_id', 'branch_code']].drop_duplicates().shape[0]:,}")
metrics[1].metric("Documents", f"{int(activity['document_count'].sum()):,}")
metrics[2].metric("Invoices", f"{int(activity['invoice_count'].sum()):,}")
metrics[3].metric("Statements", f"{int(activity['statement_count'].sum()):,}")

# A branch without a number (UNASSIGNED) or without a name: the help page says to contact customer service.
for row in ui.unnamed_branches(activity).itertuples(index=False):
    problem = "no branch number" if row.branch_code == ui.UNASSIGNED_BRANCH else "no branch name"
    subject = f"Branch report: {problem} for branch {row.branch_code} ({row.client_name})"
    body = (
        f"Client: {row.client_name} ({row.client_id})\n"
        f"Branch: {row.branch_code} ({problem})\n"
        f"Documents: {row.document_count} ({ui.describe_range(start, end)})\n\n"
        "Please add the branch's name and number so that its activity can be allocated."
    )
    st.warning(
        f"**{row.client_name}: {row.document_count:,} document{'s' if row.document_count != 1 else ''} with "
        f"{problem}** (branch {row.branch_code}). Please contact customer service if your branch names/numbers do "
        f"not appear: [submit a ticket]({ui.support_ticket_link(subject, body)}).",
        icon=":material/support_agent:",
    )

per_branch = activity.groupby(["branch", "method"], as_index=False)["document_count"].sum()
order = per_branch.groupby("branch")["document_count"].sum().sort_values(ascending=False).index.tolist()
figure = px.bar(
    per_branch,
    x="branch",
    y="document_count",
    color="method",
    category_orders={"branch": order},
    labels={"branch": "Branch", "document_count": "Documents", "method": "Delivery method"},
    title=f"Documents by branch, {ui.describe_range(start, end)}",
)
figure.update_layout(barmode="stack", margin={"t": 50})
ui.count_axis(figure, per_branch.groupby("branch")["document_count"].sum().max())
st.plotly_chart(figure, key="br_chart")

st.subheader("By branch")
summary = (
    activity.assign(currency=activity["currency"].fillna("mixed"))
    .groupby(["client_id", "client_name", "branch_code", "branch_name", "currency"], as_index=False, dropna=False)
    .agg(
        documents=("document_count", "sum"),
        invoices=("invoice_count", "sum"),
        statements=("statement_count", "sum"),
        amount_due=("amount_due", "sum"),
    )
    .sort_values(["client_id", "branch_code"])
)
ui.table(
    pd.DataFrame(
        {
            "Client": summary["client_name"],
            "Branch": summary["branch_code"],
            "Branch name": summary["branch_name"],
            "Documents": summary["documents"].astype(int),
            "Invoices": summary["invoices"].astype(int),
            "Statements": summary["statements"].astype(int),
            "Amount due": summary["amount_due"].astype(float),
            "Currency": summary["currency"],
        }
    ),
    "branch_report_by_branch.csv",
    key="br_summary",
    column_config={"Amount due": st.column_config.NumberColumn(format="%.2f")},
)

st.subheader("By day and delivery method")
ui.table(
    pd.DataFrame(
        {
            "Date": activity["activity_date"],
            "Client": activity["client_name"],
            "Branch": activity["branch_code"],
            "Branch name": activity["branch_name"],
            "Delivery method": activity["method"],
            "Documents": activity["document_count"].astype(int),
            "Invoices": activity["invoice_count"].astype(int),
            "Statements": activity["statement_count"].astype(int),
            "Amount due": activity["amount_due"].astype(float),
            "Currency": activity["currency"],
        }
    ),
    "branch_report.csv",
    key="br_detail",
    column_config={
        "Date": st.column_config.DateColumn(format="YYYY-MM-DD"),
        "Amount due": st.column_config.NumberColumn(format="%.2f"),
    },
)
