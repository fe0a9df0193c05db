"""Each distribution the generators draw from, defined once.

Both the full-period generator (:mod:`~billing_reports.generate.period`) and the one-more-day extension
(:mod:`~billing_reports.generate.extend_steps`) build their SQL from these functions, so a change to a mix or a
rate (a new channel's failure rate, a busier evening) reaches both. Each returns a SQL expression; ``rand`` is the
run's :class:`~billing_reports.generate.sql.SeededRandom` and ``*keys`` the row's key columns, so the same row
draws the same value in both generators.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing_reports.generate.contract import CHANNELS

if TYPE_CHECKING:
    from billing_reports.generate.sql import SeededRandom

#: The delivery mix of customers' routing: each channel with the upper bound of its uniform draw (us_mail 45 %,
#: email 30 %, einvoice_connect 6 %, invoice_central 5 %, fax 4 %, sml, ftp and csv 2 % each, pull 4 %).
CHANNEL_MIX = [
    ("us_mail", 0.45),
    ("email", 0.75),
    ("einvoice_connect", 0.81),
    ("invoice_central", 0.86),
    ("fax", 0.90),
    ("sml", 0.92),
    ("ftp", 0.94),
    ("csv", 0.96),
    ("pull", 1.0),
]


def channel_pick_macro() -> str:
    """The ``chan_pick(x)`` macro: the channel code a uniform draw ``x`` picks from :data:`CHANNEL_MIX`."""
    *bounded, (last, _) = CHANNEL_MIX
    cases = " ".join(f"WHEN x < {bound:.2f} THEN {CHANNELS.index(name)}" for name, bound in bounded)
    return f"CREATE MACRO chan_pick(x) AS CASE {cases} ELSE {CHANNELS.index(last)} END"


# -- uploads -------------------------------------------------------------------------------------------------
def upload_slot_used(rand: SeededRandom, client: str, day_number: str, slot: str, max_slots: int, day: str) -> str:
    """Whether upload slot ``slot`` of a client's local day is used: the client's daily rate spread over the
    slots, weekends at 15 % of a weekday."""
    return (
        f"{rand.uniform('slot', client, day_number, slot)} * {max_slots}"
        f" < c.rate * CASE WHEN dayofweek({day}) IN (0, 6) THEN 0.15 ELSE 1.0 END"
    )


def upload_local_seconds(rand: SeededRandom, *keys: str) -> str:
    """Seconds after local midnight an upload arrives: 8 % overnight (00:00-06:00), 72 % in office hours
    (07:00-17:00), 20 % in the evening (17:00-22:00)."""
    band, within = rand.uniform("ut1", *keys), rand.uniform("ut2", *keys)
    return (
        f"CASE WHEN {band} < 0.08 THEN {within} * 21600"
        f" WHEN {band} < 0.80 THEN 25200 + {within} * 36000"
        f" ELSE 61200 + {within} * 18000 END"
    )


# -- documents -----------------------------------------------------------------------------------------------
def document_type(kind: str, draw: str) -> str:
    """Document type code (0 invoice, 1 statement, 2 credit memo) from a job's kind and a uniform draw:
    statement runs are 90 % statements, invoice runs 93 % invoices; 3 % credit memos either way."""
    return (
        f"CASE WHEN {kind} = 'statements'"
        f" THEN (CASE WHEN {draw} < 0.90 THEN 1 WHEN {draw} < 0.97 THEN 0 ELSE 2 END)"
        f" ELSE (CASE WHEN {draw} < 0.93 THEN 0 WHEN {draw} < 0.97 THEN 1 ELSE 2 END) END"
    )


def document_amount(rand: SeededRandom, dtype: str, key: str) -> str:
    """Amount due, log-normal per document type (credit memos negative), clipped to a plausible range."""
    z = rand.normal("amt", key)
    return (
        f"CASE {dtype}"
        f" WHEN 0 THEN least(250000, greatest(5, exp(5.94 + 1.15 * {z})))"
        f" WHEN 1 THEN least(400000, greatest(10, exp(7.31 + 1.3 * {z})))"
        f" ELSE -least(20000, greatest(5, exp(4.55 + 1.0 * {z}))) END"
    )


def page_count(rand: SeededRandom, dtype: str, key: str) -> str:
    """Pages: 1 (55 %), 2 (25 %), 3, 4, 5, 6; statements one more 40 % of the time; never over 6."""
    pages = rand.uniform("pg", key)
    return (
        f"least(6, CASE WHEN {pages} < 0.55 THEN 1 WHEN {pages} < 0.80 THEN 2 WHEN {pages} < 0.90 THEN 3"
        f" WHEN {pages} < 0.95 THEN 4 WHEN {pages} < 0.98 THEN 5 ELSE 6 END"
        f" + CASE WHEN {dtype} = 1 AND {rand.uniform('pg2', key)} < 0.4 THEN 1 ELSE 0 END)"
    )


def document_date_lag(rand: SeededRandom, key: str) -> str:
    """Days the document date is before the job's local day: 0 (60 %), 1 (25 %), 2 (10 %), 3 (5 %)."""
    lag = rand.uniform("dd", key)
    return f"CAST(CASE WHEN {lag} < 0.6 THEN 0 WHEN {lag} < 0.85 THEN 1 WHEN {lag} < 0.95 THEN 2 ELSE 3 END AS INTEGER)"


