"""The billing reports: customer routing (R5), billing statistics (R4), branch activity (R8),
branch billing (R9) and billing activity details (R10)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import pandas as pd

from dashboards.data._warehouse import _as_utc, _distinct, _frame, _Where, _with_client_names

# --------------------------------------------------------------------------------------------
# Customer routing (R5)
# --------------------------------------------------------------------------------------------


def customer_routing(
    client_ids: Iterable[str] | None = None, delivery_channels: Iterable[str] | None = None
) -> pd.DataFrame:
    """Customers per client and delivery channel at the build's ``as_of``."""
    where = _Where().for_clients(client_ids).one_of("delivery_channel", delivery_channels)
    return _with_client_names(
        "marts.rpt_customer_routing",
        ["delivery_channel", "customer_count", "as_of"],
        where,
        "client_id, delivery_channel",
    )


def routing_channels(client_ids: Iterable[str] | None = None) -> list[str]:
    """Delivery channels that have routed customers (the choices of the channel filter)."""
    return _distinct("marts.rpt_customer_routing", "delivery_channel", _Where().for_clients(client_ids))


def routing_as_of(client_ids: Iterable[str] | None = None) -> datetime | None:
    """The ``as_of`` time the customer-routing report was computed for (UTC), or None."""
    where = _Where().for_clients(client_ids)
    frame = _frame(f"select max(as_of) as as_of from marts.rpt_customer_routing {where.sql}", where.params)
    return _as_utc(frame.iloc[0]["as_of"])


# --------------------------------------------------------------------------------------------
# Billing statistics (R4), branch activity (R8), branch billing (R9), billing activity (R10)
# --------------------------------------------------------------------------------------------


def billing_statistics(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    delivery_methods: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Bills and jobs per client, local completion date and delivery method (range inclusive)."""
    where = (
        _Where()
        .for_clients(client_ids)
        .between("job_complete_date", start, end)
        .one_of("delivery_method", delivery_methods)
    )
    return _with_client_names(
        "marts.rpt_billing_statistics",
        ["job_complete_date", "delivery_method", "job_count", "bill_count"],
        where,
        "job_complete_date, client_id, delivery_method",
    )


def branch_activity(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    branch_codes: Iterable[str] | None = None,
    delivery_methods: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Documents of completed jobs per branch, local completion date and delivery method."""
    where = (
        _Where()
        .for_clients(client_ids)
        .between("activity_date", start, end)
        .for_branches(branch_codes)
        .one_of("delivery_method", delivery_methods)
    )
    return _with_client_names(
        "marts.rpt_branch_activity",
        [
            "branch_code",
            "branch_name",
            "activity_date",
            "delivery_method",
            "document_count",
            "invoice_count",
            "statement_count",
            "amount_due",
            "currency",
        ],
        where,
        "activity_date, client_id, branch_code, delivery_method",
    )


def branch_billing(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    branch_codes: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Fees per branch, fee date, fee type, currency and print facility, in their own currency.

    The model's ``fee_amount_usd`` used the rate of the build; the page converts with the rate
    the user types instead, so it is not read here.
    """
    where = _Where().for_clients(client_ids).between("fee_date", start, end).for_branches(branch_codes)
    return _with_client_names(
        "marts.rpt_branch_billing",
        [
            "branch_code",
            "branch_name",
            "fee_date",
            "fee_type",
            "currency",
            "print_facility",
            "fee_count",
            "fee_amount",
        ],
        where,
        "fee_date, client_id, branch_code, fee_type, currency",
    )


def billing_activity_details(
    client_ids: Iterable[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    batch_types: Iterable[str] | None = None,
) -> pd.DataFrame:
    """One row per batch, by local date mailed (R10)."""
    where = _Where().for_clients(client_ids).between("date_mailed", start, end).one_of("batch_type", batch_types)
    return _with_client_names(
        "marts.rpt_billing_activity_details",
        [
            "job_id",
            "batch_id",
            "batch_type",
            "print_facility",
            "date_mailed",
            "mailed_at",
            "mail_class",
            "document_count",
            "invoice_count",
            "statement_count",
            "cast(page_count as bigint) as page_count",
            "sheet_count",
            "piece_count",
            "postage_amount",
            "postage_currency",
        ],
        where,
        "date_mailed, client_id, job_id, batch_id",
        timezone=True,
    )
