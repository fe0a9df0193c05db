"""The managers' dashboard: the billing summary reports of the warehouse, one page per report.

Run it with ``billing-reports serve`` (or ``streamlit run dashboards/app.py``); it reads the
published warehouse named by ``BILLING_WAREHOUSE`` (default ``warehouse/billing.duckdb``).

Nobody sees a page before signing in (``dashboards.auth``; docs/security.md): a client's manager
then sees only their own client, the provider's operations staff every client.
"""

from __future__ import annotations

import streamlit as st

from billing_reports import settings

# The pages live in app_pages/, not pages/: a pages/ folder next to the entrypoint switches on
# Streamlit's legacy multipage mode, whose first run of a fresh server (or of an AppTest) serves a
# page URL straight from the folder, bypassing this file and its navigation.
st.set_page_config(page_title="Billing reports", page_icon=":material/receipt_long:", layout="wide")


def stop_on_bad_setting(error: settings.SettingsError) -> None:
    """A setting the dashboard cannot use: say which and how to fix it, instead of a traceback."""
    st.error(f"The dashboard cannot start: {error}", icon=":material/settings:")
    st.caption("Fix the setting in the dashboard's environment (docs/dashboard.md) and restart it.")
    st.stop()


try:
    from dashboards import auth, data  # data reads BILLING_DASHBOARD_CACHE_SECONDS on import

    settings.check(settings.DASHBOARD_OWN_SETTINGS)  # a bad value stops here, not halfway through a page
except settings.SettingsError as error:
    stop_on_bad_setting(error)

PAGES = {
    "Jobs": [
        st.Page("app_pages/job_tracking.py", title="Job tracking", icon=":material/timeline:", default=True),
        st.Page("app_pages/job_approval.py", title="Job approval", icon=":material/approval:"),
        st.Page("app_pages/file_pickup.py", title="File pickup", icon=":material/upload_file:"),
    ],
    "Billing": [
        st.Page("app_pages/billing_statistics.py", title="Billing statistics", icon=":material/bar_chart:"),
        st.Page(
            "app_pages/billing_activity_details.py", title="Billing activity details", icon=":material/local_shipping:"
        ),
        st.Page("app_pages/branch_report.py", title="Branch report", icon=":material/store:"),
        st.Page("app_pages/branch_billing.py", title="Branch billing", icon=":material/payments:"),
    ],
    "Customers and rules": [
        st.Page("app_pages/customer_routing.py", title="Customer routing", icon=":material/alt_route:"),
        st.Page("app_pages/rule_change_audit.py", title="Processing-rule changes", icon=":material/rule:"),
    ],
}

#: Pages for the provider's operations staff only: a client user's navigation never lists them.
OPS_PAGES = {
    "Operations": [
        st.Page("app_pages/data_quality.py", title="Data quality", icon=":material/fact_check:"),
    ],
}

# Sign-in comes before any page runs. The navigation is still declared (hidden) while signed out,
# so that the page a visitor's URL names is the one shown once they have signed in.
scope = auth.sign_in()
# While signed out every page is declared (hidden, nothing runs), so that an ops user's link to an
# ops page is not a "page not found"; once signed in, a client user's navigation has no ops page.
page = st.navigation(
    {**PAGES, **OPS_PAGES} if scope.is_ops or not scope.is_signed_in else PAGES,
    position="sidebar" if scope.is_signed_in else "hidden",
)
if not scope.is_signed_in:
    st.stop()
client_name = client_zone = None
if scope.role == "client" and not scope.demo:
    try:  # the user's own client only: data.clients() is scoped to it
        own = data.clients().head(1)
    except (data.WarehouseMissing, data.WarehouseUnavailable):
        own = None
    if own is not None and not own.empty:
        client_name, client_zone = own.iloc[0]["client_name"], own.iloc[0]["timezone"]
auth.sidebar(scope, client_name=client_name, timezone=client_zone)
try:
    page.run()
except data.WarehouseMissing as error:
    st.error(f"{error}", icon=":material/database:")
    st.caption("The dashboard reads the published warehouse; `billing-reports build` or `refresh` creates it.")
except data.WarehouseUnavailable as error:
    st.error(f"{error}. A build may be writing it in place; try again in a minute.", icon=":material/hourglass_top:")
except settings.SettingsError as error:
    stop_on_bad_setting(error)
