"""Processing-rule change audit (R13): change requests and whether each was authorized."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import data, ui

AUTHORIZATION_CHOICES = {"all": "All requests", "not_authorized": "Not authorized", "authorized": "Authorized"}

ui.page_header(
    "Processing-rule change audit",
    "Requests to change processing rules (timed start, approvals, delayed e-bills) and whether each was "
    "authorized. Please note that only a primary support contact may request changes to processing rules.",
)

clients, start, end, (right,) = ui.report_filters(
    "rule_change_audit",
    "rc",
    label="Requested",
    help="The request date, in the client's time zone; inclusive.",
    widths=(3, 3, 4),
)
with right:
    choice = st.segmented_control(
        "Authorization",
        list(AUTHORIZATION_CHOICES),
        format_func=AUTHORIZATION_CHOICES.get,
        default="all",
        key="rc_authorization",
    )
is_authorized = {"authorized": True, "not_authorized": False}.get(choice or "all")

changes = data.rule_change_audit(clients, start, end, is_authorized)
if changes.empty:
    ui.empty_state(
        "No processing-rule changes in this date range.",
        f"No change was requested {ui.describe_range(start, end)} for these filters.",
    )
    st.stop()

unauthorized = changes[~changes["is_authorized"]]
metrics = st.columns(3)
metrics[0].metric("Change requests", f"{len(changes):,}")
metrics[1].metric("Not authorized", f"{len(unauthorized):,}")
metrics[2].metric("Applied though not authorized", f"{int(unauthorized['is_applied'].sum()):,}")
if unauthorized["is_applied"].any():
    st.warning(
        "Some changes were applied although the requester was not a primary support contact of the client.",
        icon=":material/gpp_maybe:",
    )

st.caption("Times are in each client's time zone; the CSV download has them in UTC as well.")
ui.table_with_times(
    pd.DataFrame(
        {
            "Authorized": changes["is_authorized"],
            "Why": changes["authorization_reason"],
            "Client": changes["client_name"],
            "Change": changes["change_id"],
            "Rule": changes["rule_id"],
            "Summary": changes["summary"],
            "Requested by": changes["requested_by_name"].fillna(changes["requested_by_contact_id"]),
            "Role": changes["requested_by_role"],
            "Requested": changes["requested_at"],
            "Applied": changes["applied_at"],
            ui.TIMEZONE_COLUMN: changes["timezone"],
        }
    ),
    ["Requested", "Applied"],
    "rule_change_audit.csv",
    key="rc_table",
    column_config={"Authorized": st.column_config.CheckboxColumn()},
)
