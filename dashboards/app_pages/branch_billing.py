"""Branch billing report (R9): fees by branch, with CAD fees converted at the rate the user types."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboards import data, ui

RATE_LABEL = "Enter the exchange rate that appears on your invoice (USD per 1 CAD)"
RATE_COLUMN = "Exchange rate (USD per 1 CAD)"

ui.page_header(
    "Branch billing report",
    "A breakdown of your fees by branch for a specified time period. If you are using our Canadian print "
    "facility, please enter the exchange rate that appears on your invoice.",
)

clients, start, end, (branch_column,) = ui.report_filters("branch_billing", "bb", help="The fee date; inclusive.")
with branch_column:
    branch_codes = ui.branch_filter("bb_branches", clients)
rate_column, rate_note = st.columns([2, 3], vertical_alignment="bottom")
with rate_column:
    rate = st.number_input(
        RATE_LABEL,
        min_value=0.0001,
        max_value=10.0,
        value=None,
        step=0.0001,
        format="%.4f",
        placeholder="e.g. 0.7300",
        key="bb_rate",
        help="How many US dollars one Canadian dollar buys (CAD to USD), as printed on your invoice. "
        "Leave it empty to keep CAD fees in CAD.",
    )
with rate_note:
    if rate is not None:
        st.markdown(f"**1 CAD = {rate:.4f} USD**, so 1 USD = {1 / rate:.4f} CAD.")
    st.caption(
        "Fees from the Canadian print facility are billed in CAD. With a rate, the USD total is "
        "USD fees + CAD fees × rate; without one, CAD fees stay in CAD and are left out of the USD total."
    )
if rate is not None and not ui.plausible_cad_rate(rate):
    low, high = ui.PLAUSIBLE_USD_PER_CAD
    st.warning(
        f"**{rate:.4f} USD per 1 CAD is outside the usual range ({low:.2f} to {high:.2f}).** The rate to enter "
        f"is US dollars per 1 Canadian dollar. If your invoice shows Canadian dollars per 1 US dollar, enter "
        f"1 ÷ {rate:.4f} = {1 / rate:.4f} instead.",
        icon=":material/currency_exchange:",
    )
    if not st.checkbox(f"Yes, use {rate:.4f} USD per 1 CAD", key=f"bb_rate_confirm_{rate:.4f}"):
        st.caption("CAD fees stay in CAD until you confirm the rate.")
        rate = None

fees = data.branch_billing(clients, start, end, branch_codes)
if fees.empty:
    ui.empty_state("No fees in this date range.", f"No fees dated {ui.describe_range(start, end)} for these filters.")
    st.stop()

fees = fees.assign(
    fee_amount=fees["fee_amount"].astype(float),
    fee_type_label=fees["fee_type"].map(ui.fee_type_label),
    branch=fees["branch_code"] + " · " + fees["branch_name"].fillna(fees["branch_code"]),
)
is_usd = fees["currency"].eq("USD")
is_cad = fees["currency"].eq("CAD")


def _amount_usd(row) -> float | None:
    if row.currency == "USD":
        return float(ui.to_cents(row.fee_amount))
    if row.currency == "CAD" and rate is not None:
        return float(ui.convert_cad(row.fee_amount, rate))
    return None


fees["amount_usd"] = [_amount_usd(row) for row in fees.itertuples(index=False)]

usd_total = ui.to_cents(fees.loc[is_usd, "fee_amount"].sum())
cad_total = ui.to_cents(fees.loc[is_cad, "fee_amount"].sum())
cad_in_usd = ui.convert_cad(cad_total, rate)
excludes_cad = cad_in_usd is None and cad_total > 0
grand_total = usd_total + (cad_in_usd or Decimal("0.00"))
other_currencies = sorted(set(fees["currency"]) - {"USD", "CAD"})

metrics = st.columns(4)
metrics[0].metric("USD fees", ui.money(usd_total, "USD"))
metrics[1].metric("CAD fees", ui.money(cad_total, "CAD"))
metrics[2].metric(
    "CAD fees in USD",
    ui.money(cad_in_usd, "USD") if cad_in_usd is not None else "Enter a rate",
    help="CAD fees × the exchange rate you entered.",
)
metrics[3].metric(
    "Total (USD, excludes CAD fees)" if excludes_cad else "Total (USD)",
    ui.money(grand_total, "USD"),
    help="USD fees + CAD fees × the exchange rate.",
)
if excludes_cad:
    st.warning(
        f"The USD total excludes CAD fees of {ui.money(cad_total, 'CAD')}. "
        "Enter the exchange rate that appears on your invoice to convert them.",
        icon=":material/currency_exchange:",
    )
elif cad_in_usd is not None and cad_total > 0:
    st.caption(
        f"USD total = {ui.money(usd_total, 'USD')} + {ui.money(cad_total, 'CAD')} × {rate:.4f} "
        f"({ui.money(cad_in_usd, 'USD')}) = {ui.money(grand_total, 'USD')}."
    )
if other_currencies:
    st.caption(f"Fees in {', '.join(other_currencies)} are shown in their own currency and left out of the totals.")

if rate is not None:
    chart_data = fees.groupby(["branch", "fee_type_label"], as_index=False)["amount_usd"].sum()
    figure = px.bar(
        chart_data,
        x="branch",
        y="amount_usd",
        color="fee_type_label",
        labels={"branch": "Branch", "amount_usd": "Fees (USD)", "fee_type_label": "Fee type"},
        title=f"Fees by branch in USD (CAD converted at {rate:.4f})",
    )
else:
    chart_data = fees.groupby(["branch", "fee_type_label", "currency"], as_index=False)["fee_amount"].sum()
    figure = px.bar(
        chart_data,
        x="branch",
        y="fee_amount",
        color="fee_type_label",
        facet_col="currency",
        labels={"branch": "Branch", "fee_amount": "Fees", "fee_type_label": "Fee type", "currency": "Currency"},
        title="Fees by branch, in their own currency",
    )
    figure.update_yaxes(matches=None, showticklabels=True)
    figure.update_xaxes(matches=None)  # each currency shows only the branches that have its fees
    figure.for_each_annotation(lambda annotation: annotation.update(text=annotation.text.split("=")[-1]))
figure.update_layout(barmode="stack", margin={"t": 60})
st.plotly_chart(figure, key="bb_chart")

st.subheader("By branch")
branch_rows = []
for (_client_id, client_name, branch_code, branch_name), group in fees.groupby(
    ["client_id", "client_name", "branch_code", "branch_name"], dropna=False, sort=True
):
    branch_usd = ui.to_cents(group.loc[group["currency"].eq("USD"), "fee_amount"].sum())
    branch_cad = ui.to_cents(group.loc[group["currency"].eq("CAD"), "fee_amount"].sum())
    branch_cad_usd = ui.convert_cad(branch_cad, rate)
    branch_rows.append(
        {
            "Client": client_name,
            "Branch": branch_code,
            "Branch name": branch_name,
            "USD fees": float(branch_usd),
            "CAD fees": float(branch_cad),
            "CAD fees in USD": None if branch_cad_usd is None else float(branch_cad_usd),
            "Total USD (excl. CAD)" if excludes_cad else "Total USD": float(
                branch_usd + (branch_cad_usd or Decimal("0.00"))
            ),
            RATE_COLUMN: rate,
        }
    )
money_column = st.column_config.NumberColumn(format="%.2f")
ui.table(
    pd.DataFrame(branch_rows),
    "branch_billing_by_branch.csv",
    key="bb_summary",
    column_config={
        name: money_column for name in ("USD fees", "CAD fees", "CAD fees in USD", "Total USD", "Total USD (excl. CAD)")
    },
)

st.subheader("Fees")
ui.table(
    pd.DataFrame(
        {
            "Fee date": fees["fee_date"],
            "Client": fees["client_name"],
            "Branch": fees["branch_code"],
            "Branch name": fees["branch_name"],
            "Fee type": fees["fee_type_label"],
            "Print facility": fees["print_facility"],
            "Fees": fees["fee_count"].astype(int),
            "Amount": fees["fee_amount"],
            "Currency": fees["currency"],
            "Amount (USD)": fees["amount_usd"],
            RATE_COLUMN: rate,
        }
    ),
    "branch_billing.csv",
    key="bb_detail",
    column_config={
        "Fee date": st.column_config.DateColumn(format="YYYY-MM-DD"),
        "Amount": money_column,
        "Amount (USD)": st.column_config.NumberColumn(
            format="%.2f", help="Empty for CAD fees until you enter the exchange rate."
        ),
    },
)
