"""The bad-input corpus (R14): one small landing file per kind of bad input, with its expected outcome.

Every case adds one file to the valid base landing folder (`base/`, keys D1-D4, J1-J2, ...),
with keys of its own so that the cases do not disturb one another. Expectations are worked
out by hand from the contract:

- ``rows``: data rows in the file (what ``ops.landing_accounting.rows_landed`` must count);
- ``rejects``: the ``ops.rejected_rows`` entries of the file, as (source_row, reason substring);
- ``quarantined``: for a file rejected whole, substrings its reason must hold (it names the file
  and the missing column) - the file is moved to quarantine and recorded with source_row 0;
- ``validation``: the validator's verdict on the file (ok / row_problems / quarantined);
- ``accepted``: keys that must be current after the build (in the table's base model);
- ``documents_in`` / ``documents_out``: document ids that must / must not reach
  ``marts.fct_documents``; ``amounts`` the amount_due expected there;
- ``later_files`` and ``rejects_after``: files landing before a second refresh, and the
  file's rejects after it (the event whose job lands late).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

DOCUMENTS = (
    "document_id,client_id,job_id,batch_id,customer_account_id,branch_code,document_type,"
    "document_number,document_date,amount_due,currency,delivery_channel,pull_class,page_count"
)
DELIVERIES = "delivery_id,document_id,delivery_channel,attempted_at,sent_at,outcome"
EVENTS = "event_id,job_id,status_code,event_at,status_date"
FEES = (
    "fee_id,client_id,job_id,batch_id,document_id,branch_code,fee_type,quantity,unit_price,amount,"
    "currency,fee_date,print_facility"
)
JOBS = "job_id,client_id,job_name,created_at,ops_approval_required,customer_approval_required"


def csv(*lines: str, newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode("utf-8")


@dataclass(frozen=True)
class Case:
    name: str
    table: str
    content: bytes
    rows: int
    file_name: str = ""
    rejects: tuple[tuple[int, str], ...] = ()
    quarantined: tuple[str, ...] = ()
    validation: str = "ok"
    accepted: tuple[str, ...] = ()
    documents_in: tuple[str, ...] = ()
    documents_out: tuple[str, ...] = ()
    amounts: dict = field(default_factory=dict)
    later_files: dict = field(default_factory=dict)
    rejects_after: tuple[tuple[int, str], ...] | None = None

    @property
    def path(self) -> str:
        return f"{self.table}/{self.file_name or f'case_{self.name}.csv'}"


CASES = [
    Case(
        name="bad_encoding",
        table="documents",
        content=(
            csv(DOCUMENTS, "D101,C1,J1,BA2,CU1,,invoice,N-101,2026-03-01,10.00,USD,email,,1")
            + "D102,C1,J1,BA2,CU1,,invoice,Caf\xe9-102,2026-03-01,10.00,USD,email,,1\n".encode("latin-1")
            + csv("D103,C1,J1,BA2,CU1,,invoice,N-103,2026-03-01,10.00,USD,email,,1")
        ),
        rows=3,
        rejects=((2, "unreadable row: INVALID ENCODING"),),
        validation="row_problems",
        documents_in=("D101", "D103"),
        documents_out=("D102",),
    ),
    Case(
        name="truncated_last_row",
        table="documents",
        content=csv(DOCUMENTS, "D110,C1,J1,BA2,CU1,,invoice,N-110,2026-03-01,10.00,USD,email,,1")
        + b"D111,C1,J1,BA2,CU1,,invoice,N-111,2026-03-01,10.0",
        rows=2,
        rejects=((2, "unreadable row: MISSING COLUMNS"),),
        validation="row_problems",
        documents_in=("D110",),
        documents_out=("D111",),
    ),
    Case(name="header_only", table="fees", content=csv(FEES), rows=0),
    Case(
        name="misspelt_column",
        table="customers",
        content=csv("client_id,customer_account_id,customer_nme,branch_code", "C1,CU101,Oak Dairy,B1"),
        rows=0,
        quarantined=("customers/case_misspelt_column.csv", "customer_name"),
        validation="quarantined",
    ),
    Case(
        name="text_in_number",
        table="documents",
        content=csv(DOCUMENTS, "D120,C1,J1,BA2,CU1,,invoice,N-120,2026-03-01,10.00,USD,email,,twelve"),
        rows=1,
        rejects=((1, "unparseable whole number in page_count: 'twelve'"),),
        validation="row_problems",
        documents_out=("D120",),
    ),
    Case(
        name="impossible_date",
        table="documents",
        content=csv(DOCUMENTS, "D121,C1,J1,BA2,CU1,,invoice,N-121,2026-02-30,10.00,USD,email,,1"),
        rows=1,
        rejects=((1, "unparseable date (YYYY-MM-DD) in document_date: '2026-02-30'"),),
        validation="row_problems",
        documents_out=("D121",),
    ),
    Case(
        name="unknown_channel",
        table="documents",
        content=csv(DOCUMENTS, "D122,C1,J1,BA2,CU1,,invoice,N-122,2026-03-01,10.00,USD,pigeon,,1"),
        rows=1,
        rejects=((1, "unknown delivery_channel: 'pigeon'"),),
        validation="row_problems",
        documents_out=("D122",),
    ),
    Case(
        name="unknown_job",
        table="documents",
        content=csv(DOCUMENTS, "D123,C1,J404,BA2,CU1,,invoice,N-123,2026-03-01,10.00,USD,email,,1"),
        rows=1,
        rejects=((1, "unknown reference: job_id 'J404'"),),
        documents_out=("D123",),
    ),
    Case(
        name="negative_fee",
        table="fees",
        content=csv(FEES, "FE101,C1,J1,BA1,D1,,print,1,0.50,-5.00,USD,2026-03-01,US"),
        rows=1,
        rejects=((1, "negative amount: -5.00"),),
        validation="row_problems",
    ),
    Case(
        name="duplicate_key_different_values",
        table="documents",
        content=csv(
            DOCUMENTS,
            "D130,C1,J1,BA2,CU1,,invoice,N-130,2026-03-01,10.00,USD,email,,1",
            "D130,C1,J1,BA2,CU1,,invoice,N-130,2026-03-01,99.00,USD,email,,1",
        ),
        rows=2,
        rejects=(
            (1, "duplicate key with different values in one file: document_id = 'D130'"),
            (2, "duplicate key with different values in one file: document_id = 'D130'"),
        ),
        validation="row_problems",
        documents_out=("D130",),
    ),
    Case(
        name="exact_duplicate_row",
        table="documents",
        content=csv(
            DOCUMENTS,
            "D131,C1,J1,BA2,CU1,,invoice,N-131,2026-03-01,12.00,USD,email,,1",
            "D131,C1,J1,BA2,CU1,,invoice,N-131,2026-03-01,12.00,USD,email,,1",
        ),
        rows=2,
        documents_in=("D131",),
        amounts={"D131": "12.00"},
    ),
    Case(
        name="event_before_its_job",
        table="job_status_events",
        content=csv(EVENTS, "E101,J7,PARSING_LOADING,2026-03-02T14:00:00Z,"),
        rows=1,
        rejects=((1, "unknown reference: job_id 'J7'"),),
        later_files={"jobs/case_late_job.csv": csv(JOBS, "J7,C1,Acme Late,2026-03-02T13:55:00Z,false,false")},
        rejects_after=(),
    ),
    Case(
        name="missing_key",
        table="documents",
        content=csv(DOCUMENTS, ",C1,J1,BA2,CU1,,invoice,N-MISSING,2026-03-01,10.00,USD,email,,1"),
        rows=1,
        rejects=((1, "missing key: document_id is empty"),),
        validation="row_problems",
    ),
    Case(
        name="unparseable_timestamp",
        table="job_status_events",
        content=csv(EVENTS, "E102,J1,PRINTING,yesterday,"),
        rows=1,
        rejects=((1, "unparseable timestamp in event_at: 'yesterday'"),),
        validation="row_problems",
    ),
    Case(
        name="timestamp_year_1900",
        table="job_status_events",
        content=csv(EVENTS, "E103,J1,PRINTING,1900-01-01T00:00:00Z,"),
        rows=1,
        rejects=((1, "implausible timestamp in event_at (outside 2000-2100)"),),
        validation="row_problems",
    ),
    Case(
        name="unknown_status_code",
        table="job_status_events",
        content=csv(EVENTS, "E104,J1,LOST,2026-03-01T19:40:00Z,"),
        rows=1,
        rejects=((1, "unknown status_code: 'LOST'"),),
        validation="row_problems",
    ),
    Case(
        name="boolean_yes",
        table="jobs",
        content=csv(JOBS, "J101,C1,Acme Extra,2026-03-01T14:05:00Z,yes,false"),
        rows=1,
        rejects=((1, "unparseable boolean (true/false) in ops_approval_required: 'yes'"),),
        validation="row_problems",
    ),
    Case(
        name="money_with_3_decimals",
        table="fees",
        content=csv(FEES, "FE102,C1,J1,BA1,D1,,print,1,0.50,1.005,USD,2026-03-01,US"),
        rows=1,
        rejects=((1, "unparseable amount (up to 2 decimals) in amount: '1.005'"),),
        validation="row_problems",
    ),
    Case(
        name="empty_file",
        table="batches",
        content=b"",
        rows=0,
        quarantined=("batches/case_empty_file.csv", "empty"),
        validation="quarantined",
    ),
    Case(
        name="gzip_file",
        table="documents",
        file_name="case_gzip_file.csv.gz",
        content=gzip.compress(csv(DOCUMENTS, "D140,C1,J1,BA2,CU1,,invoice,N-140,2026-03-01,14.00,USD,email,,1")),
        rows=1,
        documents_in=("D140",),
        amounts={"D140": "14.00"},
    ),
    Case(
        name="later_file_upserts_a_key",
        table="documents",
        content=csv(DOCUMENTS, "D2,C1,J1,BA2,CU1,,statement,ST-1002,2026-03-01,275.00,USD,email,,1"),
        rows=1,
        documents_in=("D2",),
        amounts={"D2": "275.00"},
    ),
    Case(
        name="too_many_fields",
        table="documents",
        content=csv(
            DOCUMENTS,
            "D150,C1,J1,BA2,CU1,,invoice,N-150,2026-03-01,10.00,USD,email,,1,surprise",
            "D151,C1,J1,BA2,CU1,,invoice,N-151,2026-03-01,10.00,USD,email,,1",
        ),
        rows=2,
        rejects=((1, "unreadable row: TOO MANY COLUMNS"),),
        validation="row_problems",
        documents_in=("D151",),
        documents_out=("D150",),
    ),
    Case(
        name="crlf_line_endings",
        table="customers",
        content=csv(
            "client_id,customer_account_id,customer_name,branch_code", "C1,CU110,Elm Bakery,B1", newline="\r\n"
        ),
        rows=1,
        accepted=("CU110",),
    ),
    Case(
        name="header_not_utf8",
        table="clients",
        content="client_id,client_nam\xe9,timezone,invoices_by_branch\nC9,Nine,UTC,true\n".encode("latin-1"),
        rows=0,
        quarantined=("clients/case_header_not_utf8.csv", "not UTF-8"),
        validation="quarantined",
    ),
    Case(
        name="no_header_row",
        table="contacts",
        content=csv("K101,C1,Dee Fox,dee@acme.example,viewer,2025-01-01T00:00:00Z,"),
        rows=0,
        quarantined=("contacts/case_no_header_row.csv", "contact_id"),
        validation="quarantined",
    ),
    Case(
        name="unknown_time_zone",
        table="clients",
        content=csv("client_id,client_name,timezone,invoices_by_branch", "C9,Nine,Mars/Olympus,true"),
        rows=1,
        rejects=((1, "unknown time zone in timezone: 'Mars/Olympus'"),),
        validation="row_problems",
    ),
    Case(
        name="columns_reordered_and_extra_column",
        table="branches",
        content=csv("branch_name,country,comment,branch_code,client_id", "Salem,US,new office,B5,C1"),
        rows=1,
        accepted=("B5",),
    ),
    Case(
        name="quoted_comma_quote_and_newline",
        table="documents",
        content=csv(
            DOCUMENTS, 'D160,C1,J1,BA2,CU1,,invoice,"N-160, ""rush""\nsecond line",2026-03-01,16.00,USD,email,,1'
        ),
        rows=1,
        documents_in=("D160",),
        amounts={"D160": "16.00"},
    ),
    Case(
        name="credit_memo_negative_amount",
        table="documents",
        content=csv(DOCUMENTS, "D161,C1,J1,BA2,CU1,,credit_memo,CM-161,2026-03-01,-20.00,USD,email,,1"),
        rows=1,
        documents_in=("D161",),
        amounts={"D161": "-20.00"},
    ),
    Case(
        name="missing_required_code",
        table="documents",
        content=csv(DOCUMENTS, "D162,C1,J1,BA2,CU1,,,N-162,2026-03-01,10.00,USD,email,,1"),
        rows=1,
        rejects=((1, "missing required value: document_type is empty"),),
        validation="row_problems",
        documents_out=("D162",),
    ),
    Case(
        name="utf8_byte_order_mark",
        table="deliveries",
        content=b"\xef\xbb\xbf" + csv(DELIVERIES, "DL101,D2,email,2026-03-01T15:20:00Z,2026-03-01T15:22:00Z,sent"),
        rows=1,
        accepted=("DL101",),
    ),
    Case(
        name="delivery_for_unknown_document",
        table="deliveries",
        content=csv(DELIVERIES, "DL102,D999,email,2026-03-01T15:20:00Z,,failed"),
        rows=1,
        rejects=((1, "unknown reference: document_id 'D999'"),),
    ),
]
