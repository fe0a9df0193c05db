"""What the generator writes: the raw tables, their columns and keys, status codes, channels, ids."""

from __future__ import annotations

from billing_reports.landing_contract import seed_rows, table_columns, table_keys

#: The job-tracking status codes in step order (seed job_statuses); the generator's step n is STATUS_CODES[n - 1].
STATUS_CODES = [row["status_code"] for row in sorted(seed_rows("job_statuses"), key=lambda row: int(row["step_order"]))]

#: channel code (0-based) -> name. The generator's mix draws the codes of its own channels (0 = print, 1..7 =
#: electronic, 8 = pull; the SQL of :mod:`~billing_reports.generate.distributions` tests these codes); a channel
#: the delivery_channels seed adds comes after them: known (written, read back, extended), but never drawn.
GENERATOR_CHANNELS = ["us_mail", "email", "einvoice_connect", "invoice_central", "fax", "sml", "ftp", "csv", "pull"]
CHANNELS = GENERATOR_CHANNELS + [
    row["delivery_channel"]
    for row in seed_rows("delivery_channels")
    if row["delivery_channel"] not in GENERATOR_CHANNELS
]

# prefix, minimum number of digits (grows when the data needs more)
ID_FORMATS = {
    "client": ("CL", 3),
    "contact": ("CT", 4),
    "customer": ("C", 7),
    "routing": ("R", 8),
    "rule": ("PR", 3),
    "change": ("RC", 4),
    "file": ("F", 6),
    "job": ("J", 6),
    "event": ("E", 8),
    "approval": ("AP", 6),
    "batch": ("B", 7),
    "document": ("D", 9),
    "pull": ("P", 7),
    "delivery": ("DL", 9),
    "fee": ("FE", 8),
}


#: columns and key columns of each raw table, in load order: the landing contract (the source YAML)
TABLE_COLUMNS: dict[str, list[str]] = table_columns()
TABLE_KEYS: dict[str, list[str]] = table_keys()