# -- batches -------------------------------------------------------------------------------------------------
def print_facility(is_print: str, country: str) -> str:
    """The print facility of a print batch: the client's country."""
    return f"CASE WHEN {is_print} THEN (CASE WHEN {country} = 'CA' THEN 'CA' ELSE 'US' END) END"


def mail_class(rand: SeededRandom, is_print: str, kind: str, batch: str) -> str:
    """Statements and 12 % of invoice batches go Standard, the rest First-Class."""
    return (
        f"CASE WHEN {is_print} AND ({kind} = 'statements' OR {rand.uniform('mc', batch)} < 0.12) THEN 'Standard'"
        f" WHEN {is_print} THEN 'First-Class' END"
    )


def postage_currency(is_print: str, country: str) -> str:
    return f"CASE WHEN NOT {is_print} THEN NULL WHEN {country} = 'CA' THEN 'CAD' ELSE 'USD' END"


def batch_work_seconds(rand: SeededRandom, batch: str) -> str:
    """From release to completion: print batches 30-120 minutes plus 0.9 s a sheet, electronic ones 1.5-16.5
    minutes plus 0.05 s a piece."""
    draw = rand.uniform("bcomp", batch)
    return f"CASE WHEN is_print THEN 1800 + sheets * 0.9 + {draw} * 5400 ELSE 90 + pieces * 0.05 + {draw} * 900 END"


def mailed_after_due_seconds(rand: SeededRandom, batch: str) -> str:
    """Seconds after local midnight of the post-office due date a print batch is mailed: 12 % the next
    morning (24:00-25:30), the rest 16:00-23:00."""
    late, at = rand.uniform("ml0", batch), rand.uniform("ml1", batch)
    return f"CASE WHEN {late} < 0.12 THEN 86400 + {at} * 5400 ELSE 57600 + {at} * 25200 END"


def postage_rate() -> str:
    """Postage a piece, by facility and mail class (columns ``facility``, ``mail_class``, ``is_print``)."""
    return (
        "CASE WHEN NOT is_print THEN NULL"
        " WHEN facility = 'CA' THEN (CASE WHEN mail_class = 'Standard' THEN 0.89 ELSE 1.15 END)"
        " ELSE (CASE WHEN mail_class = 'Standard' THEN 0.41 ELSE 0.62 END) END::DECIMAL(10, 2)"
    )


# -- deliveries ----------------------------------------------------------------------------------------------
def delivery_failure_probability(channel: str) -> str:
    """Chance a first attempt fails: fax 6 %, other electronic channels 0.8 %."""
    return f"CASE WHEN {channel} = 4 THEN 0.06 ELSE 0.008 END"


def delivery_bounce_probability(channel: str) -> str:
    """Chance a send bounces: e-mail and csv 2.5 %, fax never, the others 0.3 %."""
    return f"CASE WHEN {channel} IN (1, 7) THEN 0.025 WHEN {channel} = 4 THEN 0.0 ELSE 0.003 END"


def send_seconds(channel: str, draw: str) -> str:
    """From attempt to sent: fax 30 s-10 min, the other channels 1 s-2 min."""
    return f"CASE WHEN {channel} = 4 THEN 30 + {draw} * 570 ELSE 1 + {draw} * 119 END"


# -- fees ----------------------------------------------------------------------------------------------------
def print_unit_price(facility: str) -> str:
    """Print fee a sheet, by print facility."""
    return f"CASE WHEN {facility} = 'CA' THEN 0.12 ELSE 0.09 END"


def electronic_fee_type(channel: str) -> str:
    """Fee type of an electronic send: e-mail, portal (einvoice_connect, invoice_central) or other."""
    return f"CASE WHEN {channel} = 1 THEN 'email' WHEN {channel} IN (2, 3) THEN 'portal' ELSE 'other' END"


def electronic_unit_price(channel: str) -> str:
    """Fee a sent document, by the fee types of :func:`electronic_fee_type`."""
    return f"CASE WHEN {channel} = 1 THEN 0.35 WHEN {channel} IN (2, 3) THEN 0.45 ELSE 0.30 END"
