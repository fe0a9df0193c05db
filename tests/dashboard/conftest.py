"""A small HAND-MADE warehouse for the dashboard tests: schema ``marts`` with the mart tables
(the columns and types of the model SQL under models/marts) and a few rows whose figures were
chosen by hand. No dbt run: the dashboard is tested on its own, against figures we know.

The figures the tests check, worked out by hand from the rows below:

* Clients ACME (US, branches NE, SW, unassigned) and MAPLE (Canada, branch TOR).
* Jobs created 2026-03-01..2026-03-30 (the job-tracking default range, 30 days up to the
  latest creation date): J1..J6 = 6 jobs, 16 documents; 3 complete (J1, J2, J5), 2 awaiting
  approval (J4 customer, J6 ops), 1 in progress (J3, printing). J0 (2026-01-20) is older.
* Billing statistics, default range 2026-02-19..2026-03-20: 9 bills = US Mail 3, Email 3,
  Fax 1, Pull 1, eInvoice Connect 1. ACME only: 7. 2026-01-01..2026-03-31: 14 (J0 adds 5).
* Customer routing (as of 2026-03-31 12:00 UTC): ACME email 12, fax 3, pull 2 (17);
  MAPLE email 6, eInvoice Connect 4 (10); 27 in all, 18 by email.
* Branch activity, default range 2026-02-19..2026-03-20: 9 documents; NE 4, SW 2,
  UNASSIGNED 1, TOR 2. Branch W9 (ACME, 2026-01-20, 1 document) has no name.
* Branch billing, default range 2026-02-14..2026-03-15: USD fees 60.00 (NE 52.50, SW 2.00,
  TOR 5.50), CAD fees 100.00 (TOR: print 80.00, postage 20.00). At 0.75 the CAD is 75.00 USD
  and the USD total 135.00. The model's fee_amount_usd was built with 0.70 (56.00 + 14.00):
  the page must not use it.
* Billing activity details, default range 2026-02-19..2026-03-20: batches B1..B5, 8 documents;
  print only: B1 and B4, 3 documents.
* File pickup (as of 2026-03-31 12:00): F2 overdue (ACME), F3 waiting (MAPLE, timed start),
  F0 and F1 picked up.
* Rule changes: CH1 and CH3 authorized; CH2 (ACME, requested by a billing contact) not
  authorized, yet applied.
* Clients (``marts.dim_clients``): ACME "Acme Utilities" (America/New_York) and MAPLE "Maple
  Power" (America/Toronto) invoice by branch; BOLT "Bolt Telecom" (America/Chicago) does not and
  has no activity. Daylight saving starts on 2026-03-08 in both eastern zones: B1 mailed
  2026-03-03 15:00 UTC is 10:00 EST, B3 mailed 2026-03-20 15:00 UTC is 11:00 EDT.
* F4 (ACME, picked up) was uploaded 2026-03-20 02:30 UTC = 2026-03-19 22:30 EDT: on a local-date
  filter it belongs to 19 March, not to the 20th.
* Operations (``ops``): refresh runs (a published full run two hours before "now", then a
  failed incremental run), the landing accounting of two tables, and one rejected row
  (``documents.csv`` row 7, "unknown job J404").
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest

from billing_reports.refresh.runlog import REFRESH_RUNS_COLUMNS

PROJECT_DIR = Path(__file__).resolve().parents[2]
APP = PROJECT_DIR / "dashboards" / "app.py"

# ----------------------------------------------------------------------------------------------
# The mart tables, with the columns (and types) the model SQL produces.
# ----------------------------------------------------------------------------------------------

MART_TABLES: dict[str, str] = {
    "fct_documents": """
        document_id varchar, client_id varchar, job_id varchar, batch_id varchar, customer_account_id varchar,
        branch_code varchar, document_type varchar, delivery_method varchar, pull_class varchar,
        is_pulled boolean, amount_due decimal(18, 2), currency varchar, page_count bigint,
        branch_source varchar, delivery_channel varchar, delivery_method_group varchar,
        document_number varchar, document_date date, is_invoice boolean, is_statement boolean,
        pulled_at timestamp, job_completed_at timestamp, job_complete_date date""",
    "rpt_job_tracking": """
        client_id varchar, job_id varchar, job_name varchar, current_status_code varchar,
        current_status_label varchar, current_status_at timestamp, document_count bigint,
        job_completed_at timestamp, job_complete_date date, is_complete boolean, current_step_order integer,
        pulled_document_count bigint, created_at timestamp, ops_approval_required boolean,
        customer_approval_required boolean, tracker_completed_at timestamp, is_tracker_complete boolean""",
    "rpt_job_tracking_steps": """
        client_id varchar, job_id varchar, step_order integer, status_code varchar, status_label varchar,
        step_state varchar, entered_at timestamp, status_date date, is_not_applicable boolean,
        help_text varchar, step_title varchar, not_applicable_reason varchar""",
    "rpt_job_documents": """
        client_id varchar, job_id varchar, job_name varchar, batch_id varchar, batch_type varchar,
        document_id varchar, document_number varchar, document_type varchar, document_date date,
        customer_account_id varchar, customer_name varchar, branch_code varchar, delivery_channel varchar,
        delivery_method varchar, pull_class varchar, delivery_method_group varchar, is_pulled boolean,
        pulled_at timestamp, amount_due decimal(18, 2), currency varchar, page_count bigint,
        delivery_attempt_count bigint, sent_attempt_count bigint, bounced_attempt_count bigint,
        failed_attempt_count bigint, first_sent_at timestamp, last_attempted_at timestamp,
        last_attempt_outcome varchar, mailed_at timestamp, mailed_or_sent_at timestamp,
        mailed_or_sent_date date, delivery_state varchar""",
    "rpt_document_deliveries": """
        client_id varchar, job_id varchar, document_id varchar, document_number varchar, delivery_id varchar,
        delivery_channel varchar, attempted_at timestamp, sent_at timestamp, outcome varchar,
        attempt_number bigint""",
    "dim_clients": """
        client_id varchar, client_name varchar, timezone varchar, invoices_by_branch boolean,
        display_name varchar""",
    "rpt_job_delivery_counts": """
        client_id varchar, job_id varchar, delivery_method varchar, document_count bigint,
        pulled_document_count bigint""",
    "rpt_job_approval": """
        client_id varchar, job_id varchar, approval_stage varchar, awaiting_since timestamp,
        document_count bigint, amount_due decimal(38, 2), pulled_document_count bigint, currency varchar,
        job_name varchar, current_status_code varchar, approval_requested_at timestamp, approval_id varchar,
        approval_decision varchar, approval_decided_at timestamp, approval_decided_by varchar""",
    "rpt_customer_routing": """
        client_id varchar, delivery_channel varchar, customer_count bigint, as_of timestamp""",
    "rpt_billing_statistics": """
        client_id varchar, job_complete_date date, delivery_method varchar, job_count bigint, bill_count bigint""",
    "rpt_branch_activity": """
        client_id varchar, branch_code varchar, branch_name varchar, activity_date date, delivery_method varchar,
        document_count bigint, invoice_count bigint, statement_count bigint, amount_due decimal(38, 2),
        currency varchar""",
    "rpt_branch_billing": """
        client_id varchar, branch_code varchar, branch_name varchar, fee_date date, fee_type varchar,
        currency varchar, print_facility varchar, fee_amount decimal(38, 2), fee_amount_usd decimal(18, 2),
        fee_count bigint, cad_to_usd_rate decimal(18, 6)""",
    "rpt_billing_activity_details": """
        client_id varchar, job_id varchar, batch_id varchar, batch_type varchar, print_facility varchar,
        date_mailed date, document_count bigint, invoice_count bigint, statement_count bigint,
        page_count bigint, piece_count bigint, postage_amount decimal(18, 2), postage_currency varchar,
        sheet_count bigint, mail_class varchar, mailed_at timestamp, released_at timestamp""",
    "rpt_job_activity": """
        client_id varchar, job_id varchar, job_name varchar, completed_at timestamp, document_count bigint,
        completed_date date, job_completed_at timestamp, print_document_count bigint,
        electronic_document_count bigint, pulled_document_count bigint, failed_delivery_count bigint,
        bounced_delivery_count bigint, print_batch_count bigint, electronic_batch_count bigint,
        fee_amount_usd_billed decimal(38, 2), fee_amount_cad_billed decimal(38, 2)""",
    "rpt_job_activity_recipients": """
        client_id varchar, job_id varchar, contact_id varchar, full_name varchar, email varchar, role varchar,
        completed_at timestamp""",
    "rpt_file_pickup": """
        client_id varchar, file_id varchar, file_name varchar, uploaded_at timestamp,
        expected_pickup_by timestamp, picked_up_at timestamp, job_id varchar, pickup_state varchar,
        processing_start_at timestamp, timed_start_rule_id varchar, size_bytes bigint, as_of timestamp""",
    "rpt_rule_change_audit": """
        client_id varchar, change_id varchar, rule_id varchar, requested_by_contact_id varchar,
        requested_at timestamp, applied_at timestamp, is_authorized boolean, authorization_reason varchar,
        requested_by_name varchar, requested_by_role varchar, summary varchar, is_applied boolean""",
}

STATUSES = [
    (1, "PARSING_LOADING", "Parsing and Loading Data File(s)"),
    (2, "GENERATING_PDF", "Generating PDF Images of Bills"),
    (3, "AWAITING_OPS_APPROVAL", "Awaiting Ops Approval"),
    (4, "AWAITING_CUSTOMER_APPROVAL", "Awaiting Customer Approval"),
    (5, "PRINTING", "Printing Paper Bills"),
    (6, "SENDING_ELECTRONIC", "Sending Emails, Faxes, and e-bills"),
    (7, "ELECTRONIC_SCHEDULED", "Electronic Bills Sending/Sent on (Date)"),
    (8, "PRINTING_COMPLETE", "Printing Paper Bills Complete"),
    (9, "DELIVERED_TO_POST_OFFICE", "Paper Bills Delivered to Post Office no later than (Date)"),
    (10, "JOB_COMPLETE", "Job Complete/All Bills Sent"),
]
STATE_CODES = {"d": "done", "c": "current", "p": "pending", "n": "not_applicable"}
AS_OF = "2026-03-31 12:00:00"

# ----------------------------------------------------------------------------------------------
# The rows, by hand.
# ----------------------------------------------------------------------------------------------

# fmt: off
# client, job, name, created_at, current step, docs, pulled, completed_at, complete date, ops?, customer?,
# step states (d done, c current, p pending, n not applicable), step 7 date, step 9 date
JOBS = [
    ("ACME", "J0", "January invoices", "2026-01-20 09:00", 10, 5, 0, "2026-01-20 15:00", "2026-01-20",
     False, False, "ddnndnnddd", None, "2026-01-21"),
    ("ACME", "J1", "March statements", "2026-03-02 08:00", 10, 4, 1, "2026-03-02 18:00", "2026-03-02",
     False, False, "ddnndddddd", "2026-03-02", "2026-03-03"),
    ("ACME", "J2", "Mid-March invoices", "2026-03-20 08:00", 10, 3, 0, "2026-03-20 12:00", "2026-03-20",
     False, False, "ddnnnddnnd", "2026-03-20", None),
    ("ACME", "J3", "Late March invoices", "2026-03-28 10:00", 5, 2, 0, None, None,
     False, False, "ddnncnnppp", None, "2026-03-30"),
    ("ACME", "J4", "Approval batch", "2026-03-29 10:00", 4, 3, 1, None, None,
     False, True, "ddncppnppp", None, None),
    ("MAPLE", "J5", "Maple March", "2026-03-15 14:00", 10, 2, 0, "2026-03-15 20:00", "2026-03-15",
     False, False, "ddnnddnddd", None, "2026-03-16"),
    ("MAPLE", "J6", "Maple ops review", "2026-03-30 13:00", 3, 2, 0, None, None,
     True, False, "ddcnpnnppp", None, None),
]

class Document(NamedTuple):
    """A row of DOCUMENTS: one document of a job (``method``: how it was to be delivered;
    ``channel``: where it was routed)."""

    document: str
    client: str
    job: str
    batch: str | None
    customer: str
    branch: str
    doc_type: str
    method: str
    channel: str
    pulled_at: str | None
    amount: str
    currency: str

    @property
    def group(self) -> str:
        """The delivery group of the method: print, pull or electronic."""
        return {"us_mail": "print", "pull": "pull"}.get(self.method, "electronic")


# document, client, job, batch, customer, branch, type, method, routed channel, pulled_at, amount, currency
_DOCUMENT_ROWS = [
    *[(f"D0{n}", "ACME", "J0", "B0", f"CUST-A{n}", "NE", "invoice", "us_mail", "us_mail", None, "100.00", "USD")
      for n in range(1, 6)],
    ("D11", "ACME", "J1", "B1", "CUST-A1", "NE", "invoice", "us_mail", "us_mail", None, "150.00", "USD"),
    ("D12", "ACME", "J1", "B1", "CUST-A2", "NE", "invoice", "us_mail", "us_mail", None, "150.00", "USD"),
    ("D13", "ACME", "J1", "B2", "CUST-A3", "SW", "statement", "email", "email", None, "80.00", "USD"),
    ("D14", "ACME", "J1", "B2", "CUST-A4", "SW", "invoice", "pull", "email", "2026-03-02 10:00", "70.00", "USD"),
    ("D21", "ACME", "J2", "B3", "CUST-A1", "NE", "invoice", "email", "email", None, "200.00", "USD"),
    ("D22", "ACME", "J2", "B3", "CUST-A2", "NE", "invoice", "email", "email", None, "200.00", "USD"),
    ("D23", "ACME", "J2", "B3", "CUST-A9", "UNASSIGNED", "invoice", "fax", "fax", None, "50.00", "USD"),
    ("D31", "ACME", "J3", "B6", "CUST-A1", "NE", "invoice", "us_mail", "us_mail", None, "120.00", "USD"),
    ("D32", "ACME", "J3", "B6", "CUST-A2", "NE", "invoice", "us_mail", "us_mail", None, "120.00", "USD"),
    ("D41", "ACME", "J4", "B7", "CUST-A1", "NE", "invoice", "us_mail", "us_mail", None, "200.00", "USD"),
    ("D42", "ACME", "J4", "B8", "CUST-A3", "SW", "invoice", "email", "email", None, "250.00", "USD"),
    ("D43", "ACME", "J4", "B7", "CUST-A4", "SW", "invoice", "pull", "us_mail", "2026-03-29 11:30", "150.00", "USD"),
    ("D51", "MAPLE", "J5", "B4", "CUST-M1", "TOR", "invoice", "us_mail", "us_mail", None, "90.00", "CAD"),
    ("D52", "MAPLE", "J5", "B5", "CUST-M2", "TOR", "invoice", "einvoice_connect", "einvoice_connect", None,
     "110.00", "CAD"),
    ("D61", "MAPLE", "J6", "B9", "CUST-M1", "TOR", "invoice", "us_mail", "us_mail", None, "125.00", "CAD"),
    ("D62", "MAPLE", "J6", "B9", "CUST-M3", "TOR", "invoice", "us_mail", "us_mail", None, "125.00", "CAD"),
]
DOCUMENTS = [Document(*row) for row in _DOCUMENT_ROWS]

# The delivery attempts of the electronic documents (J1's e-mail bounced once; J2's fax failed
# once, then went out): delivery, document, channel, attempted at, sent at, outcome.
DELIVERIES = [
    ("DL13A", "D13", "email", "2026-03-02 17:00", "2026-03-02 17:01", "sent"),
    ("DL13B", "D13", "email", "2026-03-02 17:30", "2026-03-02 17:30", "bounced"),
    ("DL21", "D21", "email", "2026-03-20 11:00", "2026-03-20 11:01", "sent"),
    ("DL22", "D22", "email", "2026-03-20 11:00", "2026-03-20 11:02", "sent"),
    ("DL23A", "D23", "fax", "2026-03-20 11:00", None, "failed"),
    ("DL23B", "D23", "fax", "2026-03-20 11:30", "2026-03-20 11:31", "sent"),
    ("DL52", "D52", "einvoice_connect", "2026-03-15 19:00", "2026-03-15 19:01", "sent"),
]

# client, job, method, documents, pulled
DELIVERY_COUNTS = [
    ("ACME", "J0", "us_mail", 5, 0),
    ("ACME", "J1", "us_mail", 2, 0), ("ACME", "J1", "email", 1, 0), ("ACME", "J1", "pull", 1, 1),
    ("ACME", "J2", "email", 2, 0), ("ACME", "J2", "fax", 1, 0),
    ("ACME", "J3", "us_mail", 2, 0),
    ("ACME", "J4", "us_mail", 1, 0), ("ACME", "J4", "email", 1, 0), ("ACME", "J4", "pull", 1, 1),
    ("MAPLE", "J5", "us_mail", 1, 0), ("MAPLE", "J5", "einvoice_connect", 1, 0),
    ("MAPLE", "J6", "us_mail", 2, 0),
]

# ... job name, status, approval requested at, approval id, its landed decision, decided at, decided by
APPROVALS = [
    ("ACME", "J4", "customer", "2026-03-29 11:00", 3, "600.00", 1, "USD", "Approval batch",
     "AWAITING_CUSTOMER_APPROVAL", "2026-03-29 11:00", "AP4", None, None, None),
    ("MAPLE", "J6", "ops", "2026-03-30 14:00", 2, "250.00", 0, "CAD", "Maple ops review",
     "AWAITING_OPS_APPROVAL", "2026-03-30 14:00", "AP6", None, None, None),
]

ROUTING = [
    ("ACME", "email", 12), ("ACME", "fax", 3), ("ACME", "pull", 2),
    ("MAPLE", "email", 6), ("MAPLE", "einvoice_connect", 4),
]

BILLING_STATISTICS = [
    ("ACME", "2026-01-20", "us_mail", 1, 5),
    ("ACME", "2026-03-02", "us_mail", 1, 2), ("ACME", "2026-03-02", "email", 1, 1), ("ACME", "2026-03-02", "pull", 1, 1),
    ("ACME", "2026-03-20", "email", 1, 2), ("ACME", "2026-03-20", "fax", 1, 1),
    ("MAPLE", "2026-03-15", "us_mail", 1, 1), ("MAPLE", "2026-03-15", "einvoice_connect", 1, 1),
]

# client, branch, name, date, method, documents, invoices, statements, amount due, currency
BRANCH_ACTIVITY = [
    ("ACME", "NE", "Northeast", "2026-01-20", "us_mail", 5, 5, 0, "500.00", "USD"),
    ("ACME", "NE", "Northeast", "2026-03-02", "us_mail", 2, 2, 0, "300.00", "USD"),
    ("ACME", "SW", "Southwest", "2026-03-02", "email", 1, 0, 1, "80.00", "USD"),
    ("ACME", "SW", "Southwest", "2026-03-02", "pull", 1, 1, 0, "70.00", "USD"),
    ("ACME", "NE", "Northeast", "2026-03-20", "email", 2, 2, 0, "400.00", "USD"),
    ("ACME", "UNASSIGNED", "Unassigned", "2026-03-20", "fax", 1, 1, 0, "50.00", "USD"),
    ("MAPLE", "TOR", "Toronto", "2026-03-15", "us_mail", 1, 1, 0, "90.00", "CAD"),
    ("MAPLE", "TOR", "Toronto", "2026-03-15", "einvoice_connect", 1, 1, 0, "110.00", "CAD"),
    # A branch number the branches file does not name (before the default range).
    ("ACME", "W9", None, "2026-01-20", "us_mail", 1, 1, 0, "40.00", "USD"),
]

# client, branch, name, date, fee type, currency, facility, amount, amount in USD at the BUILD's rate 0.70, fees
BRANCH_BILLING = [
    ("ACME", "NE", "Northeast", "2026-01-20", "print", "USD", "US", "30.00", "30.00", 5),
    ("ACME", "NE", "Northeast", "2026-03-02", "print", "USD", "US", "40.00", "40.00", 2),
    ("ACME", "NE", "Northeast", "2026-03-02", "postage", "USD", "US", "12.50", "12.50", 2),
    ("ACME", "SW", "Southwest", "2026-03-02", "email", "USD", None, "2.00", "2.00", 1),
    ("MAPLE", "TOR", "Toronto", "2026-03-15", "print", "CAD", "CA", "80.00", "56.00", 1),
    ("MAPLE", "TOR", "Toronto", "2026-03-15", "postage", "CAD", "CA", "20.00", "14.00", 1),
    ("MAPLE", "TOR", "Toronto", "2026-03-15", "portal", "USD", None, "5.50", "5.50", 1),
]

# client, job, batch, type, facility, date mailed, documents, invoices, statements, pages, pieces, postage, currency
BATCHES = [
    ("ACME", "J0", "B0", "print", "US", "2026-01-21", 5, 5, 0, 10, 5, "3.65", "USD"),
    ("ACME", "J1", "B1", "print", "US", "2026-03-03", 2, 2, 0, 4, 2, "1.46", "USD"),
    ("ACME", "J1", "B2", "electronic", None, "2026-03-02", 1, 0, 1, 1, None, None, None),
    ("ACME", "J2", "B3", "electronic", None, "2026-03-20", 3, 3, 0, 3, None, None, None),
    ("MAPLE", "J5", "B4", "print", "CA", "2026-03-16", 1, 1, 0, 2, 1, "1.30", "CAD"),
    ("MAPLE", "J5", "B5", "electronic", None, "2026-03-15", 1, 1, 0, 1, None, None, None),
]

# client, job, completed at, documents, print, electronic, pulled, failed, bounced, print batches,
# electronic batches, USD fees, CAD fees
JOB_ACTIVITY = [
    ("ACME", "J0", "2026-01-20 15:00", 5, 5, 0, 0, 0, 0, 1, 0, "30.00", "0.00"),
    ("ACME", "J1", "2026-03-02 18:00", 4, 2, 1, 1, 0, 1, 1, 1, "54.50", "0.00"),
    ("ACME", "J2", "2026-03-20 12:00", 3, 0, 3, 0, 1, 0, 0, 1, "0.00", "0.00"),
    ("MAPLE", "J5", "2026-03-15 20:00", 2, 1, 1, 0, 0, 0, 1, 1, "5.50", "100.00"),
]

RECIPIENTS = [
    ("ACME", "J1", "K1", "Pat Primary", "pat@acme.example", "primary_support", "2026-03-02 18:00"),
    ("ACME", "J1", "K2", "Bill Billing", "bill@acme.example", "billing", "2026-03-02 18:00"),
    ("MAPLE", "J5", "K3", "Marie Tremblay", "marie@maple.example", "primary_support", "2026-03-15 20:00"),
]

# client, file, name, uploaded, expected by, picked up, job, state, processing start, timed-start rule, bytes
FILE_PICKUP = [
    ("ACME", "F0", "acme_20260328.csv", "2026-03-28 09:50", "2026-03-28 10:05", "2026-03-28 09:58", "J3",
     "picked_up", "2026-03-28 09:50", None, 48_000),
    ("MAPLE", "F1", "maple_20260330.csv", "2026-03-30 12:50", "2026-03-30 13:05", "2026-03-30 12:58", "J6",
     "picked_up", "2026-03-30 12:50", None, 21_000),
    ("ACME", "F2", "acme_20260331.csv", "2026-03-31 11:00", "2026-03-31 11:15", None, None,
     "overdue", "2026-03-31 11:00", None, 52_500),
    ("MAPLE", "F3", "maple_20260331.csv", "2026-03-31 11:50", "2026-03-31 13:15", None, None,
     "waiting", "2026-03-31 13:00", "RULE-M9", 19_800),
    ("ACME", "F4", "acme_20260319_late.csv", "2026-03-20 02:30", "2026-03-20 02:45", "2026-03-20 02:38", "J2",
     "picked_up", "2026-03-20 02:30", None, 10_240),
]

# client, name, zone, invoices by branch, display name
CLIENTS = [
    ("ACME", "Acme Utilities", "America/New_York", True, "Acme Utilities"),
    ("MAPLE", "Maple Power", "America/Toronto", True, "Maple Power"),
    ("BOLT", "Bolt Telecom", "America/Chicago", False, "Bolt Telecom"),
]

# ops.landing_accounting: table, landed, accepted, rejected, duplicates, current, superseded,
# unreadable, files seen, files rejected
LANDING_ACCOUNTING = [
    ("documents", 18, 17, 1, 0, 17, 0, 0, 1, 0),
    ("jobs", 7, 7, 0, 0, 7, 0, 0, 1, 0),
]

# ops.rejected_rows: table, file, row, reason, key, level
REJECTED_ROWS = [
    ("documents", "/landing/documents/documents.csv", 7, "unknown job J404", "D999", "row"),
]

RULE_CHANGES = [
    ("ACME", "CH1", "RULE-A1", "K1", "2026-03-10 14:00", "2026-03-11 09:00", True,
     "requested by a primary support contact", "Pat Primary", "primary_support", "Start jobs at 06:00 local"),
    ("ACME", "CH2", "RULE-A2", "K2", "2026-03-12 16:00", "2026-03-13 10:00", False,
     "requester's role is billing, not primary_support", "Bill Billing", "billing", "Turn on customer approval"),
    ("MAPLE", "CH3", "RULE-M1", "K3", "2026-03-25 15:00", None, True,
     "requested by a primary support contact", "Marie Tremblay", "primary_support", "Delay e-bills by 2 days"),
]

# fmt: on


NOT_APPLICABLE_REASONS = {
    3: "N/A: ops approval not selected",
    4: "N/A: customer approval not selected",
    5: "N/A: this job has no print bills",
    6: "N/A: this job has no electronic bills",
    7: "N/A: this job has no electronic bills",
    8: "N/A: this job has no print bills",
    9: "N/A: this job has no print bills",
}


def _step_title(label: str, status_date: str | None, applicable: bool) -> str:
    return label.replace("(Date)", status_date or ("(date not set yet)" if applicable else "(no date)"))


def _steps() -> list[tuple]:
    rows = []
    for job in JOBS:
        client, job_id, created_at, states = job[0], job[1], job[3], job[11]
        step7_date, step9_date = job[12], job[13]
        for (order, code, label), state_code in zip(STATUSES, states, strict=True):
            state = STATE_CODES[state_code]
            applicable = state != "not_applicable"
            entered = None
            if state in ("done", "current"):
                entered = (datetime.fromisoformat(created_at) + timedelta(minutes=10 * order)).isoformat(sep=" ")
            status_date = {7: step7_date, 9: step9_date}.get(order) if applicable else None
            rows.append(
                (
                    client,
                    job_id,
                    order,
                    code,
                    label,
                    state,
                    entered,
                    status_date,
                    not applicable,
                    f"What step {order} means, in the help page's words.",
                    _step_title(label, status_date, applicable),
                    None if applicable else NOT_APPLICABLE_REASONS.get(order, "N/A"),
                )
            )
    return rows


def _job_documents() -> list[tuple]:
    """rpt_job_documents from DOCUMENTS, BATCHES and DELIVERIES: a print document is sent once its
    batch is mailed (BATCHES, at 15:00), an electronic one by its latest attempt, a pulled one is
    pulled; anything else waits."""
    names = {job[1]: job[2] for job in JOBS}
    mailed = {row[2]: (row[3], f"{row[5]} 15:00") for row in BATCHES}
    rows = []
    for doc in DOCUMENTS:
        attempts = [row for row in DELIVERIES if row[1] == doc.document]
        batch_type, mailed_at = mailed.get(doc.batch, (None, None))
        first_sent = min((row[4] for row in attempts if row[4]), default=None)
        last = attempts[-1] if attempts else None
        if doc.group == "pull":
            state, out_at = "pulled", None
        elif doc.group == "print":
            state, out_at = ("sent" if mailed_at else "waiting"), mailed_at
        else:
            outcome = last[5] if last else None
            state = {"sent": "sent", "bounced": "bounced_or_failed", "failed": "bounced_or_failed"}.get(
                outcome, "waiting"
            )
            out_at = first_sent
        rows.append(
            (
                doc.client, doc.job, names[doc.job], doc.batch,
                batch_type or ("print" if doc.group == "print" else "electronic"),
                doc.document, f"INV-{doc.document}", doc.doc_type, "2026-03-01", doc.customer,
                f"Customer {doc.customer}", doc.branch, doc.channel, doc.method,
                "T" if doc.method == "pull" else None, doc.group, doc.pulled_at is not None, doc.pulled_at,
                doc.amount, doc.currency, 2, len(attempts), sum(row[5] == "sent" for row in attempts),
                sum(row[5] == "bounced" for row in attempts), sum(row[5] == "failed" for row in attempts),
                first_sent, last[3] if last else None, last[5] if last else None, mailed_at, out_at,
                out_at[:10] if out_at else None, state,
            )
        )  # fmt: skip
    return rows


def _insert(connection: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        connection.executemany(f"insert into marts.{table} values ({marks})", rows)


def build_warehouse(
    path: Path,
    *,
    with_rows: bool = True,
    refreshed_at: datetime | None = None,
) -> Path:
    """Write the hand-made warehouse to ``path``.

    ``refreshed_at``: the ``finished_at`` of a published ``ops.refresh_runs`` row (outcome
    ``published``, as billing_reports.refresh records it; a failed run 30 minutes later is
    recorded too and must be ignored); None = no ``ops`` schema.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    connection = duckdb.connect(str(path))
    try:
        connection.execute("create schema marts")
        for table, columns in MART_TABLES.items():
            connection.execute(f"create table marts.{table} ({columns})")
        if refreshed_at is not None:
            naive = refreshed_at.astimezone(UTC).replace(tzinfo=None)
            connection.execute("create schema ops")
            columns = ", ".join(f"{name} {kind}" for name, kind in REFRESH_RUNS_COLUMNS.items())
            connection.execute(f"create table ops.refresh_runs ({columns})")
            connection.executemany(
                "insert into ops.refresh_runs (run_id, started_at, finished_at, outcome, build_mode, rows_rejected)"
                " values (?, ?, ?, ?, ?, ?)",
                [
                    # 5 minutes 30 seconds: the duration the data-quality page shows.
                    ("run-1", naive - timedelta(minutes=5, seconds=30), naive, "published", "full", 1),
                    (
                        "run-2",
                        naive + timedelta(minutes=25),
                        naive + timedelta(minutes=30),
                        "failed",
                        "incremental",
                        None,
                    ),
                ],
            )
            connection.execute(
                "create table ops.landing_accounting (source_table varchar, rows_landed bigint, rows_accepted bigint,"
                " rows_rejected bigint, duplicates_collapsed bigint, rows_current bigint, rows_superseded bigint,"
                " rows_unreadable bigint, files_seen bigint, files_rejected bigint)"
            )
            connection.execute(
                "create table ops.rejected_rows (source_table varchar, source_file varchar, source_row bigint,"
                " reason varchar, record_key varchar, reject_level varchar)"
            )
            if with_rows:
                connection.executemany(
                    "insert into ops.landing_accounting values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", LANDING_ACCOUNTING
                )
                connection.executemany("insert into ops.rejected_rows values (?, ?, ?, ?, ?, ?)", REJECTED_ROWS)
        if not with_rows:
            return path

        _insert(
            connection,
            "rpt_job_tracking",
            [
                (
                    client,
                    job_id,
                    name,
                    STATUSES[step - 1][1],
                    STATUSES[step - 1][2],
                    completed_at or (datetime.fromisoformat(created) + timedelta(minutes=10 * step)).isoformat(sep=" "),
                    documents,
                    completed_at,
                    complete_date,
                    completed_at is not None,
                    step,
                    pulled,
                    created,
                    ops,
                    customer,
                    completed_at,
                    completed_at is not None,
                )
                for (
                    client,
                    job_id,
                    name,
                    created,
                    step,
                    documents,
                    pulled,
                    completed_at,
                    complete_date,
                    ops,
                    customer,
                    *_rest,
                ) in JOBS
            ],
        )
        _insert(connection, "rpt_job_tracking_steps", _steps())
        _insert(connection, "rpt_job_delivery_counts", DELIVERY_COUNTS)
        completions = {job[1]: (job[7], job[8]) for job in JOBS}
        _insert(
            connection,
            "fct_documents",
            [
                (
                    doc.document,
                    doc.client,
                    doc.job,
                    doc.batch,
                    doc.customer,
                    doc.branch,
                    doc.doc_type,
                    doc.method,
                    "T" if doc.method == "pull" else None,
                    doc.pulled_at is not None,
                    doc.amount,
                    doc.currency,
                    2,
                    "document",
                    doc.channel,
                    doc.group,
                    f"INV-{doc.document}",
                    "2026-03-01",
                    doc.doc_type == "invoice",
                    doc.doc_type == "statement",
                    doc.pulled_at,
                    *completions[doc.job],
                )
                for doc in DOCUMENTS
            ],
        )
        _insert(connection, "rpt_job_documents", _job_documents())
        documents = {row[0]: row for row in DOCUMENTS}
        _insert(
            connection,
            "rpt_document_deliveries",
            [
                (
                    documents[document][1],
                    documents[document][2],
                    document,
                    f"INV-{document}",
                    delivery,
                    channel,
                    attempted,
                    sent,
                    outcome,
                    sum(1 for other in DELIVERIES[: index + 1] if other[1] == document),
                )
                for index, (delivery, document, channel, attempted, sent, outcome) in enumerate(DELIVERIES)
            ],
        )
        _insert(connection, "rpt_job_approval", APPROVALS)
        _insert(connection, "rpt_customer_routing", [(*row, AS_OF) for row in ROUTING])
        _insert(connection, "rpt_billing_statistics", BILLING_STATISTICS)
        _insert(connection, "rpt_branch_activity", BRANCH_ACTIVITY)
        _insert(connection, "rpt_branch_billing", [(*row, "0.70") for row in BRANCH_BILLING])
        _insert(
            connection,
            "rpt_billing_activity_details",
            [
                (*row, row[10], "First-Class" if row[3] == "print" else None, f"{row[5]} 15:00", f"{row[5]} 09:00")
                for row in BATCHES
            ],
        )
        names = {job[1]: job[2] for job in JOBS}
        _insert(
            connection,
            "rpt_job_activity",
            [
                (client, job, names[job], completed, documents, completed[:10], completed, *rest)
                for (client, job, completed, documents, *rest) in JOB_ACTIVITY
            ],
        )
        _insert(connection, "rpt_job_activity_recipients", RECIPIENTS)
        _insert(connection, "rpt_file_pickup", [(*row, AS_OF) for row in FILE_PICKUP])
        _insert(connection, "rpt_rule_change_audit", [(*row, row[5] is not None) for row in RULE_CHANGES])
        _insert(connection, "dim_clients", CLIENTS)
    finally:
        connection.close()
    return path


