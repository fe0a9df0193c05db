"""Billing statistics (R4): bills of completed jobs by delivery method and local completion date."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import data, ui

ui.page_header(
    "Billing statistics",
    "Total number of bills broken down by delivery method for jobs completed within a specified date range. "
    "A job's complete date is when (a) all electronic versions are sent or (b) the job is sent to be printed, "
    "whichever is last.",
)

clients, start, end, (right,) = ui.report_filters(
    "billing_statistics", "bs", help="The job's complete date, in the client's time zone; inclusive."
)
with right:
    methods = ui.method_filter("bs_methods")

statistics = data.billing_statistics(clients, start, end, methods)
if statistics.empty:
    ui.empty_state(
        "No bills for jobs completed in this date range.",
        f"No job completed {ui.describe_range(start, end)} for these filters.",
    )
    st.stop()

statistics = statistics.assign(method=statistics["delivery_method"].map(ui.method_label))
by_method = (
    statistics.groupby("method", as_index=False)
    .agg(bills=("bill_count", "sum"), jobs=("job_count", "sum"))
    .sort_values(["bills", "method"], ascending=[False, True])
)
total_bills = int(by_method["bills"].sum())

metrics = st.columns(3)
metrics[0].metric("Bills", f"{total_bills:,}")
metrics[1].metric("Delivery methods", f"{len(by_method):,}")
metrics[2].metric("Days with completed jobs", f"{statistics['job_complete_date'].nunique():,}")

daily = statistics.groupby(["job_complete_date", "method"], as_index=False)["bill_count"].sum()
figure = px.bar(
    daily,
    x="job_complete_date",
    y="bill_count",
    color="method",
    category_orders={"method": by_method["method"].tolist()},
    labels={"job_complete_date": "Job complete date", "bill_count": "Bills", "method": "Delivery method"},
    title=f"Bills by delivery method, {ui.describe_range(start, end)}",
)
figure.update_layout(barmode="stack", bargap=0.15, legend_title_text="Delivery method", margin={"t": 50})
ui.date_axis(figure, start, end)
ui.count_axis(figure, daily.groupby("job_complete_date")["bill_count"].sum().max())
st.plotly_chart(figure, key="bs_chart")

st.subheader("Bills by delivery method")
summary = pd.DataFrame(
    {
        "Delivery method": by_method["method"],
        "Bills": by_method["bills"].astype(int),
        "Share": by_method["bills"] / total_bills if total_bills else 0.0,
    }
)
ui.table(
    summary,
    "billing_statistics_by_method.csv",
    key="bs_summary",
    column_config={"Share": st.column_config.NumberColumn(format="percent")},
)

st.subheader("By day")
detail = pd.DataFrame(
    {
        "Job complete date": statistics["job_complete_date"],
        "Client": statistics["client_name"],
        "Delivery method": statistics["method"],
        "Jobs": statistics["job_count"].astype(int),
        "Bills": statistics["bill_count"].astype(int),
    }
)
ui.table(
    detail,
    "billing_statistics.csv",
    key="bs_detail",
    column_config={"Job complete date": st.column_config.DateColumn(format="YYYY-MM-DD")},
)
