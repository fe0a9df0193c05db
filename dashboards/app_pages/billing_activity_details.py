"""Billing activity details (R10): one row per batch, by the local date mailed."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import data, ui

ui.page_header(
    "Billing activity details",
    "Batch-level detail on the invoices and statements processed for a specified time period. Note that the "
    "time period is based on date mailed.",
)

clients, start, end, (right,) = ui.report_filters(
    "billing_activity_details",
    "ba",
    label="Date mailed",
    help="Print: handed to the post office; electronic: all sent. The client's local date; inclusive.",
)
with right:
    batch_types = ui.choice_filter("Delivery", ui.BATCH_TYPE_LABELS, "ba_types", placeholder="Print and electronic")

batches = data.billing_activity_details(clients, start, end, batch_types)
if batches.empty:
    ui.empty_state(
        "No batches mailed in this date range.",
        f"No batch was mailed or sent {ui.describe_range(start, end)} for these filters.",
    )
    st.stop()

batches = batches.assign(delivery=batches["batch_type"].map(ui.BATCH_TYPE_LABELS))

postage = batches.dropna(subset=["postage_amount"]).groupby("postage_currency")["postage_amount"].sum()
metrics = st.columns(5 + len(postage))
metrics[0].metric("Batches", f"{len(batches):,}")
metrics[1].metric("Documents", f"{int(batches['document_count'].sum()):,}")
metrics[2].metric("Invoices", f"{int(batches['invoice_count'].sum()):,}")
metrics[3].metric("Statements", f"{int(batches['statement_count'].sum()):,}")
metrics[4].metric("Pages", f"{int(batches['page_count'].fillna(0).sum()):,}")
for cell, (currency, amount) in zip(metrics[5:], postage.items(), strict=True):
    cell.metric(f"Postage ({currency})", ui.money(amount))

daily = batches.groupby(["date_mailed", "delivery"], as_index=False)["document_count"].sum()
figure = px.bar(
    daily,
    x="date_mailed",
    y="document_count",
    color="delivery",
    labels={"date_mailed": "Date mailed", "document_count": "Documents", "delivery": "Delivery"},
    title=f"Documents by date mailed, {ui.describe_range(start, end)}",
)
figure.update_layout(barmode="stack", bargap=0.15, margin={"t": 50})
ui.date_axis(figure, start, end)
ui.count_axis(figure, daily.groupby("date_mailed")["document_count"].sum().max())
st.plotly_chart(figure, key="ba_chart")

st.subheader("Batches")
st.caption("Times are in each client's time zone; the CSV download has them in UTC as well.")
ui.table_with_times(
    pd.DataFrame(
        {
            "Date mailed": batches["date_mailed"],
            "Client": batches["client_name"],
            "Job ID": batches["job_id"],
            "Batch": batches["batch_id"],
            "Delivery": batches["delivery"],
            "Mailed at": batches["mailed_at"],
            "Print facility": batches["print_facility"],
            "Mail class": batches["mail_class"],
            "Documents": batches["document_count"].astype(int),
            "Invoices": batches["invoice_count"].astype(int),
            "Statements": batches["statement_count"].astype(int),
            "Pages": batches["page_count"],
            "Pieces": batches["piece_count"],
            "Postage": batches["postage_amount"].astype(float),
            "Postage currency": batches["postage_currency"],
            ui.TIMEZONE_COLUMN: batches["timezone"],
        }
    ),
    ["Mailed at"],
    "billing_activity_details.csv",
    key="ba_table",
    column_config={
        "Date mailed": st.column_config.DateColumn(format="YYYY-MM-DD"),
        "Postage": st.column_config.NumberColumn(format="%.2f"),
    },
)