# ----------------------------------------------------------------------------------------------
# The users of the dashboard's sign-in (docs/security.md), with known passwords
# ----------------------------------------------------------------------------------------------

# username: (role, client_id, branches, password)
USERS = {
    "olivia": ("ops", None, None, "ops-secret-1"),
    "ann@acme.example": ("client", "ACME", None, "acme-secret-2"),
    "marie@maple.example": ("client", "MAPLE", None, "maple-secret-3"),
    "ned@acme.example": ("client", "ACME", ("NE",), "northeast-secret-4"),
    "bea@bolt.example": ("client", "BOLT", None, "bolt-secret-5"),  # a client that does not invoice by branch
    "amy@acme.example": ("client", "ACME", None, "acme-approver-5"),
}
#: Client users who may decide their client's customer approvals (users add --approver).
APPROVERS = {"amy@acme.example"}
PASSWORDS = {name: user[3] for name, user in USERS.items()}
OPS_USER = "olivia"


def write_users_file(path: Path, users: dict = USERS) -> Path:
    """A users file for ``users``, written by billing_reports.users. The hashes are argon2id with
    small costs (verification reads the costs from the hash), so that signing in stays quick."""
    from argon2 import PasswordHasher

    from billing_reports.users import User, save_users

    hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    save_users(
        path,
        {
            name: User(name, role, hasher.hash(password), client_id, branches, name in APPROVERS)
            for name, (role, client_id, branches, password) in users.items()
        },
    )
    return path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_command(port: int, warehouse: Path) -> list[str]:
    """`billing-reports serve` on ``port`` and ``warehouse``, as an operator runs it."""
    import sys

    script = Path(sys.executable).with_name("billing-reports")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "billing_reports.cli"]
    return [*command, "serve", "--port", str(port), "--warehouse", str(warehouse)]


