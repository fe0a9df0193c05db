"""Every report of the help page on the hand-made landing folder (tests/fixtures/handmade.py).

Expected rows are worked out by hand from the fixture's rows and the contract's rules; the
comments say how.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest


@pytest.fixture
def query(query_on_each_engine):
    """Every test here checks its hand-worked figures on the DuckDB build and on the Spark build."""
    return query_on_each_engine


D = Decimal

STEP_CODES = [
    "PARSING_LOADING",
    "GENERATING_PDF",
    "AWAITING_OPS_APPROVAL",
    "AWAITING_CUSTOMER_APPROVAL",
    "PRINTING",
    "SENDING_ELECTRONIC",
    "ELECTRONIC_SCHEDULED",
    "PRINTING_COMPLETE",
    "DELIVERED_TO_POST_OFFICE",
    "JOB_COMPLETE",
]


def steps(query, job_id):
    return query(
        "select step_order, status_code, step_state, entered_at, status_date "
        "from marts.rpt_job_tracking_steps where job_id = ? order by step_order",
        [job_id],
    )


def states(query, job_id):
    return [row[2] for row in steps(query, job_id)]


def test_every_job_has_ten_steps_in_order(query):
    rows = query("select job_id, list(status_code order by step_order) from marts.rpt_job_tracking_steps group by 1")
    assert len(rows) == 9
    for _, codes in rows:
        assert codes == STEP_CODES


def test_email_only_job_steps(query):
    # J1: no approvals, no print, no delay; JOB_COMPLETE is current and shows done.
    assert states(query, "J1") == [
        "done",
        "done",
        "not_applicable",
        "not_applicable",
        "not_applicable",
        "done",
        "not_applicable",
        "not_applicable",
        "not_applicable",
        "done",
    ]
    assert steps(query, "J1")[9][3] == datetime(2026, 3, 2, 3, 31)


def test_printing_job_with_unreleased_batch_is_current_at_printing(query):
    rows = steps(query, "J4")
    assert [row[2] for row in rows] == [
        "done",
        "done",
        "not_applicable",
        "not_applicable",
        "current",
        "not_applicable",
        "not_applicable",
        "pending",
        "pending",
        "pending",
    ]
    # Step 9 shows the latest post-office due date of the print batches (no event yet).
    assert rows[8][4] == date(2026, 3, 8)
    assert rows[4][3] == datetime(2026, 3, 6, 15, 0)


def test_dated_steps_come_from_events_else_batches(query):
    rows = steps(query, "J6")
    assert [row[2] for row in rows] == [
        "done",
        "done",
        "not_applicable",
        "not_applicable",
        "done",
        "done",
        "done",
        "done",
        "done",
        "done",
    ]
    assert rows[6][4] == date(2026, 3, 9)  # ELECTRONIC_SCHEDULED event's status_date
    assert rows[8][4] == date(2026, 3, 10)  # no status_date on the event: BP6's post_office_due_date


def test_event_tie_goes_to_the_later_step(query):
    # J7: GENERATING_PDF and AWAITING_OPS_APPROVAL share 14:05Z; the later step wins.
    assert query("select current_status_code, current_status_at from marts.rpt_job_tracking where job_id = 'J7'") == [
        ("AWAITING_OPS_APPROVAL", datetime(2026, 3, 10, 14, 5))
    ]
    assert states(query, "J7") == [
        "done",
        "done",
        "current",
        "not_applicable",
        "not_applicable",
        "pending",
        "not_applicable",
        "not_applicable",
        "not_applicable",
        "pending",
    ]


def test_step_skipped_without_event_before_current_is_done(query):
    # J8: ops approval required but no event; the job is awaiting customer approval.
    rows = steps(query, "J8")
    assert [row[2] for row in rows] == [
        "done",
        "done",
        "done",
        "current",
        "pending",
        "pending",
        "not_applicable",
        "pending",
        "pending",
        "pending",
    ]
    assert rows[2][3] is None


def test_job_without_events_or_documents(query):
    assert query(
        "select current_status_code, document_count, is_complete from marts.rpt_job_tracking where job_id = 'J9'"
    ) == [(None, 0, False)]
    assert states(query, "J9") == [
        "pending",
        "pending",
        "not_applicable",
        "not_applicable",
        "not_applicable",
        "not_applicable",
        "not_applicable",
        "not_applicable",
        "not_applicable",
        "pending",
    ]


def test_item_counts_per_delivery_method(query):
    rows = query(
        "select job_id, delivery_method, document_count from marts.rpt_job_delivery_counts "
        "where job_id in ('J2', 'J7') order by 1, 2"
    )
    assert rows == [("J2", "pull", 1), ("J2", "us_mail", 2), ("J7", "email", 1), ("J7", "pull", 1)]


def test_pulled_documents_count_as_pull_class_t(query):
    rows = query(
        "select document_id, delivery_channel, delivery_method, pull_class, is_pulled "
        "from marts.fct_documents where is_pulled order by 1"
    )
    assert rows == [
        ("D203", "email", "pull", "T", True),
        ("D501", "us_mail", "pull", "T", True),
        ("D502", "email", "pull", "T", True),
        ("D702", "email", "pull", "T", True),
    ]


def test_job_approval_lists_jobs_awaiting_approval(query):
    rows = query(
        "select client_id, job_id, approval_stage, awaiting_since, document_count, amount_due, "
        "pulled_document_count from marts.rpt_job_approval order by job_id"
    )
    assert rows == [
        ("C2", "J7", "ops", datetime(2026, 3, 10, 14, 5), 2, D("150.50"), 1),
        ("C1", "J8", "customer", datetime(2026, 3, 11, 13, 20), 2, D("30.00"), 0),
    ]


def test_customer_routing_as_of(query):
    # As of 2026-03-15 12:00Z: R2 (billing_file), R3 (ends at as_of), R4 (us_mail) and R8 (future)
    # are out; R5 starts exactly at as_of and is in; A1 counts under email and einvoice_connect.
    rows = query("select client_id, delivery_channel, customer_count from marts.rpt_customer_routing order by 1, 2")
    assert rows == [
        ("C1", "einvoice_connect", 1),
        ("C1", "email", 1),
        ("C1", "pull", 1),
        ("C2", "email", 1),
    ]


def test_branch_activity(query):
    rows = query(
        "select client_id, branch_code, branch_name, activity_date, delivery_method, document_count, "
        "invoice_count, statement_count, amount_due from marts.rpt_branch_activity order by 1, 4, 2, 5"
    )
    assert rows == [
        ("C1", "B01", "Boston", date(2026, 3, 1), "email", 1, 1, 0, D("120.00")),
        ("C1", "B02", "Hartford", date(2026, 3, 1), "email", 1, 1, 0, D("80.00")),  # document's own branch
        ("C1", "B01", "Boston", date(2026, 3, 3), "us_mail", 1, 0, 1, D("200.00")),
        ("C1", "B02", "Hartford", date(2026, 3, 3), "pull", 1, 1, 0, D("75.00")),
        ("C1", "UNASSIGNED", "Unassigned", date(2026, 3, 3), "us_mail", 1, 1, 0, D("50.00")),
        ("C1", "B01", "Boston", date(2026, 3, 5), "email", 1, 1, 0, D("10.00")),
        ("C1", "UNASSIGNED", "Unassigned", date(2026, 3, 5), "fax", 1, 0, 0, D("-15.00")),
        ("C1", "B01", "Boston", date(2026, 3, 6), "pull", 1, 1, 0, D("30.00")),
        ("C1", "B02", "Hartford", date(2026, 3, 6), "pull", 1, 0, 1, D("40.00")),
        ("C2", "T01", "Toronto", date(2026, 3, 9), "email", 1, 1, 0, D("300.00")),
        ("C2", "UNASSIGNED", "Unassigned", date(2026, 3, 9), "us_mail", 1, 1, 0, D("400.00")),
    ]


def test_branch_billing_with_exchange_rate(query):
    # Built with cad_to_usd_rate 0.75: 40.00 CAD -> 30.00 USD, 0.20 CAD -> 0.15 USD.
    rows = query(
        "select client_id, branch_code, fee_date, fee_type, currency, print_facility, fee_amount, fee_amount_usd "
        "from marts.rpt_branch_billing order by 1, 3, 2, 4"
    )
    assert rows == [
        ("C1", "B02", date(2026, 3, 1), "email", "USD", None, D("0.10"), D("0.10")),  # fee's own branch wins
        ("C1", "B01", date(2026, 3, 3), "postage", "USD", "US", D("0.73"), D("0.73")),  # D202's customer branch
        ("C1", "UNASSIGNED", date(2026, 3, 3), "print", "USD", "US", D("1.50"), D("1.50")),
        ("C1", "UNASSIGNED", date(2026, 3, 31), "storage", "USD", None, D("25.00"), D("25.00")),  # no branch, no doc
        ("C2", "UNASSIGNED", date(2026, 3, 8), "print", "CAD", "CA", D("40.00"), D("30.00")),
        ("C2", "T01", date(2026, 3, 9), "email", "CAD", None, D("0.20"), D("0.15")),
    ]


def test_billing_activity_details_by_local_date_mailed(query):
    rows = query(
        "select client_id, job_id, batch_id, batch_type, print_facility, date_mailed, document_count, "
        "invoice_count, statement_count, page_count, piece_count, postage_amount "
        "from marts.rpt_billing_activity_details order by 1, 6, 3"
    )
    assert rows == [
        # BE1 completed 03:30Z on 2 March = 1 March local.
        ("C1", "J1", "BE1", "electronic", None, date(2026, 3, 1), 2, 2, 0, 3, None, None),
        # BE2 holds only the pulled D203: a dated batch with no counted documents.
        ("C1", "J2", "BE2", "electronic", None, date(2026, 3, 3), 0, 0, 0, 0, None, None),
        # BP2 mailed 04:30Z on 5 March = 4 March local; re-sent in a later file (upsert).
        ("C1", "J2", "BP2", "print", "US", date(2026, 3, 4), 2, 1, 1, 5, 2, D("1.46")),
        ("C1", "J3", "BE3", "electronic", None, date(2026, 3, 5), 2, 1, 0, 2, None, None),
        ("C2", "J6", "BP6", "print", "CA", date(2026, 3, 8), 1, 1, 0, 2, 1, D("1.15")),
        ("C2", "J6", "BE6", "electronic", None, date(2026, 3, 9), 1, 1, 0, 2, None, None),
    ]


def test_job_activity_reports_for_completed_jobs(query):
    rows = query(
        "select job_id, completed_at, document_count, pulled_document_count, failed_delivery_count, "
        "bounced_delivery_count from marts.rpt_job_activity order by job_id"
    )
    assert rows == [
        ("J1", datetime(2026, 3, 2, 3, 31), 2, 0, 0, 0),
        ("J2", datetime(2026, 3, 5, 4, 31), 3, 1, 0, 0),
        ("J3", datetime(2026, 3, 5, 10, 32), 2, 0, 1, 1),
        ("J5", datetime(2026, 3, 7, 2, 0), 2, 2, 0, 0),
        ("J6", datetime(2026, 3, 9, 4, 31), 2, 0, 0, 0),
    ]


def test_job_activity_recipients_are_primary_support_and_billing_valid_at_completion(query):
    rows = query(
        "select job_id, list(contact_id order by contact_id) from marts.rpt_job_activity_recipients "
        "group by 1 order by 1"
    )
    # CT2's primary role ended on 1 February; CT5 is a viewer.
    assert rows == [
        ("J1", ["CT1", "CT3"]),
        ("J2", ["CT1", "CT3"]),
        ("J3", ["CT1", "CT3"]),
        ("J5", ["CT1", "CT3"]),
        ("J6", ["CT4"]),
    ]


def test_file_pickup_with_timed_start_across_daylight_saving(query):
    rows = query("select file_id, expected_pickup_by, pickup_state from marts.rpt_file_pickup order by file_id")
    assert rows == [
        ("U1", datetime(2026, 3, 1, 14, 5), "picked_up"),  # C1's 23:00 rule ended on 1 February
        ("U2", datetime(2026, 3, 15, 12, 5), "waiting"),
        ("U3", datetime(2026, 3, 15, 11, 15), "overdue"),
        # 07:00 EST on 7 March is past 06:00: next 06:00 is on 8 March, after the change = 10:00Z.
        ("U4", datetime(2026, 3, 8, 10, 15), "picked_up"),
        ("U5", datetime(2026, 3, 15, 10, 15), "overdue"),  # 05:30 EDT: 06:00 the same day
        ("U6", datetime(2026, 3, 16, 10, 15), "waiting"),  # 07:50 EDT: 06:00 the next day
    ]


def test_rule_change_authorization(query):
    rows = query("select change_id, is_authorized from marts.rpt_rule_change_audit order by change_id")
    assert rows == [
        ("CH1", True),
        ("CH2", False),  # primary role ended before the request
        ("CH3", False),  # billing contact
        ("CH4", False),  # another client's primary support
        ("CH5", True),
        ("CH6", True),  # requested the moment the contact became valid
    ]


def test_dim_clients_names_zones_and_branch_invoicing(query):
    assert query(
        "select client_id, client_name, timezone, invoices_by_branch, display_name from marts.dim_clients order by 1"
    ) == [
        ("C1", "Acme Utilities", "America/New_York", True, "Acme Utilities"),
        ("C2", "Maple Power", "America/Toronto", True, "Maple Power"),
    ]


def test_dim_contacts_holds_every_contact_role_period(query):
    # The five rows of contacts.csv, one per role period; CT2's primary role ended on 1 February.
    assert query(
        "select contact_id, client_id, full_name, email, role, valid_from, valid_to from marts.dim_contacts order by 1"
    ) == [
        ("CT1", "C1", "Pat Primary", "pat@acme.example", "primary_support", datetime(2026, 1, 1), None),
        ("CT2", "C1", "Old Primary", "old@acme.example", "primary_support", datetime(2025, 1, 1), datetime(2026, 2, 1)),
        ("CT3", "C1", "Bill Payer", "bill@acme.example", "billing", datetime(2026, 1, 1), None),
        ("CT4", "C2", "Maple Prime", "prime@maple.example", "primary_support", datetime(2026, 1, 1), None),
        ("CT5", "C2", "Vic Viewer", "vic@maple.example", "viewer", datetime(2026, 1, 1), None),
    ]


def test_every_public_model_has_the_contract_columns(query):
    contract = {
        "fct_documents": "document_id, client_id, job_id, batch_id, customer_account_id, branch_code, document_type, delivery_method, pull_class, is_pulled, amount_due, currency, page_count",
        "rpt_job_tracking": "client_id, job_id, job_name, current_status_code, current_status_label, current_status_at, document_count, job_completed_at, job_complete_date, is_complete",
        "rpt_job_tracking_steps": "client_id, job_id, step_order, status_code, status_label, step_state, entered_at, status_date",
        "rpt_job_delivery_counts": "client_id, job_id, delivery_method, document_count",
        "rpt_job_approval": "client_id, job_id, approval_stage, awaiting_since, document_count, amount_due, pulled_document_count",
        "rpt_customer_routing": "client_id, delivery_channel, customer_count",
        "rpt_billing_statistics": "client_id, job_complete_date, delivery_method, job_count, bill_count",
        "rpt_branch_activity": "client_id, branch_code, branch_name, activity_date, delivery_method, document_count, invoice_count, statement_count, amount_due",
        "rpt_branch_billing": "client_id, branch_code, branch_name, fee_date, fee_type, currency, print_facility, fee_amount, fee_amount_usd",
        "rpt_billing_activity_details": "client_id, job_id, batch_id, batch_type, print_facility, date_mailed, document_count, invoice_count, statement_count, page_count, piece_count, postage_amount",
        "rpt_job_activity": "client_id, job_id, job_name, completed_at, document_count",
        "rpt_file_pickup": "client_id, file_id, file_name, uploaded_at, expected_pickup_by, picked_up_at, job_id, pickup_state",
        "rpt_rule_change_audit": "client_id, change_id, rule_id, requested_by_contact_id, requested_at, applied_at, is_authorized",
        "dim_clients": "client_id, client_name, timezone, invoices_by_branch",
    }
    for model, columns in contract.items():
        present = {
            row[0]
            for row in query(
                "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ?",
                [model],
            )
        }
        missing = [column for column in columns.split(", ") if column not in present]
        assert not missing, f"{model} lacks {missing}"
    assert {
        row[0]
        for row in query(
            "select column_name from information_schema.columns where table_schema = 'ops' and table_name = 'rejected_rows'"
        )
    } >= {"source_table", "source_file", "source_row", "reason"}
