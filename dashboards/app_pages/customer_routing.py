"""Customer routing report (R5): customers set up per delivery channel other than US Mail."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import data, ui

ui.page_header(
    "Customer routing report",
    "The number of customers that are set up for bill delivery for channels other than US Mail, including "
    "email, fax, e-bill, pull, etc. If you submit your routing information with your billing files, those "
    "accounts will NOT be listed here.",
)

left, right = st.columns(2)
with left:
    clients = ui.client_filter("cr_clients")
with right:
    channels = ui.choice_filter(
        "Delivery channel",
        data.routing_channels(),
        "cr_channels",
        format_func=ui.method_label,
        placeholder="All channels",
    )

as_of = data.routing_as_of(clients)
if as_of is not None:
    st.caption(
        f"Routings valid as of **{ui.local_time(as_of, ui.viewer_timezone())}**, the time the warehouse was built for."
    )

routing = data.customer_routing(clients, channels)
if routing.empty:
    ui.empty_state(
        "No customers are set up for delivery channels other than US Mail.",
        "Customers routed with the billing files are not listed here.",
    )
    st.stop()

routing = routing.assign(channel=routing["delivery_channel"].map(ui.method_label))
by_channel = (
    routing.groupby("channel", as_index=False)["customer_count"].sum().sort_values("customer_count", ascending=False)
)

metrics = st.columns(3)
metrics[0].metric(
    "Customer routings",
    f"{int(routing['customer_count'].sum()):,}",
    help="Customers per channel, added up: a customer routed to two channels counts twice.",
)
metrics[1].metric("Channels", f"{routing['delivery_channel'].nunique():,}")
metrics[2].metric("Clients", f"{routing['client_id'].nunique():,}")

figure = px.bar(
    routing,
    x="channel",
    y="customer_count",
    color="client_name",
    category_orders={"channel": by_channel["channel"].tolist()},
    text_auto=True,
    labels={"channel": "Delivery channel", "customer_count": "Customers", "client_name": "Client"},
    title="Customers per delivery channel",
)
figure.update_traces(textposition="inside")
figure.update_layout(barmode="stack", margin={"t": 50}, uniformtext_minsize=10, uniformtext_mode="hide")
st.plotly_chart(figure, key="cr_chart")

st.subheader("Customers per channel")
ui.table(
    pd.DataFrame(
        {
            "Client": routing["client_name"],
            "Delivery channel": routing["channel"],
            "Customers": routing["customer_count"].astype(int),
        }
    ),
    "customer_routing.csv",
    key="cr_table",
)