def start_serve(warehouse: Path, users_file: Path, log: Path, environment: dict | None = None):
    """`billing-reports serve` (sign-in on, the default session length) on a free port, its output
    in ``log``; returns (the process, its URL) once it answers. Stop it with ``stop_server``.
    ``environment``: more settings for the server (e.g. where decisions are written)."""
    import os
    import subprocess

    port = free_port()
    environment = {
        **os.environ,
        "BILLING_STALE_AFTER_HOURS": "26",
        "BILLING_USERS_FILE": str(users_file),
        **(environment or {}),
    }
    environment.pop("BILLING_AUTH", None)
    environment.pop("BILLING_SESSION_MINUTES", None)
    with log.open("w") as output:
        process = subprocess.Popen(
            serve_command(port, warehouse),
            cwd=PROJECT_DIR,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(process, url, log)
    return process, url


def wait_until_healthy(process, url: str, log: Path, seconds: float = 60) -> None:
    """Wait for a dashboard server subprocess to answer ``/_stcore/health``; fail with its log."""
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the dashboard server did not start:\n{log.read_text()}")
        time.sleep(0.3)


def stop_server(process) -> None:
    """Stop a server subprocess as a service manager does (SIGTERM), killing it after 20 s."""
    import signal
    import subprocess

    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def sign_in(app, username: str, password: str | None = None):
    """Fill the sign-in form of an AppTest and submit it."""
    app.text_input(key="auth_username").input(username)
    app.text_input(key="auth_password").input(PASSWORDS.get(username, "") if password is None else password)
    app.button(key="auth_submit").click()
    return app.run()


def signed_out(app) -> bool:
    """Whether the app shows the sign-in form."""
    return any(widget.key == "auth_username" for widget in app.text_input)


# ----------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def users_file(tmp_path_factory) -> Path:
    """The users file of USERS (one ops user, four client users)."""
    return write_users_file(tmp_path_factory.mktemp("users") / "users.toml")


@pytest.fixture(autouse=True)
def dashboard_users(monkeypatch, users_file) -> Path:
    """Every dashboard test signs in against USERS: sign-in on, the default session length, and no
    failed sign-ins remembered from another test."""
    from dashboards import auth

    monkeypatch.setenv("BILLING_USERS_FILE", str(users_file))
    monkeypatch.delenv("BILLING_AUTH", raising=False)
    monkeypatch.delenv("BILLING_SESSION_MINUTES", raising=False)
    auth.reset_throttle()
    yield users_file
    auth.reset_throttle()


@pytest.fixture(autouse=True)
def approval_places(monkeypatch, tmp_path) -> dict[str, Path]:
    """Decisions made on the Job approval page go to this test's own outbound folder, decision log
    and outbox (billing_reports.approvals), never beside the shared hand-made warehouse."""
    places = {
        "BILLING_OUTBOUND_DIR": tmp_path / "outbound",
        "BILLING_DECISION_LOG": tmp_path / "decisions.jsonl",
        "BILLING_OUTBOX": tmp_path / "outbox.sqlite",
    }
    for name, path in places.items():
        monkeypatch.setenv(name, str(path))
    return places


@pytest.fixture
def service_scope():
    """Call dashboards.data directly (outside a Streamlit session) with every client in scope."""
    from dashboards import auth

    with auth.service_scope("tests"):
        yield


@pytest.fixture(scope="session")
def dashboard_warehouse(tmp_path_factory) -> Path:
    """The hand-made warehouse, refreshed successfully two hours ago (fresh)."""
    root = tmp_path_factory.mktemp("dashboard")
    return build_warehouse(root / "billing.duckdb", refreshed_at=datetime.now(UTC) - timedelta(hours=2))


@pytest.fixture(scope="session")
def stale_warehouse(tmp_path_factory) -> Path:
    """The same data, last refreshed successfully three days ago."""
    root = tmp_path_factory.mktemp("dashboard_stale")
    return build_warehouse(root / "billing.duckdb", refreshed_at=datetime.now(UTC) - timedelta(days=3))


@pytest.fixture(scope="session")
def empty_warehouse(tmp_path_factory) -> Path:
    """Every mart table, no rows, and no ops.refresh_runs (a plain build just written)."""
    root = tmp_path_factory.mktemp("dashboard_empty")
    return build_warehouse(root / "billing.duckdb", with_rows=False)


@pytest.fixture
def use_warehouse(monkeypatch) -> Iterator:
    """Point the dashboard (env BILLING_WAREHOUSE) at a warehouse file for one test."""

    from dashboards.data import _warehouse

    def use(path: Path) -> Path:
        _warehouse._READERS.close()  # the dashboard's shared connection belongs to the previous file
        monkeypatch.setenv("BILLING_WAREHOUSE", str(path))
        return path

    monkeypatch.delenv("BILLING_STALE_AFTER_HOURS", raising=False)
    yield use
    _warehouse._READERS.close()


@pytest.fixture
def open_page(use_warehouse, dashboard_warehouse):
    """Run the app on one page (AppTest) against a warehouse (default: the fresh hand-made one),
    signed in as ``user`` (default: the ops user)."""
    from streamlit.testing.v1 import AppTest

    def open_(page: str, warehouse: Path | None = None, timeout: float = 60, user: str | None = OPS_USER) -> AppTest:
        """``user`` signs in first (default: the ops user, who sees every client); None: nobody."""
        use_warehouse(warehouse or dashboard_warehouse)
        app = AppTest.from_file(str(APP), default_timeout=timeout)
        app.run()
        if user is None:
            return app
        sign_in(app, user)
        assert not app.exception, [item.value for item in app.exception]
        assert not signed_out(app), f"{user} could not sign in: {[item.value for item in app.error]}"
        if page != "job_tracking":
            app.switch_page(f"app_pages/{page}.py")
            app.run()
        assert not app.exception, [item.value for item in app.exception]
        return app

    return open_
