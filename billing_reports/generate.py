"""Synthetic landing-folder generator for the billing-reports warehouse.

``generate(out_dir, documents=..., ...)`` writes ``<out_dir>/<table>/<extract-day>.csv`` for the 16 raw
tables of the contract (``shared/spec/contract.md`` section 2) and returns a summary dict.

Everything that scales with the document count is produced by DuckDB SQL (``range``/``unnest``,
joins, window functions, ``COPY``); only the per-client configuration (clients, contacts, branches,
processing rules and their change requests: a few rows per client) is laid out in Python.
Every random value is derived from ``hash(<row key>, seed, <purpose>)``, never from ``random()``, and
every file is written with an explicit ``ORDER BY`` on its key, so the output is byte-identical for a
given seed whatever the thread scheduling.

Time model: the period is ``[start_date 00:00Z, start_date + days 00:00Z)``; its end is the "as of"
moment of the extract (returned as ``summary["as_of"]``). Facts that would happen after it are cut:
recent jobs stop mid-sequence, approvals are pending, batches are unreleased/unmailed, files wait.
Large tables are split into one file per UTC extract day (``YYYY-MM-DD.csv``); a record that changes
after the day it first appeared is re-sent, updated, in the later day's file (upsert by key).

Ids are a letter prefix plus a zero-padded number (``CL001``, ``J000123``, ``D000000042`` ...), so they
sort lexicographically in creation order. See ``ID_FORMATS``.

``extend_one_day(out_dir)`` appends the next extract day to such a folder (``billing-reports generate --out DIR
--extend-days N`` calls it N times): it reads the folder's state with DuckDB and writes one more
``<table>/<day>.csv`` per table with the day's new uploads, jobs, documents, ... (ids continuing after the
folder's) and the re-sent versions of the open records that progress that day.
"""

from __future__ import annotations

import random
import re
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

__all__ = ["generate", "extend_one_day", "TABLE_COLUMNS", "TABLE_KEYS", "CHANNELS", "STATUS_CODES", "ID_FORMATS"]

# --------------------------------------------------------------------------------------------------
# Contract
# --------------------------------------------------------------------------------------------------

TABLE_COLUMNS: dict[str, list[str]] = {
    "clients": ["client_id", "client_name", "timezone", "invoices_by_branch"],
    "contacts": ["contact_id", "client_id", "full_name", "email", "role", "valid_from", "valid_to"],
    "branches": ["client_id", "branch_code", "branch_name", "country"],
    "customers": ["client_id", "customer_account_id", "customer_name", "branch_code"],
    "customer_routing": [
        "routing_id",
        "client_id",
        "customer_account_id",
        "delivery_channel",
        "destination",
        "pull_class",
        "routing_source",
        "valid_from",
        "valid_to",
    ],
    "processing_rules": ["rule_id", "client_id", "rule_type", "rule_value", "valid_from", "valid_to"],
    "processing_rule_changes": [
        "change_id",
        "client_id",
        "rule_id",
        "requested_by_contact_id",
        "requested_at",
        "applied_at",
        "summary",
    ],
    "file_uploads": [
        "file_id",
        "client_id",
        "file_name",
        "uploaded_at",
        "size_bytes",
        "picked_up_at",
        "job_id",
    ],
    "jobs": [
        "job_id",
        "client_id",
        "job_name",
        "created_at",
        "ops_approval_required",
        "customer_approval_required",
    ],
    "job_status_events": ["event_id", "job_id", "status_code", "event_at", "status_date"],
    "job_approvals": [
        "approval_id",
        "job_id",
        "approval_stage",
        "requested_at",
        "decided_at",
        "decision",
        "decided_by",
    ],
    "batches": [
        "batch_id",
        "job_id",
        "batch_type",
        "print_facility",
        "released_at",
        "scheduled_send_date",
        "completed_at",
        "post_office_due_date",
        "mailed_at",
        "mail_class",
        "piece_count",
        "sheet_count",
        "postage_amount",
        "postage_currency",
    ],
    "documents": [
        "document_id",
        "client_id",
        "job_id",
        "batch_id",
        "customer_account_id",
        "branch_code",
        "document_type",
        "document_number",
        "document_date",
        "amount_due",
        "currency",
        "delivery_channel",
        "pull_class",
        "page_count",
    ],
    "document_pulls": ["pull_id", "job_id", "document_id", "pulled_at", "pulled_by"],
    "deliveries": ["delivery_id", "document_id", "delivery_channel", "attempted_at", "sent_at", "outcome"],
    "fees": [
        "fee_id",
        "client_id",
        "job_id",
        "batch_id",
        "document_id",
        "branch_code",
        "fee_type",
        "quantity",
        "unit_price",
        "amount",
        "currency",
        "fee_date",
        "print_facility",
    ],
}

STATUS_CODES = [
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

# channel code (0-based) -> name; 0 = print, 1..7 = electronic, 8 = pull
CHANNELS = ["us_mail", "email", "einvoice_connect", "invoice_central", "fax", "sml", "ftp", "csv", "pull"]

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

# (timezone, country, standard UTC offset in minutes); the first clients take them in this order
_ZONES = [
    ("America/New_York", "US", -300),
    ("America/Toronto", "CA", -300),
    ("America/Chicago", "US", -360),
    ("America/Los_Angeles", "US", -480),
    ("America/Vancouver", "CA", -480),
    ("America/Denver", "US", -420),
    ("America/Halifax", "CA", -240),
]
_US_NAMES = [
    "Northwind Industrial Supply",
    "Great Lakes Plumbing Distributors",
    "Pacific Crest Foods",
    "Summit Electrical Wholesale",
    "Lone Star Building Products",
    "Blue Ridge Medical Supply",
    "Keystone Auto Parts",
    "Cascade Office Solutions",
    "Heartland Farm Equipment",
    "Riverbend Janitorial Supply",
    "Golden Gate Beverage Co.",
    "Iron Range Fasteners",
]
_CA_NAMES = [
    "Maple Leaf Distribution Ltd.",
    "Laurentian Paper & Packaging",
    "Fraser Valley Produce Co.",
    "Bluenose Marine Supply",
    "Prairie Steel Inc.",
    "Georgian Bay Hardware",
]
_US_CITIES = [
    ("NYC", "New York"),
    ("BOS", "Boston"),
    ("PHL", "Philadelphia"),
    ("ATL", "Atlanta"),
    ("CHI", "Chicago"),
    ("DAL", "Dallas"),
    ("HOU", "Houston"),
    ("DEN", "Denver"),
    ("PHX", "Phoenix"),
    ("SEA", "Seattle"),
    ("MIA", "Miami"),
    ("DET", "Detroit"),
    ("MSP", "Minneapolis"),
    ("STL", "St. Louis"),
]
_CA_CITIES = [
    ("TOR", "Toronto"),
    ("MTL", "Montreal"),
    ("VAN", "Vancouver"),
    ("CGY", "Calgary"),
    ("EDM", "Edmonton"),
    ("OTT", "Ottawa"),
    ("WPG", "Winnipeg"),
    ("HFX", "Halifax"),
    ("QUE", "Quebec City"),
    ("REG", "Regina"),
]
_US_AREA = ["212", "312", "404", "415", "469", "617", "713", "720", "206", "305", "614", "503"]
_CA_AREA = ["416", "514", "604", "403", "780", "613", "204", "902"]
_FIRST = [
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "Daniel",
    "Susan",
    "Kevin",
    "Karen",
    "Brian",
    "Nancy",
    "Jason",
    "Lisa",
    "Ryan",
    "Sandra",
    "Eric",
    "Ashley",
    "Priya",
    "Wei",
    "Sofia",
    "Liam",
    "Chloe",
    "Mathieu",
    "Amelie",
    "Omar",
    "Fatima",
    "Hiroshi",
]
_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Tremblay",
    "Gagnon",
    "Roy",
    "Cote",
    "Bouchard",
    "Patel",
    "Nguyen",
    "Chen",
    "O'Brien",
    "MacDonald",
]
_OPS_STAFF = ["Dana Whitfield", "Marcus Reyes", "Elena Petrova", "Tom Okafor", "Grace Lindqvist", "Sam Ito"]

_CUST_A = [
    "Acme",
    "Apex",
    "Atlas",
    "Beacon",
    "Blue Ridge",
    "Cedar",
    "Central",
    "Coastal",
    "Crown",
    "Delta",
    "Eagle",
    "Evergreen",
    "First",
    "Frontier",
    "Golden",
    "Granite",
    "Harbor",
    "Highland",
    "Liberty",
    "Lakeside",
    "Maple",
    "Metro",
    "Midwest",
    "Northern",
    "Oak",
    "Pacific",
    "Pioneer",
    "Prairie",
    "Premier",
    "Red River",
    "Riverside",
    "Rocky",
    "Silver",
    "Southern",
    "Summit",
    "Sunrise",
    "Trinity",
    "Valley",
    "Western",
    "Willow",
]
_CUST_B = [
    "Auto",
    "Bakery",
    "Builders",
    "Cafe",
    "Construction",
    "Dental",
    "Electric",
    "Farms",
    "Fitness",
    "Foods",
    "Hardware",
    "Heating & Cooling",
    "Hotel",
    "Landscaping",
    "Logistics",
    "Lumber",
    "Machining",
    "Marine",
    "Medical",
    "Motors",
    "Paving",
    "Pharmacy",
    "Plumbing",
    "Printing",
    "Properties",
    "Restaurant",
    "Roofing",
    "Supply",
    "Tire",
    "Transport",
    "Veterinary",
    "Welding",
]
_CUST_S = ["Inc.", "LLC", "Co.", "Ltd.", "Group", "& Sons", "Corp.", "Services", "", "", "", ""]


def _sql_str(s: str | None) -> str:
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join(_sql_str(x) for x in items) + "]"


def _sql_ts(t: datetime | None) -> str:
    return "NULL" if t is None else f"TIMESTAMP '{t:%Y-%m-%d %H:%M:%S}'"


def _purpose(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


class _Rand:
    """SQL snippets for deterministic pseudo-random values keyed by row ids."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def u(self, purpose: str, *keys: str) -> str:
        """Uniform [0, 1) from hash(keys, seed, purpose)."""
        args = ", ".join(keys)
        # DuckDB's multi-argument hash combines weakly (neighbouring keys share high bits): re-hash it
        return (
            f"((hash(hash({args}, {self.seed}::BIGINT, {_purpose(purpose)}::BIGINT)) >> 11)::DOUBLE"
            " / 9007199254740992.0)"
        )

    def z(self, purpose: str, *keys: str) -> str:
        """Standard normal (Box-Muller)."""
        return (
            f"(sqrt(-2.0 * ln(1.0 - {self.u(purpose + '#1', *keys)}))"
            f" * cos(2.0 * pi() * {self.u(purpose + '#2', *keys)}))"
        )

    def pick(self, items_sql: str, n: int, purpose: str, *keys: str) -> str:
        return f"{items_sql}[1 + CAST(floor({self.u(purpose, *keys)} * {n}) AS INTEGER)]"


# --------------------------------------------------------------------------------------------------
# Per-client configuration (a handful of rows per client)
# --------------------------------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())[:14]


def _dst_bounds(year: int) -> tuple[datetime, datetime]:
    """North-American DST, in local wall time: 2nd Sunday of March 02:00 to 1st Sunday of Nov 01:00."""
    m1 = date(year, 3, 1)
    second_sun = m1 + timedelta(days=(6 - m1.weekday()) % 7 + 7)
    n1 = date(year, 11, 1)
    first_sun = n1 + timedelta(days=(6 - n1.weekday()) % 7)
    return (
        datetime.combine(second_sun, datetime.min.time()) + timedelta(hours=2),
        datetime.combine(first_sun, datetime.min.time()) + timedelta(hours=1),
    )


def _build_config(n: int, days: int, seed: int, start: datetime, n_docs: int) -> dict:
    rng = random.Random(f"billing-config:{seed}")
    end = start + timedelta(days=days)

    def pick_client(pref: int) -> int:
        return pref if pref < n else pref % n

    def at_frac(frac: float, hour: int = 14) -> datetime:
        """A moment inside the period (fraction of it), at a fixed hour UTC; never past its end."""
        d = start + timedelta(days=int(days * frac))
        t = d + timedelta(hours=hour)
        return t if t < end - timedelta(hours=2) else end - timedelta(hours=6)

    def past(lo_days: int, hi_days: int) -> datetime:
        return (
            start
            - timedelta(days=rng.randint(lo_days, hi_days))
            + timedelta(hours=rng.randint(13, 21), minutes=rng.randint(0, 59))
        )

    us_names = _US_NAMES[:]
    ca_names = _CA_NAMES[:]
    rng.shuffle(us_names)
    rng.shuffle(ca_names)
    clients: list[dict] = []
    for i in range(n):
        tz, country, std = _ZONES[i] if i < len(_ZONES) else rng.choice(_ZONES)
        names = ca_names if country == "CA" else us_names
        k = sum(1 for c in clients if c["country"] == country)
        name = names[k % len(names)] + ("" if k < len(names) else f" {k // len(names) + 1}")
        by_branch = i in (0, 1, 3) or (i >= 7 and rng.random() < 0.3)
        cities = _CA_CITIES if country == "CA" else _US_CITIES
        nb = (8 if i == 0 else rng.randint(2, 8)) if by_branch else 0
        branches = sorted(rng.sample(cities, nb))
        clients.append(
            {
                "idx": i,
                "client_id": f"CL{i + 1:03d}",
                "name": name,
                "tz": tz,
                "country": country,
                "std": std,
                "by_branch": by_branch,
                "branches": branches,
                "slug": _slug(name),
                "short": "".join(w[0] for w in re.findall(r"[A-Za-z]+", name))[:4].upper(),
                "area": _CA_AREA if country == "CA" else _US_AREA,
            }
        )
    # size skew: one big client holds ~45% of the documents
    raw = [rng.uniform(0.25, 1.0) for _ in range(n)]
    if n == 1:
        weights = [1.0]
    else:
        rest = sum(raw[1:])
        weights = [0.45] + [0.55 * r / rest for r in raw[1:]]
    for c, w in zip(clients, weights, strict=True):
        c["weight"] = w

    # ---- contacts -------------------------------------------------------------------------------
    contacts: list[dict] = []
    used_names: set[str] = set()

    def person() -> tuple[str, str]:
        for _ in range(200):
            f, last = rng.choice(_FIRST), rng.choice(_LAST)
            if f"{f} {last}" not in used_names:
                break
        used_names.add(f"{f} {last}")
        return f, last

    def add_contact(c: dict, role: str, vf: datetime, vt: datetime | None = None) -> dict:
        f, last = person()
        local = re.sub(r"[^a-z]", "", f.lower()) + "." + re.sub(r"[^a-z]", "", last.lower())
        row = {
            "client": c["idx"],
            "name": f"{f} {last}",
            "email": f"{local}@{c['slug']}.example.com",
            "role": role,
            "vf": vf,
            "vt": vt,
        }
        contacts.append(row)
        return row

    for c in clients:
        i = c["idx"]
        if i % 2 == 0:
            vt = at_frac(0.27, 15) if i == pick_client(2) else past(10, 90)
            c["former_primary"] = add_contact(c, "primary_support", past(500, 1500), vt)
            add_contact(c, "primary_support", vt)
        else:
            add_contact(c, "primary_support", past(100, 1200))
        for _ in range(1 + i % 2):
            add_contact(c, "support", past(30, 900))
        if i % 3 == 1:
            vt = past(20, 200)
            add_contact(c, "billing", past(300, 1500), vt)
            add_contact(c, "billing", vt)
        else:
            add_contact(c, "billing", past(60, 1000))
        for _ in range(rng.randint(0, 2)):
            add_contact(c, "viewer", past(10, 700))
        if i % 4 == 3:
            add_contact(c, "viewer", past(200, 400), at_frac(0.5, 16))
    contacts.sort(key=lambda r: (r["vf"], r["client"], r["name"]))
    for k, r in enumerate(contacts, 1):
        r["id"] = f"CT{k:04d}"
    for c in clients:
        mine = [r for r in contacts if r["client"] == c["idx"]]
        steady = [
            r["name"]
            for r in mine
            if r["role"] in ("primary_support", "billing", "support") and r["vf"] <= start and r["vt"] is None
        ]
        c["approvers"] = steady or [r["name"] for r in mine]

    def contact_at(ci: int, roles: tuple[str, ...], t: datetime, valid: bool = True) -> dict | None:
        for r in contacts:
            if r["client"] == ci and r["role"] in roles:
                ok = r["vf"] <= t and (r["vt"] is None or t < r["vt"])
                if ok == valid:
                    return r
        return None

    # ---- processing rules -----------------------------------------------------------------------
    rules: list[dict] = []

    def add_rule(ci: int, typ: str, val: str, vf: datetime, vt: datetime | None = None) -> dict | None:
        if any(r["client"] == ci and r["type"] == typ for r in rules):
            return None
        r = {"client": ci, "type": typ, "value": val, "vf": vf, "vt": vt}
        rules.append(r)
        return r

    add_rule(pick_client(2), "ops_approval", "true", past(380, 420))
    add_rule(pick_client(1), "customer_approval", "true", past(280, 320))
    cust_removed = add_rule(pick_client(4), "customer_approval", "true", past(230, 260), at_frac(0.3, 19))
    timed_old = add_rule(pick_client(2), "timed_start", "06:00", past(480, 520), at_frac(0.4, 19))
    timed_new = None
    if timed_old is not None:
        timed_new = {
            "client": timed_old["client"],
            "type": "timed_start",
            "value": "05:30",
            "vf": timed_old["vt"],
            "vt": None,
        }
        rules.append(timed_new)
    add_rule(pick_client(4), "timed_start", "21:30", past(90, 110))
    add_rule(pick_client(3), "delay_electronic", "2", past(170, 190))
    add_rule(pick_client(5), "delay_electronic", "1", past(50, 70))
    for c in clients[7:]:
        x = rng.random()
        if x < 0.25:
            add_rule(c["idx"], "ops_approval", "true", past(30, 600))
        elif x < 0.5:
            add_rule(c["idx"], "customer_approval", "true", past(30, 600))
        elif x < 0.7:
            add_rule(c["idx"], "timed_start", rng.choice(["06:00", "07:30", "21:30", "22:00"]), past(30, 600))
        elif x < 0.9:
            add_rule(c["idx"], "delay_electronic", rng.choice(["1", "2", "3"]), past(30, 600))
    rules.sort(key=lambda r: (r["vf"], r["client"], r["type"]))
    for k, r in enumerate(rules, 1):
        r["id"] = f"PR{k:03d}"

    # ---- processing-rule change requests ------------------------------------------------------
    def summary_for(r: dict) -> str:
        return {
            "timed_start": f"Set timed start to {r['value']} local",
            "ops_approval": "Require ops approval before printing",
            "customer_approval": "Require customer approval in Client Connect",
            "delay_electronic": f"Delay electronic delivery by {r['value']} day(s)",
        }[r["type"]]

    changes: list[dict] = []
    any_contact = {c["idx"]: next(r for r in contacts if r["client"] == c["idx"]) for c in clients}
    for r in rules:
        if r["vf"] >= start - timedelta(days=120):
            req = r["vf"] - timedelta(hours=rng.randint(3, 70), minutes=rng.randint(0, 59))
            who = contact_at(r["client"], ("primary_support",), req) or any_contact[r["client"]]
            changes.append(
                {"client": r["client"], "rule": r, "by": who, "req": req, "applied": r["vf"], "summary": summary_for(r)}
            )
    if cust_removed is not None:  # removal requested by a plain support contact: unauthorized, applied
        req = cust_removed["vt"] - timedelta(hours=26, minutes=12)
        who = contact_at(cust_removed["client"], ("support",), req) or any_contact[cust_removed["client"]]
        changes.append(
            {
                "client": cust_removed["client"],
                "rule": cust_removed,
                "by": who,
                "req": req,
                "applied": cust_removed["vt"],
                "summary": "Remove customer approval requirement",
            }
        )
    c2 = clients[pick_client(2)]
    if "former_primary" in c2 and c2["former_primary"]["vt"] < end - timedelta(days=1):
        target = timed_new or next((r for r in rules if r["client"] == c2["idx"]), None)
        if target is not None:  # requested by a primary-support contact whose role had ended
            req = min(c2["former_primary"]["vt"] + timedelta(days=3, hours=2), end - timedelta(hours=12))
            changes.append(
                {
                    "client": c2["idx"],
                    "rule": target,
                    "by": c2["former_primary"],
                    "req": req,
                    "applied": None,
                    "summary": "Move timed start to 07:00 local",
                }
            )
    delay_rule = next((r for r in rules if r["client"] == pick_client(3) and r["type"] == "delay_electronic"), None)
    if delay_rule is not None:  # requested by a billing contact: unauthorized, not applied
        req = at_frac(0.55, 15)
        who = contact_at(delay_rule["client"], ("billing",), req) or any_contact[delay_rule["client"]]
        changes.append(
            {
                "client": delay_rule["client"],
                "rule": delay_rule,
                "by": who,
                "req": req,
                "applied": None,
                "summary": "Change electronic delay to 5 days",
            }
        )
    cust_rule = next((r for r in rules if r["client"] == pick_client(1) and r["type"] == "customer_approval"), None)
    if cust_rule is not None:  # authorized, still pending
        req = end - timedelta(hours=20, minutes=17)
        who = contact_at(cust_rule["client"], ("primary_support",), req) or any_contact[cust_rule["client"]]
        changes.append(
            {
                "client": cust_rule["client"],
                "rule": cust_rule,
                "by": who,
                "req": req,
                "applied": None,
                "summary": "Turn off customer approval for statement runs",
            }
        )
    if rules and not any(ch["by"]["role"] != "primary_support" or ch["applied"] is None for ch in changes):
        r = rules[0]
        who = contact_at(r["client"], ("viewer", "support", "billing"), at_frac(0.5)) or any_contact[r["client"]]
        changes.append(
            {
                "client": r["client"],
                "rule": r,
                "by": who,
                "req": at_frac(0.5),
                "applied": None,
                "summary": "Please review this rule",
            }
        )
    changes.sort(key=lambda ch: (ch["req"], ch["client"]))
    for k, ch in enumerate(changes, 1):
        ch["id"] = f"RC{k:04d}"

    # ---- job volume ------------------------------------------------------------------------------
    day_list = [start.date() + timedelta(days=d) for d in range(days)]
    n_bus = sum(1 for d in day_list if d.weekday() < 5)
    eff_days = max(0.5, n_bus + 0.15 * (days - n_bus))
    j_target = max(4 * n, min(n_docs // 60, n * days * 4))
    j_target = max(1, min(j_target, n_docs))
    rw = [c["weight"] ** 0.5 for c in clients]
    for c, r in zip(clients, rw, strict=True):
        c["rate"] = max(4.0 / eff_days, j_target * r / sum(rw) / eff_days)
    max_slots = max(4, int(max(c["rate"] for c in clients) * 2) + 2)
    force_day = next((d for d in range(1, days) if day_list[d].weekday() < 5), 0)
    n_cust_total = max(5 * n, n_docs // 8)
    off = 0
    for c in clients:
        c["n_cust"] = max(5, round(n_cust_total * c["weight"]))
        c["cust_start"] = off
        off += c["n_cust"]
        c["force_day"] = force_day

    # file uploads never picked up (as of the end): overdue ones and fresh ones still waiting
    stuck = [
        (pick_client(0), end - timedelta(hours=27, minutes=14)),
        (pick_client(3), end - timedelta(hours=5, minutes=8)),
        (pick_client(0), end - timedelta(minutes=6)),
        (pick_client(5), end - timedelta(minutes=11)),
    ]
    return {
        "clients": clients,
        "contacts": contacts,
        "rules": rules,
        "changes": changes,
        "end": end,
        "days": day_list,
        "max_slots": max_slots,
        "stuck": stuck,
    }


def _macro_sql(years) -> list[str]:
    """Time-zone and formatting macros shared by the generator and the one-day extension.

    DST is never active around New Year, so the years of the period are enough. Macros are textual:
    keep the number of references to an argument small, and never nest the time-zone macros on
    unmaterialized expressions (the expression tree would grow exponentially).
    """
    cases = " OR ".join(f"(lts >= {_sql_ts(a)} AND lts < {_sql_ts(b)})" for y in years for a, b in [_dst_bounds(y)])
    ch = _sql_list(CHANNELS)
    return [
        "CREATE MACRO secs(x) AS to_seconds(CAST(x AS BIGINT))",
        "CREATE MACRO mins(x) AS to_minutes(CAST(x AS BIGINT))",
        f"CREATE MACRO is_dst(lts) AS ({cases})",
        "CREATE MACRO to_local(ts, std) AS ts + mins(std + CASE WHEN is_dst(ts + mins(std)) THEN 60 ELSE 0 END)",
        "CREATE MACRO to_utc(lts, std) AS lts - mins(std + CASE WHEN is_dst(lts) THEN 60 ELSE 0 END)",
        "CREATE MACRO local_date(ts, std) AS CAST(to_local(ts, std) AS DATE)",
        "CREATE MACRO biz_start(lts) AS CASE WHEN hour(lts) < 8 THEN date_trunc('day', lts) + INTERVAL 8 HOUR"
        " WHEN hour(lts) >= 18 THEN date_trunc('day', lts) + INTERVAL 32 HOUR ELSE lts END",
        "CREATE MACRO skip_wkend(lts) AS CASE dayofweek(lts) WHEN 6 THEN date_trunc('day', lts) + INTERVAL 56 HOUR"
        " WHEN 0 THEN date_trunc('day', lts) + INTERVAL 32 HOUR ELSE lts END",
        "CREATE MACRO biz_after(ts, std, delay) AS to_utc(skip_wkend(biz_start(to_local(ts, std))) + secs(delay), std)",
        "CREATE MACRO fts(ts) AS strftime(ts, '%Y-%m-%dT%H:%M:%SZ')",
        "CREATE MACRO chan_pick(x) AS CASE WHEN x < 0.45 THEN 0 WHEN x < 0.75 THEN 1 WHEN x < 0.81 THEN 2"
        " WHEN x < 0.86 THEN 3 WHEN x < 0.90 THEN 4 WHEN x < 0.92 THEN 5 WHEN x < 0.94 THEN 6"
        " WHEN x < 0.96 THEN 7 ELSE 8 END",
        f"CREATE MACRO chan_name(c) AS {ch}[c + 1]",
        "CREATE MACRO vday_of(ts) AS CAST(ts AS DATE)",
    ]


# --------------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------------


def generate(
    out_dir: str | Path,
    documents: int = 20000,
    clients: int = 6,
    days: int = 30,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
    start_date: str = "2026-10-01",
) -> dict:
    """Write a landing folder ``<out_dir>/<table>/<extract-day>.csv`` and return a summary.

    The summary holds ``tables`` ({table: {rows, keys, files, bytes}}), ``rows`` ({table: rows}),
    ``files``, ``bytes``, ``seconds``, ``as_of`` (end of the period, ISO 8601 Z), ``start_date``,
    ``end_date`` (last day of the period), ``seed`` and ``documents``.
    """
    t0 = time.time()
    if documents < 1 or clients < 1 or days < 1:
        raise ValueError("documents, clients and days must be >= 1")
    say = progress or (lambda _msg: None)

    def step(msg: str) -> None:
        say(f"[{time.time() - t0:7.1f}s] {msg}")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = datetime.combine(date.fromisoformat(start_date), datetime.min.time())
    cfg = _build_config(clients, days, seed, start, documents)
    end: datetime = cfg["end"]
    tmp = tempfile.mkdtemp(prefix="billing_gen_")
    # a scratch database file (compressed, evictable storage) keeps memory modest at 10M documents
    con = duckdb.connect(str(Path(tmp) / "scratch.duckdb"))
    try:
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET temp_directory = '{tmp}'")
        con.execute("SET memory_limit = '4GB'")
        g = _Gen(con, cfg, documents, seed, start, end, step)
        g.build()
        tables = g.write(out)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    secs = round(time.time() - t0, 2)
    summary = {
        "out_dir": str(out),
        "seed": seed,
        "documents": documents,
        "clients": clients,
        "days": days,
        "start_date": start.date().isoformat(),
        "end_date": (end - timedelta(days=1)).date().isoformat(),
        "as_of": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tables": tables,
        "rows": {t: v["rows"] for t, v in tables.items()},
        "files": sum(v["files"] for v in tables.values()),
        "bytes": sum(v["bytes"] for v in tables.values()),
        "seconds": secs,
    }
    step(f"done: {summary['files']} files, {summary['bytes'] / 1e6:,.1f} MB, {documents:,} documents in {secs:.1f}s")
    return summary


#: A new job's flags from its client's rules valid when it is created (upload ``u``, table ``rules``);
#: shared by ``generate`` and ``extend_one_day`` so both apply the rules the same way.
_JOB_RULE_FLAGS = """
    EXISTS (SELECT 1 FROM rules r WHERE r.client_idx = u.client_idx AND r.rule_type = 'ops_approval'
            AND r.valid_from <= u.job_at AND (r.valid_to IS NULL OR u.job_at < r.valid_to)) AS ops,
    EXISTS (SELECT 1 FROM rules r WHERE r.client_idx = u.client_idx AND r.rule_type = 'customer_approval'
            AND r.valid_from <= u.job_at AND (r.valid_to IS NULL OR u.job_at < r.valid_to)) AS cust,
    (SELECT max(CAST(r.rule_value AS INTEGER)) FROM rules r WHERE r.client_idx = u.client_idx
            AND r.rule_type = 'delay_electronic' AND r.valid_from <= u.job_at
            AND (r.valid_to IS NULL OR u.job_at < r.valid_to)) AS delay_days"""


class _SqlSteps:
    """What the generator and the one-more-day extension share: SQL on one connection, and ids."""

    con: duckdb.DuckDBPyConnection
    w: dict[str, int]

    def x(self, sql: str) -> None:
        self.con.execute(sql)

    def one(self, sql: str):
        return self.con.execute(sql).fetchone()[0]

    def count(self, table: str) -> int:
        return self.one(f"SELECT count(*) FROM {table}")

    def fid(self, kind: str, expr: str) -> str:
        prefix, _ = ID_FORMATS[kind]
        return f"('{prefix}' || lpad(CAST({expr} AS VARCHAR), {self.w[kind]}, '0'))"


class _Gen(_SqlSteps):
    def __init__(self, con, cfg, n_docs, seed, start, end, step):
        self.con = con
        self.cfg = cfg
        self.D = int(n_docs)
        self.r = _Rand(seed)
        self.start = start
        self.end = end
        self.step = step
        self.NOW = _sql_ts(end)
        self.START = _sql_ts(start)
        self.w: dict[str, int] = {}

    def drop(self, *tables: str) -> None:
        for t in tables:
            self.x(f"DROP TABLE IF EXISTS {t}")

    def width(self, kind: str, max_value: int) -> None:
        self.w[kind] = max(ID_FORMATS[kind][1], len(str(max(int(max_value or 0), 0))))

    # -- build -----------------------------------------------------------------------------------------
    def build(self) -> None:
        self.macros()
        self.config_tables()
        self.customers()
        self.uploads_and_jobs()
        self.documents()
        self.batches_and_timeline()
        self.deliveries()
        self.fees()
        self.drop("up0", "jt1", "jt", "jt2", "jagg", "bagg", "ddoc", "fe0")
        self.widths()
        self.views()
        self.drop("rt", "dl")

    def macros(self) -> None:
        for m in _macro_sql(range(self.start.year, self.end.year + 1)):
            self.x(m)

    def config_tables(self) -> None:
        cfg = self.cfg
        cl = cfg["clients"]
        self.x("""CREATE TABLE cl (client_idx INTEGER, client_id VARCHAR, client_name VARCHAR, timezone VARCHAR,
            std_off INTEGER, country VARCHAR, by_branch BOOLEAN, weight DOUBLE, rate DOUBLE, n_cust BIGINT,
            cust_start BIGINT, n_branches INTEGER, approvers VARCHAR[], short VARCHAR, slug VARCHAR,
            area VARCHAR[], force_day INTEGER)""")
        for c in cl:
            self.con.execute(
                "INSERT INTO cl VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    c["idx"],
                    c["client_id"],
                    c["name"],
                    c["tz"],
                    c["std"],
                    c["country"],
                    c["by_branch"],
                    c["weight"],
                    c["rate"],
                    c["n_cust"],
                    c["cust_start"],
                    len(c["branches"]),
                    c["approvers"],
                    c["short"],
                    c["slug"],
                    c["area"],
                    c["force_day"],
                ],
            )
        self.x("CREATE TABLE clbr (client_idx INTEGER, bi INTEGER, branch_code VARCHAR, branch_name VARCHAR)")
        for c in cl:
            for bi, (code, city) in enumerate(c["branches"]):
                self.con.execute("INSERT INTO clbr VALUES (?,?,?,?)", [c["idx"], bi, code, city])
        self.x("CREATE TABLE days (di INTEGER, day DATE)")
        for di, d in enumerate(cfg["days"]):
            self.con.execute("INSERT INTO days VALUES (?,?)", [di, d])
        self.x("""CREATE TABLE contacts (contact_id VARCHAR, client_idx INTEGER, full_name VARCHAR, email VARCHAR,
            role VARCHAR, valid_from TIMESTAMP, valid_to TIMESTAMP)""")
        for r in cfg["contacts"]:
            self.con.execute(
                "INSERT INTO contacts VALUES (?,?,?,?,?,?,?)",
                [r["id"], r["client"], r["name"], r["email"], r["role"], r["vf"], r["vt"]],
            )
        self.x("""CREATE TABLE rules (rule_id VARCHAR, client_idx INTEGER, rule_type VARCHAR, rule_value VARCHAR,
            valid_from TIMESTAMP, valid_to TIMESTAMP)""")
        for r in cfg["rules"]:
            self.con.execute(
                "INSERT INTO rules VALUES (?,?,?,?,?,?)",
                [r["id"], r["client"], r["type"], r["value"], r["vf"], r["vt"]],
            )
        self.x("""CREATE TABLE changes (change_id VARCHAR, client_idx INTEGER, rule_id VARCHAR, contact_id VARCHAR,
            requested_at TIMESTAMP, applied_at TIMESTAMP, summary VARCHAR)""")
        for ch in cfg["changes"]:
            self.con.execute(
                "INSERT INTO changes VALUES (?,?,?,?,?,?,?)",
                [ch["id"], ch["client"], ch["rule"]["id"], ch["by"]["id"], ch["req"], ch["applied"], ch["summary"]],
            )
        self.x("CREATE TABLE stuck (j INTEGER, client_idx INTEGER, uploaded_at TIMESTAMP)")
        for j, (ci, t) in enumerate(cfg["stuck"]):
            self.con.execute("INSERT INTO stuck VALUES (?,?,?)", [j, ci, t])
        # constant lookups usable without joins
        self.client_ids = _sql_list([c["client_id"] for c in cl])
        self.client_cur = _sql_list(["CAD" if c["country"] == "CA" else "USD" for c in cl])
        self.step(
            f"config: {len(cl)} clients, {len(cfg['contacts'])} contacts, {len(cfg['rules'])} rules, "
            f"{len(cfg['changes'])} rule changes"
        )

    def customers(self) -> None:
        r = self.r
        self.width("customer", max(c["n_cust"] for c in self.cfg["clients"]))
        a, b, s = _sql_list(_CUST_A), _sql_list(_CUST_B), _sql_list(_CUST_S)
        last = _sql_list([x for x in _LAST])
        days = len(self.cfg["days"])
        self.x(f"""
        CREATE TABLE cust AS
        WITH g AS (
            SELECT client_idx, cust_start, n_cust, by_branch, n_branches, country,
                   unnest(range(n_cust)) AS acct_idx
            FROM cl
        ), h AS (
            SELECT *, cust_start + acct_idx AS gc FROM g
        ), k AS (
            SELECT h.*,
              CASE WHEN {r.u("cn0", "gc")} < 0.03
                   THEN {r.pick(last, len(_LAST), "cn1", "gc")} || ', ' || {r.pick(last, len(_LAST), "cn2", "gc")}
                        || ' & Co.'
                   WHEN {r.u("cn0", "gc")} < 0.0305 THEN 'Joe''s "Original" Pizza'
                   ELSE {r.pick(a, len(_CUST_A), "cn3", "gc")} || ' ' || {r.pick(b, len(_CUST_B), "cn4", "gc")}
                        || CASE WHEN {r.u("cn5", "gc")} < 0.1
                                THEN ' #' || CAST(2 + floor({r.u("cn6", "gc")} * 80) AS INTEGER) ELSE '' END
                        || CASE WHEN country = 'CA' AND {r.u("cn7", "gc")} < 0.5 THEN ' Ltd.'
                                ELSE rtrim(' ' || {r.pick(s, len(_CUST_S), "cn8", "gc")}) END
              END AS customer_name,
              CASE WHEN by_branch AND {r.u("cbr0", "gc")} < 0.85
                   THEN CAST(floor(n_branches * pow({r.u("cbr1", "gc")}, 1.6)) AS INTEGER) END AS br_idx,
              {self.START} - secs(86400 * (30 + {r.u("since", "gc")} * 1470)) AS since,
              CASE WHEN {r.u("nr", "gc")} < 0.08 THEN 3 WHEN {r.u("nr", "gc")} < 0.30 THEN 2 ELSE 1 END AS nr0,
              chan_pick({r.u("ch1", "gc")}) AS ch1,
              CASE WHEN {r.u("pc", "gc")} < 0.5 THEN 'A' WHEN {r.u("pc", "gc")} < 0.8 THEN 'B' ELSE 'C' END AS pc
            FROM h
        ), m AS (
            SELECT k.*,
              CASE WHEN nr0 >= 2 THEN greatest(since + INTERVAL 1 DAY,
                   {self.START} - INTERVAL 75 DAY + secs(86400 * {days + 75} * {r.u("t1", "gc")})) END AS t1,
              CASE WHEN ch1 = 0 AND {r.u("ch2a", "gc")} < 0.7 THEN 1
                   WHEN ch1 <> 0 AND {r.u("ch2a", "gc")} < 0.35 THEN 0
                   ELSE chan_pick({r.u("ch2b", "gc")}) END AS ch2r
            FROM k
        ), n AS (
            SELECT m.*,
              CASE WHEN ch2r = ch1 THEN (CASE WHEN ch1 = 0 THEN 1 ELSE 0 END) ELSE ch2r END AS ch2,
              CASE WHEN nr0 = 3 AND epoch({self.NOW}) - epoch(t1) > 7200
                   THEN t1 + secs(3600 + {r.u("t2", "gc")} * (epoch({self.NOW}) - epoch(t1) - 7200)) END AS t2
            FROM m
        )
        SELECT n.client_idx, n.gc, n.acct_idx, n.customer_name, b.branch_code, n.since, n.t1, n.t2, n.ch1,
               n.ch2,
               CASE WHEN n.t2 IS NULL THEN NULL
                    WHEN chan_pick({r.u("ch3", "gc")}) = n.ch2 THEN (CASE WHEN n.ch2 = 1 THEN 0 ELSE 1 END)
                    ELSE chan_pick({r.u("ch3", "gc")}) END AS ch3,
               n.pc
        FROM n LEFT JOIN clbr b ON b.client_idx = n.client_idx AND b.bi = n.br_idx
        """)
        self.x("""
        CREATE TABLE rt AS
        SELECT row_number() OVER (ORDER BY gc, k) AS routing_no, * FROM (
            SELECT gc, client_idx, acct_idx, customer_name, pc, 1 AS k, ch1 AS ch, since AS vf, t1 AS vt FROM cust
            UNION ALL
            SELECT gc, client_idx, acct_idx, customer_name, pc, 2, ch2, t1, t2 FROM cust WHERE t1 IS NOT NULL
            UNION ALL
            SELECT gc, client_idx, acct_idx, customer_name, pc, 3, ch3, t2, NULL FROM cust WHERE t2 IS NOT NULL
        )""")
        self.step(f"customers: {self.count('cust'):,} customers, {self.count('rt'):,} routing rows")

    def uploads_and_jobs(self) -> None:
        r, NOW = self.r, self.NOW
        ms = self.cfg["max_slots"]
        self.x(f"""
        CREATE TABLE up0 AS
        WITH s AS (
            SELECT c.client_idx, c.std_off, d.di, d.day, CAST(q.k AS INTEGER) AS k
            FROM cl c CROSS JOIN days d CROSS JOIN range({ms}) q(k)
            WHERE {r.u("slot", "c.client_idx", "d.di", "q.k")} * {ms}
                    < c.rate * CASE WHEN dayofweek(d.day) IN (0, 6) THEN 0.15 ELSE 1.0 END
               OR (q.k = 0 AND d.di = c.force_day)
        ), l AS (
            SELECT *,
              CAST(day AS TIMESTAMP) + secs(CASE
                  WHEN {r.u("ut1", "client_idx", "di", "k")} < 0.08 THEN {r.u("ut2", "client_idx", "di", "k")} * 21600
                  WHEN {r.u("ut1", "client_idx", "di", "k")} < 0.80
                       THEN 25200 + {r.u("ut2", "client_idx", "di", "k")} * 36000
                  ELSE 61200 + {r.u("ut2", "client_idx", "di", "k")} * 18000 END) AS up_local
            FROM s
        )
        SELECT client_idx, std_off, di, day, k, to_utc(up_local, std_off) AS uploaded_at, false AS stuck FROM l
        UNION ALL
        SELECT s.client_idx, c.std_off, -1, CAST(s.uploaded_at AS DATE), 1000 + s.j, s.uploaded_at, true
        FROM stuck s JOIN cl c USING (client_idx)
        """)
        self.x(f"""
        CREATE TABLE uploads AS
        WITH x AS MATERIALIZED (
            SELECT s.*, r.rule_value AS tstart,
                   to_local(s.uploaded_at, s.std_off) AS up_local
            FROM up0 s LEFT JOIN rules r
              ON r.client_idx = s.client_idx AND r.rule_type = 'timed_start'
             AND r.valid_from <= s.uploaded_at AND (r.valid_to IS NULL OR s.uploaded_at < r.valid_to)
        ), y AS MATERIALIZED (
            SELECT *, date_trunc('day', up_local)
                      + mins(CAST(split_part(tstart, ':', 1) AS INTEGER) * 60
                             + CAST(split_part(tstart, ':', 2) AS INTEGER)) AS tcand
            FROM x
        ), z AS (
            SELECT *,
              CASE WHEN stuck THEN NULL
                   WHEN tstart IS NOT NULL THEN to_utc(
                        CASE WHEN tcand >= up_local THEN tcand ELSE tcand + INTERVAL 1 DAY END
                        + secs(60 + {r.u("pk", "client_idx", "di", "k")} * 660), std_off)
                   ELSE uploaded_at + secs(CASE WHEN {r.u("pk0", "client_idx", "di", "k")} < 0.015
                                               THEN 960 + {r.u("pk", "client_idx", "di", "k")} * 1800
                                               ELSE 60 + {r.u("pk", "client_idx", "di", "k")} * 780 END)
              END AS pick_at
            FROM y
        )
        SELECT row_number() OVER (ORDER BY uploaded_at, client_idx, di, k) AS file_no,
               client_idx, std_off, di, k, stuck, uploaded_at, up_local, tstart IS NOT NULL AS timed, pick_at,
               pick_at + secs(5 + {r.u("jc", "client_idx", "di", "k")} * 40) AS job_at,
               CASE WHEN {r.u("kind", "client_idx", "di", "k")}
                         < CASE WHEN day(up_local) <= 2 THEN 0.35 ELSE 0.08 END
                    THEN 'statements' ELSE 'invoices' END AS kind
        FROM z
        """)
        n_up_jobs = self.one(f"SELECT count(*) FROM uploads WHERE NOT stuck AND job_at < {NOW}")
        if n_up_jobs > self.D:  # tiny runs: never more jobs than documents
            self.x(f"""DELETE FROM uploads WHERE file_no IN (
                SELECT file_no FROM uploads WHERE NOT stuck AND job_at < {NOW}
                ORDER BY {r.u("drop", "file_no")}, file_no LIMIT {n_up_jobs - self.D})""")
        D = self.D
        self.x(f"""
        CREATE TABLE jobs AS
        WITH a AS (
            SELECT u.file_no, u.client_idx, u.std_off, u.job_at AS created, u.kind, u.up_local,
                   c.weight, c.n_cust, c.cust_start, c.by_branch, c.n_branches, c.country, c.short,
                   {_JOB_RULE_FLAGS}
            FROM uploads u JOIN cl c USING (client_idx)
            WHERE NOT u.stuck AND u.job_at < {NOW}
        ), b AS (
            SELECT *, row_number() OVER (ORDER BY created, client_idx, file_no) AS job_idx,
                   count(*) OVER () AS nj,
                   greatest(1, CAST(1000000 * exp(1.3 * {r.z("jsize", "file_no")})
                     * CASE WHEN dayofweek(local_date(created, std_off)) IN (0, 6) THEN 0.3 ELSE 1.0 END
                     * CASE WHEN kind = 'statements' THEN 1.3 ELSE 1.0 END AS BIGINT)) AS jw
            FROM a
        ), c AS (
            -- integer arithmetic only: floating-point sums depend on the summation order (threads)
            SELECT *, CAST(CAST(round(weight * 1000000) AS BIGINT) AS HUGEINT) * jw * 1000000000
                      // sum(jw) OVER (PARTITION BY client_idx) AS score
            FROM b
        ), d AS (
            SELECT *, sum(score) OVER () AS total FROM c
        ), e AS (
            SELECT *, 1 + CAST(({D} - nj) * score // total AS BIGINT) AS base,
                   (({D} - nj) * score) % total AS frac
            FROM d
        ), f AS (
            SELECT *, {D} - sum(base) OVER () AS rem,
                   row_number() OVER (ORDER BY frac DESC, job_idx) AS fr
            FROM e
        ), g AS (
            SELECT *, base + CASE WHEN fr <= rem THEN 1 ELSE 0 END AS doc_count FROM f
        ), h AS (
            SELECT *, sum(doc_count) OVER (ORDER BY job_idx) - doc_count AS doc_offset,
                   greatest(1, CAST(ceil(doc_count * 0.5 / 5000) AS BIGINT)) AS npb
            FROM g
        ), i AS (
            SELECT *, sum(npb + 1) OVER (ORDER BY job_idx) - (npb + 1) AS b_off,
                   ops AND row_number() OVER (PARTITION BY client_idx, ops ORDER BY created DESC, job_idx DESC) = 1
                       AND created >= {NOW} - INTERVAL 7 DAY AS ops_stall,
                   cust AND row_number() OVER (PARTITION BY client_idx, cust ORDER BY created DESC, job_idx DESC) = 1
                       AND created >= {NOW} - INTERVAL 7 DAY AS cust_stall
            FROM h
        )
        SELECT job_idx, file_no, client_idx, std_off, created, CAST(created AS DATE) AS vday,
               local_date(created, std_off) AS local_day, kind, n_cust, cust_start, by_branch, n_branches,
               country, short, ops, cust, delay_days, doc_count, doc_offset, npb, b_off, ops_stall, cust_stall,
               row_number() OVER (PARTITION BY client_idx, local_date(created, std_off) ORDER BY job_idx)
                   AS day_seq
        FROM i
        """)
        got = self.one("SELECT sum(doc_count) FROM jobs")
        if got is None:
            raise ValueError("the period is too short: no job was created in it; use more days")
        if got != D:
            raise RuntimeError(f"document allocation failed: {got} != {D}")
        # approval part of the timeline (needed before documents: pulls happen during customer approval)
        u = lambda p: r.u(p, "job_idx")  # noqa: E731
        # one time-zone step per materialized stage (see macros())
        self.x(f"""
        CREATE TABLE jt1 AS
        SELECT j.*,
          created + secs(60 + {u("tpdf")} * 540 + doc_count * 0.01) AS t_pdf,
          t_pdf + secs(120 + {u("tready")} * 900 + doc_count * 0.03) AS t_ready,
          ops AND NOT ops_stall AND {u("opsrej")} < 0.06 AS ops_rej,
          cust AND NOT cust_stall AND {u("custrej")} < 0.06 AS cust_rej,
          CAST(NULL AS TIMESTAMP) AS ops_dec1, CAST(NULL AS TIMESTAMP) AS ops_req2,
          CAST(NULL AS TIMESTAMP) AS ops_dec2, CAST(NULL AS TIMESTAMP) AS ops_done,
          CAST(NULL AS TIMESTAMP) AS cust_req1, CAST(NULL AS TIMESTAMP) AS cust_dec1,
          CAST(NULL AS TIMESTAMP) AS cust_req2, CAST(NULL AS TIMESTAMP) AS cust_dec2,
          CAST(NULL AS TIMESTAMP) AS cust_done, CAST(NULL AS TIMESTAMP) AS release_at
        FROM jobs j
        """)
        for sets in [
            [
                f"ops_dec1 = CASE WHEN ops AND NOT ops_stall THEN biz_after(t_ready, std_off, 900 + {u('opsd')} * 12600) END"
            ],
            [f"ops_req2 = CASE WHEN ops_rej THEN ops_dec1 + secs(1800 + {u('opsr2')} * 5400) END"],
            [f"ops_dec2 = CASE WHEN ops_rej THEN biz_after(ops_req2, std_off, 600 + {u('opsd2')} * 4800) END"],
            ["ops_done = CASE WHEN NOT ops THEN t_ready WHEN ops_rej THEN ops_dec2 ELSE ops_dec1 END"],
            [f"cust_req1 = CASE WHEN cust THEN ops_done + secs(60 + {u('cr1')} * 180) END"],
            [
                f"cust_dec1 = CASE WHEN cust AND NOT cust_stall"
                f" THEN biz_after(cust_req1, std_off, 3600 + {u('cd1')} * 100800) END"
            ],
            [f"cust_req2 = CASE WHEN cust_rej THEN cust_dec1 + secs(3600 + {u('cr2')} * 14400) END"],
            [f"cust_dec2 = CASE WHEN cust_rej THEN biz_after(cust_req2, std_off, 1800 + {u('cd2')} * 28800) END"],
            ["cust_done = CASE WHEN NOT cust THEN ops_done WHEN cust_rej THEN cust_dec2 ELSE cust_dec1 END"],
            [f"release_at = cust_done + secs(180 + {u('rel')} * 1020)"],
        ]:
            self.x("UPDATE jt1 SET " + ", ".join(sets))
        self.step(f"file uploads: {self.count('uploads'):,}; jobs: {self.count('jobs'):,}")

    def documents(self) -> None:
        r, NOW = self.r, self.NOW
        d = "doc_id"
        self.x(f"""
        CREATE TABLE docs AS
        WITH g AS (
            SELECT job_idx, client_idx, doc_offset, doc_count, npb, b_off, created, vday, local_day, kind,
                   n_cust, cust_start, by_branch, n_branches, cust, cust_req1, cust_done,
                   unnest(range(doc_count)) AS seq
            FROM jt1
        ), h AS (
            SELECT *, doc_offset + seq + 1 AS doc_id FROM g
        ), i AS (
            SELECT *, cust_start + CAST(floor({r.u("dcust", d)} * n_cust) AS BIGINT) AS gc,
                   CASE WHEN by_branch AND {r.u("dbr0", d)} < 0.06
                        THEN CAST(floor({r.u("dbr1", d)} * n_branches) AS INTEGER) END AS br_idx
            FROM h
        ), k AS (
            SELECT i.*, c.acct_idx, c.branch_code AS cust_br, c.pc,
                   CASE WHEN c.t1 IS NULL OR i.created < c.t1 THEN c.ch1
                        WHEN c.t2 IS NULL OR i.created < c.t2 THEN c.ch2 ELSE c.ch3 END AS chan,
                   {r.u("dtype", d)} AS ut
            FROM i JOIN cust c ON c.gc = i.gc
        ), m AS (
            SELECT k.*,
              CAST(CASE WHEN kind = 'statements'
                        THEN (CASE WHEN ut < 0.90 THEN 1 WHEN ut < 0.97 THEN 0 ELSE 2 END)
                        ELSE (CASE WHEN ut < 0.93 THEN 0 WHEN ut < 0.97 THEN 1 ELSE 2 END) END AS UTINYINT) AS dtype,
              cust AND cust_req1 < {NOW} AND chan <> 8 AND (seq = 2 OR {r.u("pull", d)} < 0.005) AS pull0,
              CASE WHEN cust AND cust_req1 < {NOW}
                   THEN cust_req1 + secs(30 + {r.u("pullt", d)} * 0.9
                        * greatest(0, epoch(least(coalesce(cust_done, {NOW}), {NOW})) - epoch(cust_req1))) END
                   AS pulled_at0
            FROM k
        )
        SELECT m.doc_id, CAST(m.job_idx AS INTEGER) AS job_idx, CAST(m.client_idx AS SMALLINT) AS client_idx,
               CAST(m.acct_idx AS INTEGER) AS acct_idx,
               CAST(m.chan AS UTINYINT) AS chan, CASE WHEN m.chan = 8 THEN m.pc END AS pull_class, m.dtype,
               CAST(CASE m.dtype
                    WHEN 0 THEN least(250000, greatest(5, exp(5.94 + 1.15 * {r.z("amt", d)})))
                    WHEN 1 THEN least(400000, greatest(10, exp(7.31 + 1.3 * {r.z("amt", d)})))
                    ELSE -least(20000, greatest(5, exp(4.55 + 1.0 * {r.z("amt", d)}))) END AS DECIMAL(14, 2))
                   AS amount,
               CAST(least(6, CASE WHEN {r.u("pg", d)} < 0.55 THEN 1 WHEN {r.u("pg", d)} < 0.80 THEN 2
                                  WHEN {r.u("pg", d)} < 0.90 THEN 3 WHEN {r.u("pg", d)} < 0.95 THEN 4
                                  WHEN {r.u("pg", d)} < 0.98 THEN 5 ELSE 6 END
                             + CASE WHEN m.dtype = 1 AND {r.u("pg2", d)} < 0.4 THEN 1 ELSE 0 END) AS UTINYINT)
                   AS pages,
               m.local_day - CAST(CASE WHEN {r.u("dd", d)} < 0.6 THEN 0 WHEN {r.u("dd", d)} < 0.85 THEN 1
                                       WHEN {r.u("dd", d)} < 0.95 THEN 2 ELSE 3 END AS INTEGER) AS doc_date,
               b.branch_code AS br_exp, m.cust_br,
               m.pull0 AND m.pulled_at0 < {NOW} AS pulled,
               CASE WHEN m.pull0 AND m.pulled_at0 < {NOW} THEN m.pulled_at0 END AS pulled_at,
               CASE WHEN m.chan = 0 THEN m.b_off + CAST(floor(m.seq * m.npb / m.doc_count) AS BIGINT) + 1
                    WHEN m.chan = 8 THEN NULL ELSE m.b_off + m.npb + 1 END AS batch_no,
               m.vday
        FROM m LEFT JOIN clbr b ON b.client_idx = m.client_idx AND b.bi = m.br_idx
        """)
        self.step(f"documents: {self.count('docs'):,} built")

    def batches_and_timeline(self) -> None:
        r, NOW = self.r, self.NOW
        self.x("""
        CREATE TABLE jagg AS
        SELECT job_idx,
               count(*) FILTER (WHERE chan = 0 AND NOT pulled) AS n_print,
               count(*) FILTER (WHERE chan BETWEEN 1 AND 7 AND NOT pulled) AS n_elec,
               count(*) FILTER (WHERE chan = 8 AND NOT pulled) AS n_pullch,
               count(*) FILTER (WHERE pulled) AS n_pulled
        FROM docs GROUP BY job_idx""")
        self.x("""
        CREATE TABLE bagg AS
        SELECT batch_no, min(job_idx) AS job_idx, max(chan) = 0 AS is_print, count(*) AS n_docs,
               count(*) FILTER (WHERE NOT pulled) AS pieces,
               coalesce(sum((pages + 1) // 2) FILTER (WHERE NOT pulled), 0) AS sheets
        FROM docs WHERE batch_no IS NOT NULL GROUP BY batch_no""")
        u = lambda p: r.u(p, "job_idx")  # noqa: E731
        self.x(f"""
        CREATE TABLE jt AS
        SELECT j.*, coalesce(a.n_print, 0) AS n_print, coalesce(a.n_elec, 0) AS n_elec,
          coalesce(a.n_print, 0) > 0 AS has_print, coalesce(a.n_elec, 0) > 0 AS has_elec,
          has_elec AND delay_days IS NOT NULL AS delayed,
          CASE WHEN has_print THEN release_at END AS print_at,
          CASE WHEN has_elec THEN release_at + secs(CASE WHEN {u("tie")} < 0.03 THEN 0
                                                         ELSE 5 + {u("sendd")} * 55 END) END AS send_at,
          CASE WHEN delayed THEN send_at + secs(30 + {u("schd")} * 120) END AS sched_at,
          CASE WHEN delayed THEN local_date(send_at, std_off) + CAST(delay_days AS INTEGER) END AS sched_date
        FROM jt1 j LEFT JOIN jagg a USING (job_idx)""")
        b = "batch_no"
        self.x(f"""
        CREATE TABLE bt AS
        WITH a AS (
            SELECT g.*, j.client_idx, j.std_off, j.created, j.country, j.delayed, j.sched_date, j.sched_at,
                   j.print_at, j.send_at, j.b_off, j.kind,
                   CASE WHEN g.is_print THEN (CASE WHEN j.country = 'CA' THEN 'CA' ELSE 'US' END) END AS facility,
                   CASE WHEN g.is_print AND (j.kind = 'statements' OR {r.u("mc", b)} < 0.12)
                        THEN 'Standard' WHEN g.is_print THEN 'First-Class' END AS mail_class
            FROM bagg g JOIN jt j USING (job_idx)
        ), c AS MATERIALIZED (
            SELECT *,
              CASE WHEN pieces = 0 THEN NULL
                   WHEN is_print THEN print_at + secs((batch_no - b_off - 1) * 240 + {r.u("brel", b)} * 120)
                   WHEN delayed THEN to_utc(CAST(sched_date AS TIMESTAMP)
                                            + secs(21600 + {r.u("brel", b)} * 7200), std_off)
                   ELSE send_at END AS released
            FROM a
        ), e AS MATERIALIZED (
            SELECT *,
              CASE WHEN is_print THEN released + secs(1800 + sheets * 0.9 + {r.u("bcomp", b)} * 5400)
                   ELSE released + secs(90 + pieces * 0.05 + {r.u("bcomp", b)} * 900) END AS completed
            FROM c
        ), f AS MATERIALIZED (
            SELECT *, CASE WHEN is_print THEN to_local(completed, std_off) END AS comp_local FROM e
        ), h AS (
            SELECT *, CAST(comp_local AS DATE) + CASE WHEN hour(comp_local) >= 14 THEN 1 ELSE 0 END AS due0 FROM f
        ), k AS MATERIALIZED (
            SELECT *, due0 + CASE WHEN dayofweek(due0) = 0 THEN 1 ELSE 0 END AS due FROM h
        )
        SELECT k.*,
          CASE WHEN is_print AND completed IS NOT NULL THEN greatest(
               to_utc(CAST(due AS TIMESTAMP) + secs(CASE WHEN {r.u("ml0", b)} < 0.12
                                                         THEN 86400 + {r.u("ml1", b)} * 5400
                                                         ELSE 57600 + {r.u("ml1", b)} * 25200 END), std_off),
               completed + INTERVAL 30 MINUTE) END AS mailed,
          CASE WHEN NOT is_print THEN NULL
               WHEN facility = 'CA' THEN (CASE WHEN mail_class = 'Standard' THEN 0.89 ELSE 1.15 END)
               ELSE (CASE WHEN mail_class = 'Standard' THEN 0.41 ELSE 0.62 END) END::DECIMAL(10, 2) AS rate,
          CASE WHEN NOT is_print THEN NULL WHEN facility = 'CA' THEN 'CAD' ELSE 'USD' END AS postage_currency,
          CASE WHEN NOT is_print THEN sched_date END AS sched,
          CASE WHEN NOT is_print THEN sched_at END AS sched_reveal
        FROM k""")
        self.x(f"""
        CREATE TABLE jt2 AS
        WITH p AS (
            SELECT job_idx, max(completed) AS comp_max, max(due) AS due_max, max(mailed) AS mailed_max
            FROM bt WHERE is_print AND pieces > 0 GROUP BY job_idx
        ), e AS (
            SELECT job_idx, released AS e_rel, completed AS e_comp FROM bt WHERE NOT is_print AND pieces > 0
        )
        SELECT jt.*, p.comp_max, p.due_max, p.mailed_max, e.e_rel, e.e_comp,
          p.comp_max + secs(60 + {u("pcd")} * 240) AS pc_at,
          pc_at + secs(300 + {u("pod")} * 2400) AS po_at,
          CASE WHEN release_at IS NOT NULL
                    AND (NOT has_print OR mailed_max IS NOT NULL) AND (NOT has_elec OR e_comp IS NOT NULL)
               THEN greatest(release_at, mailed_max, e_comp) + secs(120 + {u("done")} * 1080) END AS done_at
        FROM jt LEFT JOIN p USING (job_idx) LEFT JOIN e USING (job_idx)""")
        self.x(f"""
        CREATE TABLE ev AS
        SELECT row_number() OVER (ORDER BY event_at, job_idx, step) AS event_no, * FROM (
            SELECT job_idx, 1 AS step, created AS event_at, CAST(NULL AS DATE) AS status_date FROM jt2
            UNION ALL SELECT job_idx, 2, t_pdf, NULL FROM jt2
            UNION ALL SELECT job_idx, 3, t_ready, NULL FROM jt2 WHERE ops
            UNION ALL SELECT job_idx, 4, cust_req1, NULL FROM jt2 WHERE cust
            UNION ALL SELECT job_idx, 5, print_at, NULL FROM jt2 WHERE has_print
            UNION ALL SELECT job_idx, 6, send_at, NULL FROM jt2 WHERE has_elec
            UNION ALL SELECT job_idx, 7, sched_at, sched_date FROM jt2 WHERE delayed
            UNION ALL SELECT job_idx, 8, pc_at, NULL FROM jt2 WHERE has_print
            UNION ALL SELECT job_idx, 9, po_at, due_max FROM jt2 WHERE has_print
            UNION ALL SELECT job_idx, 10, done_at, NULL FROM jt2
        ) WHERE event_at IS NOT NULL AND event_at < {NOW}""")
        ops = _sql_list(_OPS_STAFF)
        self.x(f"""
        CREATE TABLE ap AS
        WITH a AS (
            SELECT job_idx, client_idx, 'ops' AS stage, 1 AS so, 1 AS attempt, t_ready AS requested_at,
                   ops_dec1 AS decided_at, CASE WHEN ops_rej THEN 'rejected' ELSE 'approved' END AS decision
            FROM jt2 WHERE ops
            UNION ALL SELECT job_idx, client_idx, 'ops', 1, 2, ops_req2, ops_dec2, 'approved' FROM jt2 WHERE ops_rej
            UNION ALL
            SELECT job_idx, client_idx, 'customer', 2, 1, cust_req1, cust_dec1,
                   CASE WHEN cust_rej THEN 'rejected' ELSE 'approved' END FROM jt2 WHERE cust
            UNION ALL SELECT job_idx, client_idx, 'customer', 2, 2, cust_req2, cust_dec2, 'approved'
                   FROM jt2 WHERE cust_rej
        )
        SELECT row_number() OVER (ORDER BY requested_at, job_idx, so, attempt) AS approval_no, a.*,
               CASE WHEN a.stage = 'ops' THEN {r.pick(ops, len(_OPS_STAFF), "opsby", "a.job_idx", "a.attempt")}
                    ELSE c.approvers[1 + CAST(floor({r.u("cby", "a.job_idx", "a.attempt")} * len(c.approvers))
                                              AS INTEGER)] END AS decided_by
        FROM a JOIN cl c USING (client_idx)
        WHERE a.requested_at IS NOT NULL AND a.requested_at < {NOW}""")
        self.x(f"""
        CREATE TABLE pl AS
        SELECT row_number() OVER (ORDER BY d.pulled_at, d.doc_id) AS pull_no, d.doc_id, d.job_idx, d.client_idx,
               d.pulled_at,
               c.approvers[1 + CAST(floor({r.u("pby", "d.doc_id")} * len(c.approvers)) AS INTEGER)] AS pulled_by
        FROM docs d JOIN cl c ON c.client_idx = d.client_idx WHERE d.pulled""")
        self.step(
            f"batches: {self.count('bt'):,}; status events: {self.count('ev'):,}; "
            f"approvals: {self.count('ap'):,}; pulls: {self.count('pl'):,}"
        )

    def deliveries(self) -> None:
        r, NOW = self.r, self.NOW
        d = "d.doc_id"
        self.x(f"""
        CREATE TABLE ddoc AS
        WITH a AS (
            SELECT d.doc_id, d.job_idx, d.client_idx, d.chan, d.pages,
                   CASE WHEN c.by_branch THEN coalesce(d.br_exp, d.cust_br) END AS br,
                   j.e_rel + secs({r.u("att", d)} * (epoch(j.e_comp) - epoch(j.e_rel))) AS att1,
                   CASE WHEN d.chan = 4 THEN 0.06 ELSE 0.008 END AS fp,
                   CASE WHEN d.chan IN (1, 7) THEN 0.025 WHEN d.chan = 4 THEN 0.0 ELSE 0.003 END AS bp,
                   {r.u("dout", d)} AS uo, {r.u("dsent", d)} AS us, {r.u("dretry", d)} AS ur,
                   {r.u("dretry2", d)} AS ur2
            FROM docs d JOIN jt2 j ON j.job_idx = d.job_idx JOIN cl c ON c.client_idx = d.client_idx
            WHERE d.chan BETWEEN 1 AND 7 AND NOT d.pulled AND j.e_rel IS NOT NULL AND j.e_rel < {NOW}
        ), b AS (
            SELECT *,
              CASE WHEN uo < fp THEN 'F' WHEN uo < fp + bp / 2 THEN 'BA' WHEN uo < fp + bp THEN 'BB'
                   ELSE 'S' END AS ko
            FROM a
        ), c AS (
            SELECT *,
              CASE WHEN ko <> 'F' THEN att1 + secs(CASE WHEN chan = 4 THEN 30 + us * 570 ELSE 1 + us * 119 END)
                   END AS sent1
            FROM b
        ), e AS (
            SELECT *,
              CASE WHEN ko = 'BA' THEN sent1 + secs(300 + ur2 * 72000) END AS reveal1,
              CASE WHEN ko = 'F' AND ur < 0.8 THEN att1 + secs(1200 + ur2 * 20400)
                   WHEN ko = 'BB' THEN sent1 + secs(3600 + ur2 * 104400) END AS att2
            FROM c
        )
        SELECT *,
          CASE WHEN att2 IS NOT NULL
               THEN att2 + secs(CASE WHEN chan = 4 THEN 30 + us * 570 ELSE 1 + us * 119 END) END AS sent2,
          CASE WHEN sent1 < {NOW} THEN sent1 WHEN sent2 < {NOW} THEN sent2 END AS first_sent
        FROM e""")
        self.x(f"""
        CREATE TABLE dl AS
        SELECT row_number() OVER (ORDER BY attempted_at, doc_id, attempt) AS dl_no, * FROM (
            SELECT doc_id, chan, 1 AS attempt, att1 AS attempted_at, sent1 AS sent_at,
                   CASE ko WHEN 'F' THEN 'failed' WHEN 'BA' THEN 'bounced' ELSE 'sent' END AS outcome,
                   CASE WHEN reveal1 < {NOW} THEN reveal1 END AS reveal
            FROM ddoc WHERE coalesce(sent1, att1) < {NOW}
            UNION ALL
            SELECT doc_id, chan, 2, att2, sent2, CASE ko WHEN 'F' THEN 'sent' ELSE 'bounced' END, NULL
            FROM ddoc WHERE att2 IS NOT NULL AND sent2 < {NOW}
        )""")
        self.step(f"deliveries: {self.count('dl'):,}")

    def fees(self) -> None:
        NOW = self.NOW
        dec = "DECIMAL(10, 2)"
        self.x(f"""
        CREATE TABLE fe0 AS
        WITH pb AS (
            SELECT d.batch_no, d.job_idx, d.client_idx,
                   CASE WHEN c.by_branch THEN coalesce(d.br_exp, d.cust_br) END AS br,
                   sum((d.pages + 1) // 2) AS sheets, count(*) AS pieces
            FROM docs d JOIN cl c ON c.client_idx = d.client_idx
            WHERE d.chan = 0 AND NOT d.pulled GROUP BY ALL
        ), el AS (
            SELECT job_idx, client_idx, br,
                   CASE WHEN chan = 1 THEN 'email' WHEN chan IN (2, 3) THEN 'portal' ELSE 'other' END AS ft,
                   CASE WHEN chan = 1 THEN 0.35 WHEN chan IN (2, 3) THEN 0.45 ELSE 0.30 END AS unit,
                   count(*) AS qty
            FROM ddoc WHERE chan <> 4 AND first_sent IS NOT NULL GROUP BY ALL
        ), pr AS (
            SELECT d.job_idx, d.client_idx, CASE WHEN c.by_branch THEN coalesce(d.br_exp, d.cust_br) END AS br,
                   count(*) AS qty
            FROM docs d JOIN cl c ON c.client_idx = d.client_idx WHERE d.chan = 8 AND NOT d.pulled GROUP BY ALL
        ), dc AS (
            SELECT client_idx, count(*) AS n FROM docs GROUP BY client_idx
        )
        SELECT * FROM (
            SELECT pb.client_idx, pb.job_idx, pb.batch_no, NULL::BIGINT AS doc_id, pb.br, 'print' AS fee_type,
                   1 AS fo, pb.sheets AS qty,
                   CASE WHEN bt.facility = 'CA' THEN 0.12 ELSE 0.09 END::{dec} AS unit,
                   bt.postage_currency AS currency, bt.facility, bt.completed AS fee_ts
            FROM pb JOIN bt USING (batch_no)
            UNION ALL
            SELECT pb.client_idx, pb.job_idx, pb.batch_no, NULL, pb.br, 'postage', 2, pb.pieces, bt.rate,
                   bt.postage_currency, bt.facility, bt.mailed
            FROM pb JOIN bt USING (batch_no)
            UNION ALL
            SELECT el.client_idx, el.job_idx, NULL, NULL, el.br, el.ft, 3, el.qty, el.unit::{dec}, 'USD', NULL,
                   jt2.e_comp + INTERVAL 5 MINUTE
            FROM el JOIN jt2 USING (job_idx)
            UNION ALL
            SELECT client_idx, job_idx, NULL, doc_id, NULL, 'fax', 4, pages, 0.12::{dec}, 'USD', NULL, first_sent
            FROM ddoc WHERE chan = 4 AND first_sent IS NOT NULL
            UNION ALL
            SELECT pr.client_idx, pr.job_idx, NULL, NULL, pr.br, 'pull', 5, pr.qty, 0.25::{dec}, 'USD', NULL,
                   jt2.release_at + INTERVAL 10 MINUTE
            FROM pr JOIN jt2 USING (job_idx)
            UNION ALL
            SELECT client_idx, job_idx, NULL, doc_id, NULL, 'pull', 6, 1, 0.50::{dec}, 'USD', NULL,
                   pulled_at + INTERVAL 1 MINUTE
            FROM docs WHERE pulled
            UNION ALL
            SELECT client_idx, NULL, NULL, NULL, NULL, 'storage', 7, greatest(1, CAST(ceil(n * 0.25 / 1024) AS BIGINT)),
                   1.25::{dec}, 'USD', NULL, {NOW} - INTERVAL 1 HOUR
            FROM dc
            UNION ALL
            SELECT client_idx, NULL, NULL, NULL, NULL, 'other', 8, 1, 150.00::{dec}, 'USD', NULL,
                   {NOW} - INTERVAL 1 HOUR - INTERVAL 10 MINUTE
            FROM dc WHERE client_idx % 2 = 0
        ) WHERE fee_ts IS NOT NULL AND fee_ts < {NOW} AND qty > 0""")
        self.x("""
        CREATE TABLE fe AS
        SELECT row_number() OVER (ORDER BY fee_ts, client_idx, job_idx NULLS FIRST, fo, fee_type,
                                  batch_no NULLS FIRST, br NULLS FIRST, doc_id NULLS FIRST) AS fee_no,
               f.*, CAST(f.qty * f.unit AS DECIMAL(14, 2)) AS amount,
               local_date(f.fee_ts, c.std_off) AS fee_date
        FROM fe0 f JOIN cl c USING (client_idx)""")
        self.step(f"fees: {self.count('fe'):,}")

    def widths(self) -> None:
        w = self.width
        w("client", len(self.cfg["clients"]))
        w("contact", len(self.cfg["contacts"]))
        w("rule", len(self.cfg["rules"]))
        w("change", len(self.cfg["changes"]))
        w("routing", self.count("rt"))
        w("file", self.one("SELECT max(file_no) FROM uploads"))
        w("job", self.one("SELECT max(job_idx) FROM jobs"))
        w("event", self.count("ev"))
        w("approval", self.count("ap"))
        w("batch", self.one("SELECT max(batch_no) FROM bt"))
        w("document", self.D)
        w("pull", self.count("pl"))
        w("delivery", self.count("dl"))
        w("fee", self.count("fe"))

    # -- output views: (vday, sk, <contract columns>) ---------------------------------------------------
    def views(self) -> None:
        r, NOW = self.r, self.NOW
        f = self.fid
        cid = f"{self.client_ids}[client_idx + 1]"
        last = _sql_ts(self.end - timedelta(days=1))
        snap = f"CAST({last} AS DATE)"
        first = f"CAST({self.START} AS DATE)"

        def vlist(*exprs: str) -> str:
            """Extract days of a record's versions: creation day plus the day of each later change < NOW."""
            items = ", ".join(f"CASE WHEN ({e}) < {NOW} THEN CAST({e} AS DATE) END" for e in exprs)
            return f"list_distinct([{items}])"

        def shown(e: str) -> str:
            return f"CASE WHEN ({e}) < vday + INTERVAL 1 DAY THEN ({e}) END"

        self.x(f"""CREATE VIEW v_clients AS SELECT {snap} AS vday, client_idx AS sk, client_id, client_name,
            timezone, by_branch AS invoices_by_branch FROM cl""")
        self.x(f"""CREATE VIEW v_contacts AS SELECT {snap} AS vday, contact_id AS sk, contact_id,
            {cid} AS client_id, full_name, email, role, fts(valid_from) AS valid_from, fts(valid_to) AS valid_to
            FROM contacts""")
        self.x(f"""CREATE VIEW v_branches AS SELECT {snap} AS vday, client_idx * 1000 + bi AS sk,
            {cid} AS client_id, branch_code, branch_name, c.country
            FROM clbr JOIN cl c USING (client_idx)""")
        self.x(f"""CREATE VIEW v_customers AS SELECT {snap} AS vday, gc AS sk, {cid} AS client_id,
            {f("customer", "acct_idx + 1")} AS customer_account_id, customer_name, branch_code FROM cust""")
        # routing: first appears on its valid_from day (or the first extract day), re-sent when it ends
        self.x(f"""CREATE TABLE rt_v AS SELECT *, unnest(list_distinct([greatest(CAST(vf AS DATE), {first}),
            CASE WHEN vt < {NOW} THEN greatest(CAST(vt AS DATE), {first}) END])) AS vday FROM rt""")
        cl_country = _sql_list([c["country"] for c in self.cfg["clients"]])
        rk = "routing_no"
        area = (
            f"CASE WHEN {cl_country}[client_idx + 1] = 'CA' "
            f"THEN {r.pick(_sql_list(_CA_AREA), len(_CA_AREA), 'area', rk)} "
            f"ELSE {r.pick(_sql_list(_US_AREA), len(_US_AREA), 'area', rk)} END"
        )
        slug = "trim(lower(regexp_replace(customer_name, '[^A-Za-z0-9]+', '-', 'g')), '-')"
        self.x(f"""CREATE VIEW v_customer_routing AS
            SELECT vday, routing_no AS sk, {f("routing", "routing_no")} AS routing_id, {cid} AS client_id,
              {f("customer", "acct_idx + 1")} AS customer_account_id, chan_name(ch) AS delivery_channel,
              CASE ch
                WHEN 1 THEN {
            r.pick(_sql_list(["ap", "accounts.payable", "billing", "invoices", "finance"]), 5, "eml", rk)
        } || '@' || {slug} || '.example.com'
                WHEN 7 THEN 'ap-data@' || {slug} || '.example.com'
                WHEN 4 THEN '+1-' || {area} || '-555-' || lpad(CAST(CAST(floor({r.u("fax", rk)} * 10000) AS INTEGER)
                            AS VARCHAR), 4, '0')
                WHEN 2 THEN 'EIC-' || lpad(CAST(CAST(floor({r.u("pid", rk)} * 10000000) AS INTEGER) AS VARCHAR), 7, '0')
                WHEN 3 THEN 'IC-' || lpad(CAST(CAST(floor({r.u("pid", rk)} * 1000000) AS INTEGER) AS VARCHAR), 6, '0')
                WHEN 5 THEN 'SML-' || lpad(CAST(CAST(floor({r.u("pid", rk)} * 100000) AS INTEGER) AS VARCHAR), 5, '0')
                WHEN 6 THEN 'sftp://ftp.' || {slug} || '.example.com/inbound'
              END AS destination,
              CASE WHEN ch = 8 THEN pc END AS pull_class,
              CASE WHEN {r.u("src", rk)} < 0.2 THEN 'billing_file' ELSE 'portal' END AS routing_source,
              fts(vf) AS valid_from, fts({shown("vt")}) AS valid_to
            FROM rt_v""")
        self.x(f"""CREATE VIEW v_processing_rules AS SELECT {snap} AS vday, rule_id AS sk, rule_id,
            {cid} AS client_id, rule_type, rule_value, fts(valid_from) AS valid_from, fts(valid_to) AS valid_to
            FROM rules""")
        self.x(f"""CREATE VIEW v_processing_rule_changes AS SELECT {snap} AS vday, change_id AS sk, change_id,
            {cid} AS client_id, rule_id, contact_id AS requested_by_contact_id, fts(requested_at) AS requested_at,
            fts(applied_at) AS applied_at, summary FROM changes""")
        # file uploads: re-sent on the day they are picked up / the job is created
        self.x(f"""CREATE TABLE up_v AS
            SELECT u.*, j.job_idx, u.job_at AS job_reveal,
                   unnest({vlist("u.uploaded_at", "u.pick_at", "CASE WHEN j.job_idx IS NOT NULL THEN u.job_at END")})
                       AS vday
            FROM uploads u LEFT JOIN jobs j USING (file_no)""")
        cslug = _sql_list([c["slug"] for c in self.cfg["clients"]])
        ext = _sql_list([".txt", ".csv", ".xml", ".dat"])
        self.x(f"""CREATE VIEW v_file_uploads AS
            SELECT vday, file_no AS sk, {f("file", "file_no")} AS file_id, {cid} AS client_id,
              {cslug}[client_idx + 1] || '_' || kind || '_' || strftime(up_local, '%Y%m%d_%H%M')
                  || {ext}[1 + client_idx % 4] AS file_name,
              fts(uploaded_at) AS uploaded_at,
              CAST(coalesce(jd.doc_count, 20 + floor({r.u("fsz0", "file_no")} * 400))
                   * (700 + floor({r.u("fsz", "file_no")} * 1500)) + 2048 AS BIGINT) AS size_bytes,
              fts({shown("pick_at")}) AS picked_up_at,
              CASE WHEN job_idx IS NOT NULL AND job_reveal < vday + INTERVAL 1 DAY
                   THEN {f("job", "job_idx")} END AS job_id
            FROM up_v LEFT JOIN (SELECT job_idx, doc_count FROM jobs) jd USING (job_idx)""")
        self.x(f"""CREATE VIEW v_jobs AS
            SELECT vday, job_idx AS sk, {f("job", "job_idx")} AS job_id, {cid} AS client_id,
              short || ' ' || CASE WHEN kind = 'statements' THEN 'Statements' ELSE 'Invoices' END || ' '
                || strftime(local_day, '%Y-%m-%d') || ' #' || day_seq AS job_name,
              fts(created) AS created_at, ops AS ops_approval_required, cust AS customer_approval_required
            FROM jobs""")
        codes = _sql_list(STATUS_CODES)
        self.x(f"""CREATE VIEW v_job_status_events AS
            SELECT CAST(event_at AS DATE) AS vday, event_no AS sk, {f("event", "event_no")} AS event_id,
              {f("job", "job_idx")} AS job_id, {codes}[step] AS status_code, fts(event_at) AS event_at, status_date
            FROM ev""")
        self.x(f"""CREATE TABLE ap_v AS SELECT *, unnest({vlist("requested_at", "decided_at")}) AS vday FROM ap""")
        self.x(f"""CREATE VIEW v_job_approvals AS
            SELECT vday, approval_no AS sk, {f("approval", "approval_no")} AS approval_id,
              {f("job", "job_idx")} AS job_id, stage AS approval_stage, fts(requested_at) AS requested_at,
              fts({shown("decided_at")}) AS decided_at,
              CASE WHEN decided_at < vday + INTERVAL 1 DAY THEN decision END AS decision,
              CASE WHEN decided_at < vday + INTERVAL 1 DAY THEN decided_by END AS decided_by
            FROM ap_v""")
        self.x(f"""CREATE TABLE bt_v AS SELECT *,
            unnest({vlist("created", "released", "completed", "mailed", "sched_reveal")}) AS vday FROM bt""")
        self.x(f"""CREATE VIEW v_batches AS
            SELECT vday, batch_no AS sk, {f("batch", "batch_no")} AS batch_id, {f("job", "job_idx")} AS job_id,
              CASE WHEN is_print THEN 'print' ELSE 'electronic' END AS batch_type, facility AS print_facility,
              fts({shown("released")}) AS released_at,
              CASE WHEN sched_reveal < vday + INTERVAL 1 DAY THEN sched END AS scheduled_send_date,
              fts({shown("completed")}) AS completed_at,
              CASE WHEN completed < vday + INTERVAL 1 DAY AND is_print THEN due END AS post_office_due_date,
              fts({shown("mailed")}) AS mailed_at,
              mail_class, pieces AS piece_count, CASE WHEN is_print THEN sheets END AS sheet_count,
              CAST(pieces * rate AS DECIMAL(14, 2)) AS postage_amount, postage_currency
            FROM bt_v""")
        dnum = "CASE dtype WHEN 0 THEN 'INV-' WHEN 1 THEN 'ST-' ELSE 'CM-' END || CAST(1000000 + doc_id AS VARCHAR)"
        self.x(f"""CREATE VIEW v_documents AS
            SELECT vday, doc_id AS sk, {f("document", "doc_id")} AS document_id, {cid} AS client_id,
              {f("job", "job_idx")} AS job_id, {f("batch", "batch_no")} AS batch_id,
              {f("customer", "acct_idx + 1")} AS customer_account_id, br_exp AS branch_code,
              ['invoice', 'statement', 'credit_memo'][dtype + 1] AS document_type, {dnum} AS document_number,
              doc_date AS document_date, amount AS amount_due, {self.client_cur}[client_idx + 1] AS currency,
              chan_name(chan) AS delivery_channel, pull_class, pages AS page_count
            FROM docs""")
        self.x(f"""CREATE VIEW v_document_pulls AS
            SELECT CAST(pulled_at AS DATE) AS vday, pull_no AS sk, {f("pull", "pull_no")} AS pull_id,
              {f("job", "job_idx")} AS job_id, {f("document", "doc_id")} AS document_id,
              fts(pulled_at) AS pulled_at, pulled_by
            FROM pl""")
        self.x(f"""CREATE TABLE dl_v AS SELECT *, unnest({vlist("attempted_at", "reveal")}) AS vday FROM dl""")
        self.x(f"""CREATE VIEW v_deliveries AS
            SELECT vday, dl_no AS sk, {f("delivery", "dl_no")} AS delivery_id, {f("document", "doc_id")} AS document_id,
              chan_name(chan) AS delivery_channel, fts(attempted_at) AS attempted_at, fts(sent_at) AS sent_at,
              CASE WHEN reveal IS NOT NULL AND NOT (reveal < vday + INTERVAL 1 DAY) THEN 'sent' ELSE outcome END
                  AS outcome
            FROM dl_v""")
        self.x(f"""CREATE VIEW v_fees AS
            SELECT CAST(fee_ts AS DATE) AS vday, fee_no AS sk, {f("fee", "fee_no")} AS fee_id, {cid} AS client_id,
              {f("job", "job_idx")} AS job_id, {f("batch", "batch_no")} AS batch_id,
              {f("document", "doc_id")} AS document_id, br AS branch_code, fee_type, qty AS quantity,
              unit AS unit_price, amount, currency, fee_date, facility AS print_facility
            FROM fe""")

    # -- write ----------------------------------------------------------------------------------------------
    # tables whose rows are costly to format are formatted once, then split into files
    MATERIALIZE = {"customer_routing"}
    # backing tables no longer needed once a table is written (frees memory for the next ones)
    DROP_AFTER = {"customers": ["cust"], "customer_routing": ["rt_v"], "documents": ["docs"], "deliveries": ["dl_v"]}

    def write(self, out: Path) -> dict:
        tables: dict[str, dict] = {}
        for t, cols in TABLE_COLUMNS.items():
            t1 = time.time()
            src = f"v_{t}"
            if t in self.MATERIALIZE:
                self.x(f"CREATE TABLE o_{t} AS SELECT * FROM v_{t}")
                src = f"o_{t}"
            tdir = out / t
            if tdir.exists():
                for old in list(tdir.glob("*.csv")) + list(tdir.glob("*.csv.gz")):
                    old.unlink()
            tdir.mkdir(parents=True, exist_ok=True)
            vdays = [row[0] for row in self.con.execute(f"SELECT DISTINCT vday FROM {src} ORDER BY 1").fetchall()]
            collist = ", ".join(cols)
            rows = nbytes = 0
            for vd in vdays:
                path = tdir / f"{vd.isoformat()}.csv"
                p = str(path).replace("'", "''")
                res = self.con.execute(
                    f"COPY (SELECT {collist} FROM {src} WHERE vday = DATE '{vd.isoformat()}' ORDER BY sk) "
                    f"TO '{p}' (FORMAT csv, HEADER, DELIMITER ',')"
                ).fetchone()
                rows += int(res[0]) if res else 0
                nbytes += path.stat().st_size
            keys = self.one(f"SELECT count(DISTINCT sk) FROM {src}")
            if t in self.MATERIALIZE:
                self.drop(f"o_{t}")
            self.drop(*self.DROP_AFTER.get(t, []))
            tables[t] = {"rows": rows, "keys": keys, "files": len(vdays), "bytes": nbytes}
            self.step(
                f"wrote {t}: {rows:,} rows ({keys:,} keys) in {len(vdays)} file(s), "
                f"{nbytes / 1e6:,.1f} MB ({time.time() - t1:.1f}s)"
            )
        return tables


# --------------------------------------------------------------------------------------------------
# One more day on top of an existing landing folder
# --------------------------------------------------------------------------------------------------

#: key columns of each raw table (contract section 2)
TABLE_KEYS: dict[str, list[str]] = {
    "clients": ["client_id"],
    "contacts": ["contact_id"],
    "branches": ["client_id", "branch_code"],
    "customers": ["client_id", "customer_account_id"],
    "customer_routing": ["routing_id"],
    "processing_rules": ["rule_id"],
    "processing_rule_changes": ["change_id"],
    "file_uploads": ["file_id"],
    "jobs": ["job_id"],
    "job_status_events": ["event_id"],
    "job_approvals": ["approval_id"],
    "batches": ["batch_id"],
    "documents": ["document_id"],
    "document_pulls": ["pull_id"],
    "deliveries": ["delivery_id"],
    "fees": ["fee_id"],
}

_DAY_FILE = re.compile(r"^(\d{4}-\d\d-\d\d)\.csv(\.gz)?$")
_ZONE_INFO = {tz: (country, std) for tz, country, std in _ZONES}


def _csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's header row."""
    import csv
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), [])


def _landing_layout(out: Path) -> tuple[dict[str, list[Path]], date, date]:
    """The CSV files of each table folder (in name order) and the first and last extract day."""
    files: dict[str, list[Path]] = {}
    days: list[date] = []
    for t in TABLE_COLUMNS:
        d = out / t
        names = (
            sorted(
                p.name for p in d.iterdir() if p.is_file() and (p.name.endswith(".csv") or p.name.endswith(".csv.gz"))
            )
            if d.is_dir()
            else []
        )
        files[t] = [d / n for n in names]
        for n in names:
            m = _DAY_FILE.match(n)
            if m:
                days.append(date.fromisoformat(m.group(1)))
    if not files["jobs"] or not files["documents"] or not files["clients"] or not days:
        raise FileNotFoundError(f"{out} holds no generated landing folder (no jobs/, documents/, clients/ day files)")
    return files, min(days), max(days)


def extend_one_day(
    out_dir: str | Path,
    *,
    seed: int | None = None,
    documents_per_day: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Append one extract day to a landing folder written by :func:`generate` (or already extended).

    Reads the folder's state with DuckDB (latest version of every key) and writes ``<table>/<day>.csv`` for the
    day after the last extract day: new uploads, jobs (ids continuing after the folder's max ids) with their
    status events, approvals, documents, batches, pulls, deliveries and fees, plus re-sent versions of open
    records that progress during the day (pending approvals decided, batches released/completed/mailed,
    failed deliveries retried, bounces revealed, waiting uploads picked up, in-progress jobs moving on to
    ``PRINTING_COMPLETE``, ``DELIVERED_TO_POST_OFFICE``, ``JOB_COMPLETE`` ...). The snapshot tables (clients,
    contacts, branches, customers, customer_routing, processing rules and changes) are left unchanged.

    ``documents_per_day`` defaults to the folder's documents / its number of extract days; ``seed`` to a value
    derived from the folder (its first day and clients). Same folder + same seed = byte-identical files.

    Reading is kept small for large folders: documents and deliveries are read from the files of the days of
    the jobs still open (and of the newest job, and of the last two days) only; the max delivery and fee ids
    from a one-column scan of every file. This relies on what :func:`generate` guarantees: a document first
    appears in the file of its job's creation day, a delivery on or after it, and ids grow in creation order.

    Returns ``{"day", "as_of", "seed", "documents", "tables": {t: {rows, resent, files, bytes}}, "rows",
    "resent", "files", "bytes", "seconds", ...}``; rows are those written, resent those whose key was in the
    folder already.
    """
    t0 = time.time()
    say = progress or (lambda _msg: None)

    def step(msg: str) -> None:
        say(f"[{time.time() - t0:7.1f}s] {msg}")

    out = Path(out_dir)
    files, first_day, last_day = _landing_layout(out)
    day = last_day + timedelta(days=1)
    name = f"{day.isoformat()}.csv"
    for fl in files.values():
        if fl and fl[-1].name >= name:
            raise ValueError(f"{fl[-1]} sorts at or after {name}: the folder is not a day-per-file landing folder")
    if documents_per_day is not None and documents_per_day < 1:
        raise ValueError("documents_per_day must be >= 1")
    tmp = tempfile.mkdtemp(prefix="billing_ext_")
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET temp_directory = '{tmp}'")
        con.execute("SET memory_limit = '4GB'")
        e = _Ext(con, out, files, first_day, day, seed, documents_per_day, step)
        e.load()
        e.build()
        tables = e.write(name)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    secs = round(time.time() - t0, 2)
    summary = {
        "out_dir": str(out),
        "day": day.isoformat(),
        "as_of": (datetime.combine(day, datetime.min.time()) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": e.seed,
        "documents": tables["documents"]["rows"],
        "documents_per_day": e.dpd,
        "open_jobs_read": e.n_open,
        "tables": tables,
        "rows": {t: v["rows"] for t, v in tables.items()},
        "resent": {t: v["resent"] for t, v in tables.items()},
        "files": sum(v["files"] for v in tables.values()),
        "bytes": sum(v["bytes"] for v in tables.values()),
        "seconds": secs,
    }
    step(
        f"done: {day.isoformat()}: {summary['files']} files, {sum(summary['rows'].values()):,} rows "
        f"({sum(summary['resent'].values()):,} re-sent), {summary['documents']:,} new documents in {secs:.1f}s"
    )
    return summary


class _Ext(_SqlSteps):
    """SQL for one more extract day. Old records keep their ids; ``fut(x, j)`` moves a moment that was not in
    the folder (so had not happened by its extract time T0) to T0 or later."""

    def __init__(self, con, out, files, first_day, day, seed, dpd, step):
        self.con = con
        self.out = out
        self.files = files
        self.first_day = first_day
        self.day = day
        self.T0 = datetime.combine(day, datetime.min.time())
        self.T1 = self.T0 + timedelta(days=1)
        self.S0 = _sql_ts(self.T0)
        self.S1 = _sql_ts(self.T1)
        self.seed_arg = seed
        self.dpd_arg = dpd
        self.step = step
        self.maxn: dict[str, int] = {}
        self.w: dict[str, int] = {}
        self.outputs: dict[str, str] = {}

    def src(self, table: str, files: list[Path] | None = None, dedupe: bool = True) -> str:
        """Rows of a table's files (all VARCHAR, plus ``filename``); with ``dedupe`` the latest version per key.

        Files whose header is exactly the contract's (what :func:`generate` writes) are read without sniffing
        (the sniffer costs more than the parse on a folder of many day files); others by column name."""
        fl = self.files[table] if files is None else files
        cols = TABLE_COLUMNS[table]
        if not fl:
            nulls = ", ".join(f"NULL::VARCHAR AS {c}" for c in cols)
            return f"(SELECT {nulls}, NULL::VARCHAR AS filename WHERE false)"
        lst = "[" + ", ".join(_sql_str(str(p)) for p in fl) + "]"
        if all(_csv_header(p) == cols for p in fl):
            spec = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in cols) + "}"
            s = (
                f"read_csv({lst}, header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
                f"columns = {spec}, filename = true)"
            )
        else:
            s = f"read_csv({lst}, header = true, all_varchar = true, union_by_name = true, filename = true)"
        if dedupe and len(fl) > 1:
            k = ", ".join(TABLE_KEYS[table])
            return f"(SELECT * FROM {s} QUALIFY row_number() OVER (PARTITION BY {k} ORDER BY filename DESC) = 1)"
        return f"(SELECT * FROM {s})"

    def ids(self, kind: str, sql_max_num_and_len: str) -> None:
        """Record the max id number and the id width of a kind, from ``SELECT max(number), max(length)``."""
        n, ln = self.con.execute(sql_max_num_and_len).fetchone()
        self.maxn[kind] = int(n or 0)
        self.w[kind] = max(ID_FORMATS[kind][1], int(ln or 0) - len(ID_FORMATS[kind][0]))

    def grow(self, kind: str, new_max: int) -> None:
        self.w[kind] = max(self.w[kind], len(str(int(new_max or 0))))

    # -- read the folder -----------------------------------------------------------------------------------
    def load(self) -> None:
        T0 = self.S0
        years = range(self.T0.year - 1, self.T1.year + 2)
        for m in _macro_sql(years):
            self.x(m)
        self.x("CREATE MACRO idn(x) AS CAST(ltrim(x, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') AS BIGINT)")
        self.x("CREATE MACRO ts(x) AS CAST(x AS TIMESTAMP)")
        self.x(f"CREATE MACRO fut(x, j) AS CASE WHEN x < {T0} THEN {T0} + secs(j) ELSE x END")
        codes = _sql_list(STATUS_CODES)
        chans = _sql_list(CHANNELS)

        # ---- clients and their configuration (a few rows each) --------------------------------------------
        crow = self.con.execute(
            f"SELECT client_id, client_name, timezone, invoices_by_branch FROM {self.src('clients')} ORDER BY client_id"
        ).fetchall()
        bcountry = dict(
            self.con.execute(
                f"SELECT client_id, max(country) FROM {self.src('branches')} GROUP BY client_id"
            ).fetchall()
        )
        self.x(f"CREATE TABLE j0 AS SELECT * FROM {self.src('jobs')}")
        self.ids("job", "SELECT max(idn(job_id)), max(length(job_id)) FROM j0")
        self.x(f"CREATE TABLE b0 AS SELECT * FROM {self.src('batches')}")
        self.ids("batch", "SELECT max(idn(batch_id)), max(length(batch_id)) FROM b0")
        self.x(f"CREATE TABLE cu0 AS SELECT * FROM {self.src('customers')}")
        njobs = dict(self.con.execute("SELECT client_id, count(*) FROM j0 GROUP BY 1").fetchall())
        pieces = dict(
            self.con.execute(
                "SELECT j.client_id, sum(CAST(b.piece_count AS BIGINT)) FROM b0 b JOIN j0 j USING (job_id) GROUP BY 1"
            ).fetchall()
        )
        ncust = dict(self.con.execute("SELECT client_id, count(*) FROM cu0 GROUP BY 1").fetchall())
        nbr = dict(self.con.execute(f"SELECT client_id, count(*) FROM {self.src('branches')} GROUP BY 1").fetchall())
        n_days = (self.day - self.first_day).days
        day_list = [self.first_day + timedelta(days=i) for i in range(n_days)]
        n_bus = sum(1 for d in day_list if d.weekday() < 5)
        eff_days = max(0.5, n_bus + 0.15 * (len(day_list) - n_bus))
        total_pieces = sum(int(v or 0) for v in pieces.values()) or 1
        self.x("""CREATE TABLE cl (client_idx INTEGER, client_id VARCHAR, client_name VARCHAR, std_off INTEGER,
            country VARCHAR, by_branch BOOLEAN, short VARCHAR, slug VARCHAR, n_branches INTEGER, n_cust BIGINT,
            rate DOUBLE, weight DOUBLE)""")
        for i, (cid, cname, tz, by_branch) in enumerate(crow):
            country, std = _ZONE_INFO.get(tz or "", (bcountry.get(cid) or "US", -300))
            nc = int(ncust.get(cid, 0))
            rate = max(4.0 / eff_days, int(njobs.get(cid, 0)) / eff_days) if nc > 0 else 0.0
            weight = (int(pieces.get(cid) or 0) + 0.01 * total_pieces) / total_pieces if nc > 0 else 0.0
            cname = cname or cid
            self.con.execute(
                "INSERT INTO cl VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    i,
                    cid,
                    cname,
                    std,
                    country,
                    (by_branch or "").lower() == "true",
                    "".join(w[0] for w in re.findall(r"[A-Za-z]+", cname))[:4].upper() or "JOB",
                    _slug(cname) or "client",
                    int(nbr.get(cid, 0)),
                    nc,
                    rate,
                    weight,
                ],
            )
        self.n_clients = len(crow)
        self.max_slots = max(4, int((self.one("SELECT max(rate) FROM cl") or 0) * 2) + 2)
        self.x(f"""CREATE TABLE appr AS
            SELECT c.client_idx,
              CASE WHEN count(*) FILTER (WHERE x.role IN ('primary_support', 'billing', 'support')
                                          AND ts(x.valid_from) <= {T0}
                                          AND (x.valid_to IS NULL OR ts(x.valid_to) > {T0})) > 0
                   THEN list(x.full_name ORDER BY x.full_name) FILTER (
                        WHERE x.role IN ('primary_support', 'billing', 'support') AND ts(x.valid_from) <= {T0}
                          AND (x.valid_to IS NULL OR ts(x.valid_to) > {T0}))
                   ELSE list(x.full_name ORDER BY x.full_name) END AS approvers
            FROM {self.src("contacts")} x JOIN cl c USING (client_id) GROUP BY ALL""")
        self.x("""CREATE TABLE cla AS SELECT c.*, coalesce(a.approvers, ['Client Approver']) AS approvers
            FROM cl c LEFT JOIN appr a USING (client_idx)""")
        self.x(f"""CREATE TABLE clbr AS SELECT c.client_idx,
                CAST(row_number() OVER (PARTITION BY c.client_idx ORDER BY b.branch_code) - 1 AS INTEGER) AS bi,
                b.branch_code
            FROM {self.src("branches")} b JOIN cl c USING (client_id)""")
        self.x(f"""CREATE TABLE rules AS SELECT c.client_idx, r.rule_type, r.rule_value, ts(r.valid_from) AS valid_from,
                ts(r.valid_to) AS valid_to
            FROM {self.src("processing_rules")} r JOIN cl c USING (client_id)""")
        self.x("""CREATE TABLE cust AS SELECT c.client_idx,
                row_number() OVER (PARTITION BY c.client_idx ORDER BY x.customer_account_id) AS rk,
                x.customer_account_id, x.branch_code
            FROM cu0 x JOIN cl c USING (client_id)""")
        self.x("DROP TABLE cu0")
        self.x(f"""CREATE TABLE rt AS SELECT c.client_idx, x.customer_account_id,
                CAST(coalesce(list_position({chans}, x.delivery_channel), 1) - 1 AS INTEGER) AS chan,
                x.pull_class, ts(x.valid_from) AS vf, ts(x.valid_to) AS vt
            FROM {self.src("customer_routing")} x JOIN cl c USING (client_id)
            WHERE x.valid_to IS NULL OR ts(x.valid_to) > {T0}""")

        # ---- jobs, their events, approvals, batches, uploads (small tables: read whole) ---------------------
        self.x("""CREATE TABLE oj AS SELECT idn(j.job_id) AS job_idx, j.job_id, c.client_idx, c.std_off, c.country,
                j.job_name, ts(j.created_at) AS created, j.ops_approval_required = 'true' AS ops,
                j.customer_approval_required = 'true' AS cust
            FROM j0 j JOIN cl c USING (client_id)""")
        self.x(f"CREATE TABLE ev0 AS SELECT * FROM {self.src('job_status_events')}")
        self.ids("event", "SELECT max(idn(event_id)), max(length(event_id)) FROM ev0")
        self.x(f"""CREATE TABLE oev AS SELECT idn(job_id) AS job_idx, list_position({codes}, status_code) AS step,
                ts(event_at) AS event_at, CAST(status_date AS DATE) AS status_date FROM ev0""")
        self.x(f"CREATE TABLE ap0 AS SELECT * FROM {self.src('job_approvals')}")
        self.ids("approval", "SELECT max(idn(approval_id)), max(length(approval_id)) FROM ap0")
        self.x("""CREATE TABLE oap AS SELECT approval_id, idn(job_id) AS job_idx, approval_stage AS stage,
                ts(requested_at) AS requested_at, ts(decided_at) AS decided_at, decision,
                row_number() OVER (PARTITION BY job_id, approval_stage ORDER BY ts(requested_at), approval_id)
                    AS attempt
            FROM ap0""")
        self.x(f"CREATE TABLE up0 AS SELECT * FROM {self.src('file_uploads')}")
        self.ids("file", "SELECT max(idn(file_id)), max(length(file_id)) FROM up0")
        self.x(f"CREATE TABLE pl0 AS SELECT * FROM {self.src('document_pulls')}")
        self.ids("pull", "SELECT max(idn(pull_id)), max(length(pull_id)) FROM pl0")
        self.ids(
            "fee",
            f"SELECT max(idn(fee_id)), max(length(fee_id)) FROM {self.src('fees', dedupe=False)}",
        )

        # open jobs: no JOB_COMPLETE event yet
        self.x("CREATE TABLE open_j AS SELECT * FROM oj WHERE job_idx NOT IN (SELECT job_idx FROM oev WHERE step = 10)")
        self.n_open = self.count("open_j")
        wday = self.one(
            f"""SELECT least(coalesce((SELECT min(CAST(created AS DATE)) FROM open_j), DATE '{self.day}'),
                              coalesce((SELECT CAST(created AS DATE) FROM oj ORDER BY job_idx DESC LIMIT 1),
                                       DATE '{self.day}'))"""
        )
        wname = wday.isoformat()
        doc_files = [p for p in self.files["documents"] if p.name >= wname] or self.files["documents"][-1:]

        # ---- documents of the open jobs (from the files of their creation days on) --------------------------
        self.x(f"""CREATE TABLE d0 AS SELECT document_id, idn(document_id) AS doc_id, job_id, batch_id, client_id,
                customer_account_id, branch_code, delivery_channel, pull_class, page_count
            FROM {self.src("documents", doc_files)}""")
        self.ids("document", "SELECT max(doc_id), max(length(document_id)) FROM d0")
        self.x(f"""CREATE TABLE odocs AS
            SELECT d.document_id, d.doc_id, j.job_idx, j.client_idx, idn(d.batch_id) AS batch_no,
                   d.customer_account_id, d.branch_code AS br_exp, cu.branch_code AS cust_br,
                   CAST(coalesce(list_position({chans}, d.delivery_channel), 1) - 1 AS INTEGER) AS chan,
                   d.pull_class, CAST(d.page_count AS INTEGER) AS pages,
                   d.document_id IN (SELECT document_id FROM pl0) AS pulled, false AS is_new
            FROM d0 d JOIN open_j j ON j.job_id = d.job_id
            LEFT JOIN cust cu ON cu.client_idx = j.client_idx AND cu.customer_account_id = d.customer_account_id""")
        self.x("DROP TABLE d0")
        self.step(
            f"read {self.day - timedelta(days=1)} state: {self.n_clients} clients, {self.count('oj'):,} jobs "
            f"({self.n_open:,} open), {self.count('odocs'):,} documents of open jobs from {len(doc_files)} "
            f"file(s) since {wname}"
        )

        # ---- deliveries: max id from every file; the rows of the open jobs' documents and of the last day's
        # sends (retries, bounce reveals) from the files of the window and of the day before the last one
        self.ids(
            "delivery",
            f"SELECT max(idn(delivery_id)), max(length(delivery_id)) FROM {self.src('deliveries', dedupe=False)}",
        )
        dl_from = min(wday, self.day - timedelta(days=2)).isoformat()
        dl_files = [p for p in self.files["deliveries"] if p.name >= dl_from]
        self.x(f"""CREATE TABLE dl_all AS SELECT delivery_id, idn(delivery_id) AS dl, document_id, delivery_channel,
                ts(attempted_at) AS att, ts(sent_at) AS sent, outcome
            FROM {self.src("deliveries", dl_files, dedupe=False)}""")
        self.x("""CREATE TABLE dstate AS
            SELECT document_id, bool_or(sent IS NOT NULL) AS has_sent, min(sent) AS first_sent,
                   arg_max(delivery_id, dl) FILTER (WHERE outcome = 'failed') AS f_id,
                   max(dl) FILTER (WHERE outcome = 'failed') AS f_dl,
                   max(att) FILTER (WHERE outcome = 'failed') AS f_att
            FROM dl_all WHERE document_id IN (SELECT document_id FROM odocs WHERE chan BETWEEN 1 AND 7)
            GROUP BY document_id""")
        self.step(f"read deliveries: {self.count('dl_all'):,} rows from {len(dl_files)} file(s) since {dl_from}")

        # default documents per day, seed
        total_docs = self.maxn["document"]
        self.dpd = int(self.dpd_arg) if self.dpd_arg else max(1, round(total_docs / max(1, n_days)))
        if self.seed_arg is None:
            cids = ",".join(r[0] for r in crow)
            self.seed = zlib.crc32(f"{self.first_day.isoformat()}|{cids}".encode()) & 0x7FFFFFFF
        else:
            self.seed = int(self.seed_arg)
        self.r = _Rand(self.seed)

    # -- the day ---------------------------------------------------------------------------------------------
    def build(self) -> None:
        self.uploads_and_jobs()
        self.job_table()
        self.approval_timeline()
        self.new_documents()
        self.release_timeline()
        self.batches()
        self.deliveries()
        self.completion()
        self.events_approvals_pulls()
        self.fees()
        self.output_views()

    def uploads_and_jobs(self) -> None:
        r, T0, T1 = self.r, self.S0, self.S1
        ms = self.max_slots
        dn = (self.day - date(2000, 1, 1)).days
        d_prev = (self.day - timedelta(days=1)).isoformat()
        # uploads of the client-local days D-1 and D that fall in [T0, T1) (the same keys on every run)
        self.x(f"""
        CREATE TABLE nup0 AS
        WITH s AS (
            SELECT c.client_idx, c.std_off, d.ld, d.dn, CAST(q.k AS INTEGER) AS k
            FROM cl c CROSS JOIN (VALUES (DATE '{d_prev}', {dn - 1}), (DATE '{self.day}', {dn})) d(ld, dn)
                 CROSS JOIN range({ms}) q(k)
            WHERE {r.u("slot", "c.client_idx", "d.dn", "q.k")} * {ms}
                  < c.rate * CASE WHEN dayofweek(d.ld) IN (0, 6) THEN 0.15 ELSE 1.0 END
        ), l AS (
            SELECT *,
              CAST(ld AS TIMESTAMP) + secs(CASE
                  WHEN {r.u("ut1", "client_idx", "dn", "k")} < 0.08 THEN {r.u("ut2", "client_idx", "dn", "k")} * 21600
                  WHEN {r.u("ut1", "client_idx", "dn", "k")} < 0.80
                       THEN 25200 + {r.u("ut2", "client_idx", "dn", "k")} * 36000
                  ELSE 61200 + {r.u("ut2", "client_idx", "dn", "k")} * 18000 END) AS up_local
            FROM s
        ), m AS MATERIALIZED (
            SELECT client_idx, std_off, dn, k, up_local, to_utc(up_local, std_off) AS uploaded_at, false AS stuck
            FROM l
        )
        SELECT * FROM m WHERE uploaded_at >= {T0} AND uploaded_at < {T1}
        UNION ALL
        SELECT c.client_idx, c.std_off, {dn}, 1000 + s.j, to_local(s.t, c.std_off), s.t, true
        FROM (VALUES (0, {min(3, self.n_clients - 1)}, {T1} - INTERVAL 5 HOUR - INTERVAL 8 MINUTE),
                     (1, 0, {T1} - INTERVAL 6 MINUTE)) s(j, ci, t)
        JOIN cl c ON c.client_idx = s.ci
        WHERE c.n_cust > 0
        """)
        # pickup: 1-14 minutes (rarely 16-46), or at the next client-local timed start
        self.x(f"""
        CREATE TABLE nup1 AS
        WITH x AS MATERIALIZED (
            SELECT s.*, r.rule_value AS tstart
            FROM nup0 s LEFT JOIN rules r
              ON r.client_idx = s.client_idx AND r.rule_type = 'timed_start'
             AND r.valid_from <= s.uploaded_at AND (r.valid_to IS NULL OR s.uploaded_at < r.valid_to)
            QUALIFY row_number() OVER (PARTITION BY s.client_idx, s.dn, s.k ORDER BY r.valid_from DESC) = 1
        ), y AS MATERIALIZED (
            SELECT *, date_trunc('day', up_local)
                      + mins(CAST(split_part(tstart, ':', 1) AS INTEGER) * 60
                             + CAST(split_part(tstart, ':', 2) AS INTEGER)) AS tcand
            FROM x
        )
        SELECT *,
          CASE WHEN stuck THEN NULL
               WHEN tstart IS NOT NULL THEN to_utc(
                    CASE WHEN tcand >= up_local THEN tcand ELSE tcand + INTERVAL 1 DAY END
                    + secs(60 + {r.u("pk", "client_idx", "dn", "k")} * 660), std_off)
               ELSE uploaded_at + secs(CASE WHEN {r.u("pk0", "client_idx", "dn", "k")} < 0.015
                                           THEN 960 + {r.u("pk", "client_idx", "dn", "k")} * 1800
                                           ELSE 60 + {r.u("pk", "client_idx", "dn", "k")} * 780 END)
          END AS pick_at,
          CASE WHEN {r.u("kind", "client_idx", "dn", "k")} < CASE WHEN day(up_local) <= 2 THEN 0.35 ELSE 0.08 END
               THEN 'statements' ELSE 'invoices' END AS kind
        FROM y""")
        mf = self.maxn["file"]
        # uploads of earlier days still waiting (or picked up but without a job yet): picked up / turned into jobs now
        self.x(f"""
        CREATE TABLE nup AS
        SELECT {mf} + row_number() OVER (ORDER BY uploaded_at, client_idx, dn, k) AS file_no, client_idx, std_off,
               false AS is_old, NULL::VARCHAR AS file_id, NULL::VARCHAR AS old_name, NULL::VARCHAR AS old_size,
               uploaded_at, up_local, kind, stuck, pick_at,
               pick_at + secs(5 + {r.u("jc", "client_idx", "dn", "k")} * 40) AS job_at
        FROM nup1
        UNION ALL
        SELECT idn(u.file_id), c.client_idx, c.std_off, true, u.file_id, u.file_name, u.size_bytes,
               ts(u.uploaded_at), NULL, CASE WHEN contains(u.file_name, '_statements_') THEN 'statements'
                                         ELSE 'invoices' END, false,
               coalesce(ts(u.picked_up_at), {T0} + secs(60 + {r.u("opk", "idn(u.file_id)")} * 1740)),
               greatest(coalesce(ts(u.picked_up_at), {T0} + secs(60 + {r.u("opk", "idn(u.file_id)")} * 1740))
                        + secs(5 + {r.u("ojc", "idn(u.file_id)")} * 40), {T0} + INTERVAL 5 SECOND)
        FROM up0 u JOIN cl c USING (client_id)
        WHERE u.job_id IS NULL""")
        self.grow("file", self.one("SELECT max(file_no) FROM nup"))
        # never more jobs than documents: drop surplus new uploads
        n_jobs = self.one(f"SELECT count(*) FROM nup WHERE NOT stuck AND job_at < {T1}")
        n_old = self.one(f"SELECT count(*) FROM nup WHERE is_old AND job_at < {T1}")
        self.dpd = max(self.dpd, n_old)
        if n_jobs > self.dpd:
            self.x(f"""DELETE FROM nup WHERE file_no IN (
                SELECT file_no FROM nup WHERE NOT stuck AND NOT is_old AND job_at < {T1}
                ORDER BY {r.u("drop", "file_no")}, file_no LIMIT {n_jobs - self.dpd})""")
        if self.one(f"SELECT count(*) FROM nup WHERE NOT stuck AND job_at < {T1}") == 0:
            # a day without a job (tiny folders, weekends): one upload in the morning of the busiest client
            ci = self.one("SELECT client_idx FROM cl WHERE n_cust > 0 ORDER BY rate DESC, client_idx LIMIT 1")
            if ci is not None:
                self.x(f"""INSERT INTO nup SELECT {mf} + 1 + coalesce((SELECT max(file_no) - {mf} FROM nup
                        WHERE NOT is_old), 0),
                    client_idx, std_off, false, NULL, NULL, NULL, {T0} + INTERVAL 14 HOUR,
                    to_local({T0} + INTERVAL 14 HOUR, std_off), 'invoices', false,
                    {T0} + INTERVAL 14 HOUR + INTERVAL 4 MINUTE, {T0} + INTERVAL 14 HOUR + INTERVAL 251 SECOND
                    FROM cl WHERE client_idx = {ci}""")
                self.grow("file", self.one("SELECT max(file_no) FROM nup"))
        D = self.dpd
        mj = self.maxn["job"]
        # jobs of the day: flags from the rules valid at creation; documents allocated like generate()
        self.x(f"""
        CREATE TABLE nj AS
        WITH a AS (
            SELECT u.file_no, u.client_idx, u.std_off, u.job_at AS created, u.kind, c.weight, c.country, c.short,
                   {_JOB_RULE_FLAGS}
            FROM nup u JOIN cl c USING (client_idx)
            WHERE NOT u.stuck AND u.job_at < {T1}
        ), b AS (
            SELECT *, {mj} + row_number() OVER (ORDER BY created, client_idx, file_no) AS job_idx,
                   count(*) OVER () AS nj,
                   greatest(1, CAST(1000000 * exp(1.3 * {r.z("jsize", "file_no")})
                     * CASE WHEN dayofweek(local_date(created, std_off)) IN (0, 6) THEN 0.3 ELSE 1.0 END
                     * CASE WHEN kind = 'statements' THEN 1.3 ELSE 1.0 END AS BIGINT)) AS jw
            FROM a
        ), c AS (
            SELECT *, CAST(CAST(round(weight * 1000000) AS BIGINT) + 1 AS HUGEINT) * jw * 1000000000
                      // sum(jw) OVER (PARTITION BY client_idx) AS score
            FROM b
        ), d AS (
            SELECT *, sum(score) OVER () AS total FROM c
        ), e AS (
            SELECT *, 1 + CAST(({D} - nj) * score // total AS BIGINT) AS base, (({D} - nj) * score) % total AS frac
            FROM d
        ), f AS (
            SELECT *, {D} - sum(base) OVER () AS rem, row_number() OVER (ORDER BY frac DESC, job_idx) AS fr FROM e
        ), g AS (
            SELECT *, base + CASE WHEN fr <= rem THEN 1 ELSE 0 END AS doc_count FROM f
        )
        SELECT job_idx, file_no, client_idx, std_off, country, short, created, kind, ops, cust, delay_days,
               doc_count, sum(doc_count) OVER (ORDER BY job_idx) - doc_count AS doc_offset,
               greatest(1, CAST(ceil(doc_count * 0.5 / 5000) AS BIGINT)) AS npb,
               local_date(created, std_off) AS local_day
        FROM g""")
        got = self.one("SELECT coalesce(sum(doc_count), 0) FROM nj")
        if self.count("nj") and got != D:
            raise RuntimeError(f"document allocation failed: {got} != {D}")
        self.grow("job", self.one("SELECT max(job_idx) FROM nj"))
        # job names continue the per-client, per-local-day numbering of the folder
        self.x(f"""CREATE TABLE nj_name AS
            WITH old AS (
                SELECT client_idx, regexp_extract(job_name, '(\\d{{4}}-\\d\\d-\\d\\d) #\\d+$', 1) AS ld,
                       max(TRY_CAST(regexp_extract(job_name, '#(\\d+)$', 1) AS INTEGER)) AS seq0
                FROM oj WHERE created >= {T0} - INTERVAL 3 DAY GROUP BY ALL
            )
            SELECT n.job_idx,
                   n.short || ' ' || CASE WHEN n.kind = 'statements' THEN 'Statements' ELSE 'Invoices' END || ' '
                   || strftime(n.local_day, '%Y-%m-%d') || ' #'
                   || (coalesce(o.seq0, 0)
                       + row_number() OVER (PARTITION BY n.client_idx, n.local_day ORDER BY n.job_idx)) AS job_name
            FROM nj n LEFT JOIN old o ON o.client_idx = n.client_idx AND o.ld = strftime(n.local_day, '%Y-%m-%d')""")
        self.step(
            f"{self.day}: {self.count('nup'):,} uploads ({self.one('SELECT count(*) FROM nup WHERE is_old')} waiting "
            f"from earlier days), {self.count('nj'):,} new jobs for {D:,} documents"
        )

    def job_table(self) -> None:
        """``jx``: every open job (old and new) with what the folder knows of it (``k_*``, ``a_*``)."""
        self.x("""
        CREATE TABLE jx AS
        SELECT job_idx, client_idx, std_off, country, kind, true AS is_new, created, ops, cust, delay_days,
               doc_count, doc_offset, npb
        FROM nj
        UNION ALL BY NAME
        SELECT j.job_idx, j.client_idx, j.std_off, j.country, NULL AS kind, false AS is_new, j.created, j.ops, j.cust,
               (SELECT max(CAST(r.rule_value AS INTEGER)) FROM rules r WHERE r.client_idx = j.client_idx
                       AND r.rule_type = 'delay_electronic' AND r.valid_from <= j.created
                       AND (r.valid_to IS NULL OR j.created < r.valid_to)) AS delay_days,
               coalesce(dc.n, 0) AS doc_count,
               e.k_pdf, e.k_ready, e.k_creq, e.k_print, e.k_send, e.k_sched, e.k_sched_date, e.k_pc, e.k_po,
               e.k_po_date,
               a.a_o1, a.a_o1_req, a.a_o1_dec, a.a_o1_decision, a.a_o2, a.a_o2_req, a.a_o2_dec,
               a.a_c1, a.a_c1_req, a.a_c1_dec, a.a_c1_decision, a.a_c2, a.a_c2_req, a.a_c2_dec
        FROM open_j j
        LEFT JOIN (SELECT job_idx, count(*) AS n FROM odocs GROUP BY job_idx) dc USING (job_idx)
        LEFT JOIN (
            SELECT job_idx,
                   min(event_at) FILTER (WHERE step = 2) AS k_pdf, min(event_at) FILTER (WHERE step = 3) AS k_ready,
                   min(event_at) FILTER (WHERE step = 4) AS k_creq, min(event_at) FILTER (WHERE step = 5) AS k_print,
                   min(event_at) FILTER (WHERE step = 6) AS k_send, min(event_at) FILTER (WHERE step = 7) AS k_sched,
                   min(status_date) FILTER (WHERE step = 7) AS k_sched_date,
                   min(event_at) FILTER (WHERE step = 8) AS k_pc, min(event_at) FILTER (WHERE step = 9) AS k_po,
                   min(status_date) FILTER (WHERE step = 9) AS k_po_date
            FROM oev GROUP BY job_idx
        ) e USING (job_idx)
        LEFT JOIN (
            SELECT job_idx,
                   min(approval_id) FILTER (WHERE stage = 'ops' AND attempt = 1) AS a_o1,
                   min(requested_at) FILTER (WHERE stage = 'ops' AND attempt = 1) AS a_o1_req,
                   min(decided_at) FILTER (WHERE stage = 'ops' AND attempt = 1) AS a_o1_dec,
                   min(decision) FILTER (WHERE stage = 'ops' AND attempt = 1) AS a_o1_decision,
                   min(approval_id) FILTER (WHERE stage = 'ops' AND attempt = 2) AS a_o2,
                   min(requested_at) FILTER (WHERE stage = 'ops' AND attempt = 2) AS a_o2_req,
                   min(decided_at) FILTER (WHERE stage = 'ops' AND attempt = 2) AS a_o2_dec,
                   min(approval_id) FILTER (WHERE stage = 'customer' AND attempt = 1) AS a_c1,
                   min(requested_at) FILTER (WHERE stage = 'customer' AND attempt = 1) AS a_c1_req,
                   min(decided_at) FILTER (WHERE stage = 'customer' AND attempt = 1) AS a_c1_dec,
                   min(decision) FILTER (WHERE stage = 'customer' AND attempt = 1) AS a_c1_decision,
                   min(approval_id) FILTER (WHERE stage = 'customer' AND attempt = 2) AS a_c2,
                   min(requested_at) FILTER (WHERE stage = 'customer' AND attempt = 2) AS a_c2_req,
                   min(decided_at) FILTER (WHERE stage = 'customer' AND attempt = 2) AS a_c2_dec
            FROM oap GROUP BY job_idx
        ) a USING (job_idx)""")
        for c in [
            "t_pdf",
            "t_ready",
            "ops_dec1",
            "ops_req2",
            "ops_dec2",
            "ops_done",
            "cust_req1",
            "cust_dec1",
            "cust_req2",
            "cust_dec2",
            "cust_done",
            "release_at",
            "print_at",
            "send_at",
            "sched_at",
            "comp_max",
            "mailed_max",
            "e_rel",
            "e_comp",
            "last_sent",
            "pc_at",
            "po_at",
            "done_at",
        ]:
            self.x(f"ALTER TABLE jx ADD COLUMN {c} TIMESTAMP")
        for c, typ in [
            ("ops_rej", "BOOLEAN"),
            ("cust_rej", "BOOLEAN"),
            ("n_print", "BIGINT"),
            ("n_elec", "BIGINT"),
            ("n_pullch", "BIGINT"),
            ("has_print", "BOOLEAN"),
            ("has_elec", "BOOLEAN"),
            ("delayed", "BOOLEAN"),
            ("sched_date", "DATE"),
            ("due_max", "DATE"),
            ("all_sent", "BOOLEAN"),
            ("ob_sched", "DATE"),
        ]:
            self.x(f"ALTER TABLE jx ADD COLUMN {c} {typ}")

    def approval_timeline(self) -> None:
        r, T0 = self.r, self.S0
        u = lambda p: r.u(p, "job_idx")  # noqa: E731

        def overdue(col: str, known: str, key: str) -> list[str]:
            """A decision planned from its request but already overdue at T0 (not in the folder, so it did not
            happen): the next business morning instead. Planned from the request, not from T0, a pending
            decision keeps its moment from one extension to the next (never postponed forever)."""
            return [
                f"{col} = CASE WHEN {known} IS NULL AND {col} < {T0}"
                f" THEN biz_after({T0}, std_off, 600 + {u(key)} * 10800) ELSE {col} END"
            ]

        for sets in [
            [
                f"t_pdf = coalesce(k_pdf, fut(created + secs(60 + {u('tpdf')} * 540 + doc_count * 0.01), {u('f1')} * 300))"
            ],
            [
                f"t_ready = coalesce(k_ready, a_o1_req, fut(t_pdf + secs(120 + {u('tready')} * 900 + doc_count * 0.03),"
                f" {u('f2')} * 300))",
                "ops_rej = ops AND CASE WHEN a_o2 IS NOT NULL THEN true WHEN a_o1_dec IS NOT NULL"
                f" THEN a_o1_decision = 'rejected' ELSE {u('opsrej')} < 0.06 END",
                "cust_rej = cust AND CASE WHEN a_c2 IS NOT NULL THEN true WHEN a_c1_dec IS NOT NULL"
                f" THEN a_c1_decision = 'rejected' ELSE {u('custrej')} < 0.06 END",
            ],
            [
                f"ops_dec1 = CASE WHEN ops THEN coalesce(a_o1_dec, biz_after(t_ready, std_off, 900 + {u('opsd')} * 12600)) END"
            ],
            overdue("ops_dec1", "a_o1_dec", "od1"),
            [
                "ops_req2 = CASE WHEN ops_rej THEN coalesce(a_o2_req,"
                f" fut(ops_dec1 + secs(1800 + {u('opsr2')} * 5400), {u('f3')} * 900)) END"
            ],
            [
                "ops_dec2 = CASE WHEN ops_rej THEN coalesce(a_o2_dec,"
                f" biz_after(ops_req2, std_off, 600 + {u('opsd2')} * 4800)) END"
            ],
            overdue("ops_dec2", "a_o2_dec", "od2"),
            ["ops_done = CASE WHEN NOT ops THEN t_ready WHEN ops_rej THEN ops_dec2 ELSE ops_dec1 END"],
            [
                "cust_req1 = CASE WHEN cust THEN coalesce(k_creq, a_c1_req,"
                f" fut(ops_done + secs(60 + {u('cr1')} * 180), {u('f4')} * 300)) END"
            ],
            [
                "cust_dec1 = CASE WHEN cust THEN coalesce(a_c1_dec,"
                f" biz_after(cust_req1, std_off, 3600 + {u('cd1')} * 100800)) END"
            ],
            overdue("cust_dec1", "a_c1_dec", "cd1o"),
            [
                "cust_req2 = CASE WHEN cust_rej THEN coalesce(a_c2_req,"
                f" fut(cust_dec1 + secs(3600 + {u('cr2')} * 14400), {u('f5')} * 900)) END"
            ],
            [
                "cust_dec2 = CASE WHEN cust_rej THEN coalesce(a_c2_dec,"
                f" biz_after(cust_req2, std_off, 1800 + {u('cd2')} * 28800)) END"
            ],
            overdue("cust_dec2", "a_c2_dec", "cd2o"),
            ["cust_done = CASE WHEN NOT cust THEN ops_done WHEN cust_rej THEN cust_dec2 ELSE cust_dec1 END"],
        ]:
            self.x("UPDATE jx SET " + ", ".join(sets))

    def new_documents(self) -> None:
        r, T1 = self.r, self.S1
        d = "doc_id"
        md = self.maxn["document"]
        self.x(f"""
        CREATE TABLE ndocs AS
        WITH g AS (
            SELECT job_idx, client_idx, doc_offset, doc_count, npb, created, kind, cust, cust_req1, cust_done,
                   local_date(created, std_off) AS local_day, unnest(range(doc_count)) AS seq
            FROM jx WHERE is_new
        ), h AS (
            SELECT *, {md} + doc_offset + seq + 1 AS doc_id FROM g
        ), i AS (
            SELECT h.*, c.by_branch, c.n_branches,
                   1 + CAST(floor({r.u("dcust", d)} * c.n_cust) AS BIGINT) AS rk,
                   CASE WHEN c.by_branch AND c.n_branches > 0 AND {r.u("dbr0", d)} < 0.06
                        THEN CAST(floor({r.u("dbr1", d)} * c.n_branches) AS INTEGER) END AS br_idx
            FROM h JOIN cl c USING (client_idx)
        ), k AS (
            SELECT i.*, cu.customer_account_id, cu.branch_code AS cust_br, coalesce(rt.chan, 0) AS chan,
                   coalesce(rt.pull_class, 'A') AS pc0, {r.u("dtype", d)} AS ut
            FROM i JOIN cust cu ON cu.client_idx = i.client_idx AND cu.rk = i.rk
            LEFT JOIN rt ON rt.client_idx = i.client_idx AND rt.customer_account_id = cu.customer_account_id
                        AND rt.vf <= i.created AND (rt.vt IS NULL OR i.created < rt.vt)
            QUALIFY row_number() OVER (PARTITION BY i.doc_id ORDER BY rt.vf DESC NULLS LAST, rt.chan) = 1
        ), m AS (
            SELECT k.*,
              CAST(CASE WHEN kind = 'statements'
                        THEN (CASE WHEN ut < 0.90 THEN 1 WHEN ut < 0.97 THEN 0 ELSE 2 END)
                        ELSE (CASE WHEN ut < 0.93 THEN 0 WHEN ut < 0.97 THEN 1 ELSE 2 END) END AS UTINYINT) AS dtype,
              cust AND cust_req1 < {T1} AND chan <> 8 AND (seq = 2 OR {r.u("pull", d)} < 0.005) AS pull0,
              CASE WHEN cust AND cust_req1 < {T1}
                   THEN cust_req1 + secs(30 + {r.u("pullt", d)} * 0.9
                        * greatest(0, epoch(least(cust_done, {T1})) - epoch(cust_req1))) END AS pulled_at0
            FROM k
        )
        SELECT m.doc_id, m.job_idx, m.client_idx, m.customer_account_id, m.cust_br, b.branch_code AS br_exp,
               CAST(m.chan AS INTEGER) AS chan, CASE WHEN m.chan = 8 THEN m.pc0 END AS pull_class, m.dtype,
               CAST(CASE m.dtype
                    WHEN 0 THEN least(250000, greatest(5, exp(5.94 + 1.15 * {r.z("amt", d)})))
                    WHEN 1 THEN least(400000, greatest(10, exp(7.31 + 1.3 * {r.z("amt", d)})))
                    ELSE -least(20000, greatest(5, exp(4.55 + 1.0 * {r.z("amt", d)}))) END AS DECIMAL(14, 2))
                   AS amount,
               CAST(least(6, CASE WHEN {r.u("pg", d)} < 0.55 THEN 1 WHEN {r.u("pg", d)} < 0.80 THEN 2
                                  WHEN {r.u("pg", d)} < 0.90 THEN 3 WHEN {r.u("pg", d)} < 0.95 THEN 4
                                  WHEN {r.u("pg", d)} < 0.98 THEN 5 ELSE 6 END
                             + CASE WHEN m.dtype = 1 AND {r.u("pg2", d)} < 0.4 THEN 1 ELSE 0 END) AS INTEGER) AS pages,
               m.local_day - CAST(CASE WHEN {r.u("dd", d)} < 0.6 THEN 0 WHEN {r.u("dd", d)} < 0.85 THEN 1
                                       WHEN {r.u("dd", d)} < 0.95 THEN 2 ELSE 3 END AS INTEGER) AS doc_date,
               m.pull0 AND m.pulled_at0 < {T1} AS pulled,
               CASE WHEN m.pull0 AND m.pulled_at0 < {T1} THEN m.pulled_at0 END AS pulled_at,
               CASE WHEN m.chan = 0 THEN CAST(floor(m.seq * m.npb / m.doc_count) AS BIGINT)
                    WHEN m.chan = 8 THEN NULL ELSE m.npb END AS slot,
               CAST(NULL AS BIGINT) AS batch_no, true AS is_new
        FROM m LEFT JOIN clbr b ON b.client_idx = m.client_idx AND b.bi = m.br_idx""")
        got = self.count("ndocs")
        if got != self.one("SELECT coalesce(sum(doc_count), 0) FROM jx WHERE is_new"):
            raise RuntimeError("new documents lost a customer (a client without customers?)")
        self.grow("document", md + got)
        # batch numbers: the used print slots and the electronic slot of each new job, in order
        mb = self.maxn["batch"]
        self.x(f"""CREATE TABLE nslot AS SELECT job_idx, slot, {mb} + row_number() OVER (ORDER BY job_idx, slot) AS batch_no
            FROM (SELECT DISTINCT job_idx, slot FROM ndocs WHERE slot IS NOT NULL)""")
        self.x(
            "UPDATE ndocs SET batch_no = s.batch_no FROM nslot s WHERE s.job_idx = ndocs.job_idx AND s.slot = ndocs.slot"
        )
        self.grow("batch", self.one("SELECT max(batch_no) FROM nslot"))
        self.x("""CREATE TABLE alld AS
            SELECT doc_id, document_id, job_idx, client_idx, batch_no, chan, pages, pulled, br_exp, cust_br, is_new
            FROM odocs
            UNION ALL BY NAME
            SELECT doc_id, job_idx, client_idx, batch_no, chan, pages, pulled, br_exp, cust_br, is_new FROM ndocs""")
        self.x(f"UPDATE alld SET document_id = {self.fid('document', 'doc_id')} WHERE is_new")
        self.step(f"documents: {got:,} new, {self.count('nslot'):,} new batches")

    def release_timeline(self) -> None:
        r = self.r
        u = lambda p: r.u(p, "job_idx")  # noqa: E731
        self.x("""UPDATE jx SET n_print = a.n_print, n_elec = a.n_elec, n_pullch = a.n_pullch
            FROM (SELECT job_idx,
                         count(*) FILTER (WHERE chan = 0 AND NOT pulled) AS n_print,
                         count(*) FILTER (WHERE chan BETWEEN 1 AND 7 AND NOT pulled) AS n_elec,
                         count(*) FILTER (WHERE chan = 8 AND NOT pulled) AS n_pullch
                  FROM alld GROUP BY job_idx) a
            WHERE a.job_idx = jx.job_idx""")
        self.x("""UPDATE jx SET ob_sched = s.sched FROM (
                SELECT idn(job_id) AS job_idx, min(CAST(scheduled_send_date AS DATE)) AS sched FROM b0
                WHERE batch_type = 'electronic' GROUP BY 1) s
            WHERE s.job_idx = jx.job_idx""")
        for sets in [
            [
                "n_print = coalesce(n_print, 0)",
                "n_elec = coalesce(n_elec, 0)",
                "n_pullch = coalesce(n_pullch, 0)",
                f"release_at = coalesce(k_print, k_send, fut(cust_done + secs(180 + {u('rel')} * 1020), {u('f6')} * 300))",
            ],
            [
                "has_print = n_print > 0",
                "has_elec = n_elec > 0",
                "delayed = n_elec > 0 AND (k_sched IS NOT NULL OR ob_sched IS NOT NULL OR delay_days IS NOT NULL)",
            ],
            [
                "print_at = CASE WHEN has_print THEN coalesce(k_print, release_at) END",
                "send_at = CASE WHEN has_elec THEN coalesce(k_send, fut(release_at + secs(CASE WHEN"
                f" {u('tie')} < 0.03 THEN 0 ELSE 5 + {u('sendd')} * 55 END), {u('f7')} * 60)) END",
            ],
            [
                f"sched_at = CASE WHEN delayed THEN coalesce(k_sched, fut(send_at + secs(30 + {u('schd')} * 120), 30)) END"
            ],
            [
                "sched_date = CASE WHEN delayed THEN coalesce(k_sched_date, ob_sched,"
                " local_date(send_at, std_off) + CAST(coalesce(delay_days, 1) AS INTEGER)) END"
            ],
        ]:
            self.x("UPDATE jx SET " + ", ".join(sets))

    def batches(self) -> None:
        r = self.r
        b = "batch_no"
        # old batches of open jobs (the folder's values kept) and the new jobs' batches
        self.x(f"""
        CREATE TABLE bx0 AS
        SELECT idn(o.batch_id) AS batch_no, o.batch_id, j.job_idx, o.batch_type = 'print' AS is_print,
               coalesce(TRY_CAST(o.piece_count AS BIGINT), 0) AS pieces,
               coalesce(TRY_CAST(o.sheet_count AS BIGINT), 0) AS sheets, o.print_facility AS facility, o.mail_class,
               o.postage_currency, o.postage_amount AS old_postage, ts(o.released_at) AS k_rel,
               ts(o.completed_at) AS k_comp, CAST(o.post_office_due_date AS DATE) AS k_due, ts(o.mailed_at) AS k_mailed,
               CAST(o.scheduled_send_date AS DATE) AS k_sched, false AS is_new
        FROM b0 o JOIN jx j ON j.job_idx = idn(o.job_id) AND NOT j.is_new
        UNION ALL BY NAME
        SELECT a.batch_no, a.job_idx, a.is_print, a.pieces, a.sheets,
               CASE WHEN a.is_print THEN (CASE WHEN j.country = 'CA' THEN 'CA' ELSE 'US' END) END AS facility,
               CASE WHEN a.is_print AND (j.kind = 'statements' OR {r.u("mc", "a.batch_no")} < 0.12) THEN 'Standard'
                    WHEN a.is_print THEN 'First-Class' END AS mail_class,
               CASE WHEN NOT a.is_print THEN NULL WHEN j.country = 'CA' THEN 'CAD' ELSE 'USD' END AS postage_currency,
               true AS is_new
        FROM (SELECT batch_no, min(job_idx) AS job_idx, max(chan) = 0 AS is_print,
                     count(*) FILTER (WHERE NOT pulled) AS pieces,
                     coalesce(sum((pages + 1) // 2) FILTER (WHERE NOT pulled), 0) AS sheets
              FROM ndocs WHERE batch_no IS NOT NULL GROUP BY batch_no) a
        JOIN jx j USING (job_idx)""")
        self.x(f"""
        CREATE TABLE bx AS
        WITH a AS (
            SELECT x.*, j.client_idx, j.std_off, j.delayed, j.sched_date, j.sched_at, j.print_at, j.send_at,
                   CAST(row_number() OVER (PARTITION BY x.job_idx, x.is_print ORDER BY x.batch_no) - 1 AS INTEGER)
                       AS prank
            FROM bx0 x JOIN jx j USING (job_idx)
        ), c AS MATERIALIZED (
            SELECT *,
              CASE WHEN pieces = 0 OR k_rel IS NOT NULL THEN NULL
                   WHEN is_print THEN print_at + secs(prank * 240 + {r.u("brel", b)} * 120)
                   WHEN delayed THEN to_utc(CAST(sched_date AS TIMESTAMP) + secs(21600 + {r.u("brel", b)} * 7200),
                                            std_off)
                   ELSE send_at END AS rel0
            FROM a
        ), d AS MATERIALIZED (
            SELECT *, CASE WHEN pieces = 0 THEN NULL ELSE coalesce(k_rel, fut(rel0, {r.u("fb1", b)} * 600)) END
                      AS released
            FROM c
        ), e AS MATERIALIZED (
            SELECT *, coalesce(k_comp, fut(CASE WHEN is_print THEN released + secs(1800 + sheets * 0.9
                                                                                + {r.u("bcomp", b)} * 5400)
                                                ELSE released + secs(90 + pieces * 0.05 + {r.u("bcomp", b)} * 900) END,
                                           {r.u("fb2", b)} * 900)) AS completed
            FROM d
        ), f AS MATERIALIZED (
            SELECT *, CASE WHEN is_print THEN to_local(completed, std_off) END AS comp_local FROM e
        ), h AS (
            SELECT *, CAST(comp_local AS DATE) + CASE WHEN hour(comp_local) >= 14 THEN 1 ELSE 0 END AS due0 FROM f
        ), k AS MATERIALIZED (
            SELECT *, coalesce(k_due, due0 + CASE WHEN dayofweek(due0) = 0 THEN 1 ELSE 0 END) AS due FROM h
        ), m AS MATERIALIZED (
            SELECT *,
              CASE WHEN is_print AND completed IS NOT NULL THEN greatest(
                   to_utc(CAST(due AS TIMESTAMP) + secs(CASE WHEN {r.u("ml0", b)} < 0.12
                                                             THEN 86400 + {r.u("ml1", b)} * 5400
                                                             ELSE 57600 + {r.u("ml1", b)} * 25200 END), std_off),
                   completed + INTERVAL 30 MINUTE) END AS mailed0
            FROM k
        )
        SELECT * EXCLUDE (mailed0, comp_local, due0),
          CASE WHEN is_print THEN coalesce(k_mailed, fut(mailed0, {r.u("fb3", b)} * 900)) END AS mailed,
          CASE WHEN NOT is_print THEN NULL
               WHEN facility = 'CA' THEN (CASE WHEN mail_class = 'Standard' THEN 0.89 ELSE 1.15 END)
               ELSE (CASE WHEN mail_class = 'Standard' THEN 0.41 ELSE 0.62 END) END::DECIMAL(10, 2) AS rate
        FROM m""")
        self.x("""UPDATE jx SET comp_max = p.comp_max, due_max = p.due_max, mailed_max = p.mailed_max
            FROM (SELECT job_idx, max(completed) AS comp_max, max(due) AS due_max, max(mailed) AS mailed_max
                  FROM bx WHERE is_print AND pieces > 0 GROUP BY job_idx) p
            WHERE p.job_idx = jx.job_idx""")
        self.x("""UPDATE jx SET e_rel = e.e_rel, e_comp = e.e_comp
            FROM (SELECT job_idx, min(released) AS e_rel, max(completed) AS e_comp
                  FROM bx WHERE NOT is_print AND pieces > 0 GROUP BY job_idx) e
            WHERE e.job_idx = jx.job_idx""")

    def deliveries(self) -> None:
        r, T0, T1 = self.r, self.S0, self.S1
        d = "e.doc_id"
        # electronic documents of open jobs once their batch is released: first attempts and retries
        self.x(f"""
        CREATE TABLE ndl0 AS
        WITH e AS (
            SELECT a.doc_id, a.document_id, a.job_idx, a.client_idx, a.chan, a.pages, a.br_exp, a.cust_br,
                   j.e_rel, j.e_comp, s.has_sent, s.first_sent AS old_sent, s.f_id, s.f_dl, s.f_att
            FROM alld a JOIN jx j USING (job_idx) LEFT JOIN dstate s ON s.document_id = a.document_id
            WHERE a.chan BETWEEN 1 AND 7 AND NOT a.pulled AND j.e_rel < {T1}
        ), b AS (
            SELECT e.*,
              CASE WHEN e.chan = 4 THEN 0.06 ELSE 0.008 END AS fp,
              CASE WHEN e.chan IN (1, 7) THEN 0.025 WHEN e.chan = 4 THEN 0.0 ELSE 0.003 END AS bp,
              {r.u("dout", d)} AS uo, {r.u("dsent", d)} AS us,
              CASE WHEN f_dl IS NOT NULL
                   THEN fut(f_att + secs(1200 + {r.u("dretry", d)} * 20400), {r.u("fd1", d)} * 7200)
                   ELSE fut(e_rel + secs({r.u("att", d)} * (epoch(e_comp) - epoch(e_rel))), {r.u("fd2", d)} * 600)
              END AS att
            FROM e WHERE coalesce(NOT has_sent, true)
        )
        SELECT *, f_dl IS NOT NULL AS is_retry,
          CASE WHEN f_dl IS NULL AND uo < fp THEN 'failed'
               WHEN (f_dl IS NULL AND uo < fp + bp) OR (f_dl IS NOT NULL AND uo < bp) THEN 'bounced'
               ELSE 'sent' END AS outcome0,
          CASE WHEN outcome0 <> 'failed'
               THEN att + secs(CASE WHEN chan = 4 THEN 30 + us * 570 ELSE 1 + us * 119 END) END AS sent
        FROM b
        WHERE coalesce(sent, att) < {T1}""")
        md = self.maxn["delivery"]
        self.x(f"""
        CREATE TABLE ndl AS
        SELECT CASE WHEN is_retry THEN f_dl
                    ELSE {md} + row_number() OVER (PARTITION BY is_retry ORDER BY att, doc_id) END AS dl_no,
               f_id, doc_id, document_id, job_idx, client_idx, chan, att AS attempted_at, sent AS sent_at,
               outcome0 AS outcome, is_retry
        FROM ndl0""")
        self.grow("delivery", self.one("SELECT max(dl_no) FROM ndl WHERE NOT is_retry"))
        # deliveries sent on the previous day that now bounce (e-mail, csv): re-sent with outcome bounced
        self.x(f"""
        CREATE TABLE bounce AS
        SELECT * FROM dl_all
        WHERE outcome = 'sent' AND sent >= {T0} - INTERVAL 1 DAY AND sent < {T0}
          AND delivery_channel IN ('email', 'csv') AND {r.u("bounce", "dl")} < 0.0125
          AND delivery_id NOT IN (SELECT delivery_id FROM dl_all WHERE outcome <> 'sent')
        QUALIFY row_number() OVER (PARTITION BY delivery_id ORDER BY sent) = 1""")
        # first successful send per electronic document, and whether every one of a job's is sent
        self.x(f"""
        CREATE TABLE dsent AS
        SELECT a.job_idx, a.doc_id, a.chan, coalesce(s.first_sent, n.sent_at) AS first_sent,
               n.sent_at AS new_sent
        FROM alld a LEFT JOIN dstate s ON s.document_id = a.document_id
        LEFT JOIN ndl n ON n.doc_id = a.doc_id AND n.sent_at < {T1}
        WHERE a.chan BETWEEN 1 AND 7 AND NOT a.pulled""")
        self.x("""UPDATE jx SET all_sent = s.all_sent, last_sent = s.last_sent
            FROM (SELECT job_idx, bool_and(first_sent IS NOT NULL) AS all_sent, max(first_sent) AS last_sent
                  FROM dsent GROUP BY job_idx) s
            WHERE s.job_idx = jx.job_idx""")
        self.step(
            f"deliveries: {self.one('SELECT count(*) FROM ndl WHERE NOT is_retry'):,} new, "
            f"{self.one('SELECT count(*) FROM ndl WHERE is_retry'):,} failed ones retried, "
            f"{self.count('bounce'):,} bounces revealed"
        )

    def completion(self) -> None:
        r = self.r
        u = lambda p: r.u(p, "job_idx")  # noqa: E731
        for sets in [
            [f"pc_at = CASE WHEN has_print THEN coalesce(k_pc, fut(comp_max + secs(60 + {u('pcd')} * 240), 60)) END"],
            [f"po_at = CASE WHEN has_print THEN coalesce(k_po, fut(pc_at + secs(300 + {u('pod')} * 2400), 300)) END"],
            [
                "done_at = CASE WHEN release_at IS NOT NULL AND (NOT has_elec OR coalesce(all_sent, false))"
                " THEN greatest(release_at, print_at, send_at, sched_at, pc_at, po_at, mailed_max, e_comp, last_sent)"
                f" + secs(120 + {u('done')} * 1080) END"
            ],
        ]:
            self.x("UPDATE jx SET " + ", ".join(sets))

    def events_approvals_pulls(self) -> None:
        r, T0, T1 = self.r, self.S0, self.S1
        me = self.maxn["event"]
        # every step's moment; a step not in the folder is written when it falls in the day (never before an
        # earlier step: running maximum)
        self.x(f"""
        CREATE TABLE nev AS
        WITH s AS (
            SELECT job_idx, 1 AS step, created AS t, CAST(NULL AS DATE) AS status_date FROM jx
            UNION ALL SELECT job_idx, 2, t_pdf, NULL FROM jx
            UNION ALL SELECT job_idx, 3, t_ready, NULL FROM jx WHERE ops
            UNION ALL SELECT job_idx, 4, cust_req1, NULL FROM jx WHERE cust
            UNION ALL SELECT job_idx, 5, print_at, NULL FROM jx WHERE has_print
            UNION ALL SELECT job_idx, 6, send_at, NULL FROM jx WHERE has_elec
            UNION ALL SELECT job_idx, 7, sched_at, sched_date FROM jx WHERE delayed
            UNION ALL SELECT job_idx, 8, pc_at, NULL FROM jx WHERE has_print
            UNION ALL SELECT job_idx, 9, po_at, due_max FROM jx WHERE has_print
            UNION ALL SELECT job_idx, 10, done_at, NULL FROM jx
        ), m AS (
            SELECT job_idx, step, status_date,
                   max(t) OVER (PARTITION BY job_idx ORDER BY step ROWS UNBOUNDED PRECEDING) AS event_at
            FROM s WHERE t IS NOT NULL
        ), n AS (
            SELECT m.* FROM m ANTI JOIN oev o ON o.job_idx = m.job_idx AND o.step = m.step
            WHERE m.event_at >= {T0} AND m.event_at < {T1}
        )
        SELECT {me} + row_number() OVER (ORDER BY event_at, job_idx, step) AS event_no, * FROM n""")
        self.grow("event", self.one("SELECT max(event_no) FROM nev"))
        ops = _sql_list(_OPS_STAFF)
        ma = self.maxn["approval"]
        self.x(f"""
        CREATE TABLE nap0 AS
        WITH a AS (
            SELECT job_idx, client_idx, 'ops' AS stage, 1 AS so, 1 AS attempt, a_o1 AS approval_id, a_o1_dec AS k_dec,
                   coalesce(a_o1_req, t_ready) AS requested_at, ops_dec1 AS decided_at,
                   CASE WHEN ops_rej THEN 'rejected' ELSE 'approved' END AS decision
            FROM jx WHERE ops
            UNION ALL SELECT job_idx, client_idx, 'ops', 1, 2, a_o2, a_o2_dec, ops_req2, ops_dec2, 'approved'
            FROM jx WHERE ops_rej
            UNION ALL
            SELECT job_idx, client_idx, 'customer', 2, 1, a_c1, a_c1_dec, coalesce(a_c1_req, cust_req1), cust_dec1,
                   CASE WHEN cust_rej THEN 'rejected' ELSE 'approved' END
            FROM jx WHERE cust
            UNION ALL SELECT job_idx, client_idx, 'customer', 2, 2, a_c2, a_c2_dec, cust_req2, cust_dec2, 'approved'
            FROM jx WHERE cust_rej
        )
        SELECT a.*,
               CASE WHEN a.stage = 'ops' THEN {r.pick(ops, len(_OPS_STAFF), "opsby", "a.job_idx", "a.attempt")}
                    ELSE c.approvers[1 + CAST(floor({r.u("cby", "a.job_idx", "a.attempt")} * len(c.approvers))
                                              AS INTEGER)] END AS decided_by
        FROM a JOIN cla c USING (client_idx)
        WHERE (a.approval_id IS NULL AND a.requested_at < {T1})
           OR (a.approval_id IS NOT NULL AND a.k_dec IS NULL AND a.decided_at < {T1})""")
        self.x(f"""
        CREATE TABLE nap AS
        SELECT coalesce(idn(approval_id),
                        {ma} + row_number() OVER (PARTITION BY approval_id IS NULL
                                                  ORDER BY requested_at, job_idx, so, attempt)) AS approval_no,
               * FROM nap0""")
        self.grow("approval", self.one("SELECT max(approval_no) FROM nap"))
        mp = self.maxn["pull"]
        self.x(f"""
        CREATE TABLE npl AS
        SELECT {mp} + row_number() OVER (ORDER BY d.pulled_at, d.doc_id) AS pull_no, d.doc_id, d.job_idx, d.client_idx,
               d.pulled_at,
               c.approvers[1 + CAST(floor({r.u("pby", "d.doc_id")} * len(c.approvers)) AS INTEGER)] AS pulled_by
        FROM ndocs d JOIN cla c ON c.client_idx = d.client_idx WHERE d.pulled""")
        self.grow("pull", self.one("SELECT max(pull_no) FROM npl"))
        self.step(
            f"status events: {self.count('nev'):,}; approvals written: {self.count('nap'):,}; "
            f"pulls: {self.count('npl'):,}"
        )

    def fees(self) -> None:
        T0, T1 = self.S0, self.S1
        dec = "DECIMAL(10, 2)"
        br = "CASE WHEN c.by_branch THEN coalesce(d.br_exp, d.cust_br) END"
        self.x(f"""
        CREATE TABLE nfe0 AS
        WITH pb AS (
            SELECT d.batch_no, d.job_idx, d.client_idx, {br} AS br,
                   sum((d.pages + 1) // 2) AS sheets, count(*) AS pieces
            FROM alld d JOIN cl c ON c.client_idx = d.client_idx
            WHERE d.chan = 0 AND NOT d.pulled GROUP BY ALL
        ), el AS (
            SELECT d.job_idx, d.client_idx, {br} AS br,
                   CASE WHEN d.chan = 1 THEN 'email' WHEN d.chan IN (2, 3) THEN 'portal' ELSE 'other' END AS ft,
                   CASE WHEN d.chan = 1 THEN 0.35 WHEN d.chan IN (2, 3) THEN 0.45 ELSE 0.30 END AS unit,
                   count(*) AS qty
            FROM alld d JOIN cl c ON c.client_idx = d.client_idx JOIN dsent s ON s.doc_id = d.doc_id
            WHERE d.chan BETWEEN 1 AND 7 AND d.chan <> 4 AND NOT d.pulled AND s.first_sent < {T1} GROUP BY ALL
        ), pr AS (
            SELECT d.job_idx, d.client_idx, {br} AS br, count(*) AS qty
            FROM alld d JOIN cl c ON c.client_idx = d.client_idx WHERE d.chan = 8 AND NOT d.pulled GROUP BY ALL
        )
        SELECT * FROM (
            SELECT pb.client_idx, pb.job_idx, pb.batch_no, NULL::BIGINT AS doc_id, pb.br, 'print' AS fee_type,
                   1 AS fo, pb.sheets AS qty, CASE WHEN bx.facility = 'CA' THEN 0.12 ELSE 0.09 END::{dec} AS unit,
                   coalesce(bx.postage_currency, 'USD') AS currency, bx.facility, bx.completed AS fee_ts
            FROM pb JOIN bx USING (batch_no) WHERE bx.k_comp IS NULL
            UNION ALL
            SELECT pb.client_idx, pb.job_idx, pb.batch_no, NULL, pb.br, 'postage', 2, pb.pieces, bx.rate,
                   coalesce(bx.postage_currency, 'USD'), bx.facility, bx.mailed
            FROM pb JOIN bx USING (batch_no) WHERE bx.k_mailed IS NULL
            UNION ALL
            SELECT el.client_idx, el.job_idx, NULL, NULL, el.br, el.ft, 3, el.qty, el.unit::{dec}, 'USD', NULL,
                   jx.e_comp + INTERVAL 5 MINUTE
            FROM el JOIN jx USING (job_idx)
            UNION ALL
            SELECT d.client_idx, d.job_idx, NULL, d.doc_id, NULL, 'fax', 4, d.pages, 0.12::{dec}, 'USD', NULL, s.new_sent
            FROM alld d JOIN dsent s ON s.doc_id = d.doc_id WHERE d.chan = 4 AND s.new_sent IS NOT NULL
            UNION ALL
            SELECT pr.client_idx, pr.job_idx, NULL, NULL, pr.br, 'pull', 5, pr.qty, 0.25::{dec}, 'USD', NULL,
                   jx.release_at + INTERVAL 10 MINUTE
            FROM pr JOIN jx USING (job_idx)
            UNION ALL
            SELECT client_idx, job_idx, NULL, doc_id, NULL, 'pull', 6, 1, 0.50::{dec}, 'USD', NULL,
                   pulled_at + INTERVAL 1 MINUTE
            FROM ndocs WHERE pulled
        ) WHERE fee_ts >= {T0} AND fee_ts < {T1} AND qty > 0""")
        mf = self.maxn["fee"]
        self.x(f"""
        CREATE TABLE nfe AS
        SELECT {mf} + row_number() OVER (ORDER BY fee_ts, client_idx, job_idx NULLS FIRST, fo, fee_type,
                                         batch_no NULLS FIRST, br NULLS FIRST, doc_id NULLS FIRST) AS fee_no,
               f.*, CAST(f.qty * f.unit AS DECIMAL(14, 2)) AS amount, local_date(f.fee_ts, c.std_off) AS fee_date
        FROM nfe0 f JOIN cl c USING (client_idx)""")
        self.grow("fee", self.one("SELECT max(fee_no) FROM nfe"))
        self.step(f"fees: {self.count('nfe'):,}")

    # -- output views: (sk, resent, <contract columns>) -------------------------------------------------------
    def output_views(self) -> None:
        T1 = self.S1
        f = self.fid
        cid = "c.client_id"

        def shown(e: str) -> str:
            return f"fts(CASE WHEN ({e}) < {T1} THEN ({e}) END)"

        cslug = "c.slug"
        ext = _sql_list([".txt", ".csv", ".xml", ".dat"])
        self.outputs["file_uploads"] = f"""
            SELECT u.file_no AS sk, u.is_old AS resent, coalesce(u.file_id, {f("file", "u.file_no")}) AS file_id,
              {cid} AS client_id,
              coalesce(u.old_name, {cslug} || '_' || u.kind || '_' || strftime(u.up_local, '%Y%m%d_%H%M')
                                   || {ext}[1 + u.client_idx % 4]) AS file_name,
              fts(u.uploaded_at) AS uploaded_at,
              coalesce(u.old_size, CAST(CAST(coalesce(j.doc_count, 20 + floor({self.r.u("fsz0", "u.file_no")} * 400))
                   * (700 + floor({self.r.u("fsz", "u.file_no")} * 1500)) + 2048 AS BIGINT) AS VARCHAR)) AS size_bytes,
              {shown("u.pick_at")} AS picked_up_at,
              CASE WHEN j.job_idx IS NOT NULL THEN {f("job", "j.job_idx")} END AS job_id
            FROM nup u JOIN cl c USING (client_idx) LEFT JOIN nj j USING (file_no)
            WHERE u.uploaded_at < {T1}"""
        self.outputs["jobs"] = f"""
            SELECT j.job_idx AS sk, false AS resent, {f("job", "j.job_idx")} AS job_id, {cid} AS client_id,
              n.job_name, fts(j.created) AS created_at, j.ops AS ops_approval_required,
              j.cust AS customer_approval_required
            FROM nj j JOIN cl c USING (client_idx) JOIN nj_name n USING (job_idx)"""
        codes = _sql_list(STATUS_CODES)
        self.outputs["job_status_events"] = f"""
            SELECT event_no AS sk, false AS resent, {f("event", "event_no")} AS event_id, {f("job", "job_idx")} AS job_id,
              {codes}[step] AS status_code, fts(event_at) AS event_at, status_date
            FROM nev"""
        self.outputs["job_approvals"] = f"""
            SELECT approval_no AS sk, approval_id IS NOT NULL AS resent,
              coalesce(approval_id, {f("approval", "approval_no")}) AS approval_id, {f("job", "job_idx")} AS job_id,
              stage AS approval_stage, fts(requested_at) AS requested_at, {shown("decided_at")} AS decided_at,
              CASE WHEN decided_at < {T1} THEN decision END AS decision,
              CASE WHEN decided_at < {T1} THEN decided_by END AS decided_by
            FROM nap"""
        self.outputs["batches"] = f"""
            SELECT batch_no AS sk, NOT is_new AS resent, coalesce(batch_id, {f("batch", "batch_no")}) AS batch_id,
              {f("job", "job_idx")} AS job_id, CASE WHEN is_print THEN 'print' ELSE 'electronic' END AS batch_type,
              facility AS print_facility, {shown("released")} AS released_at,
              CASE WHEN NOT is_print AND delayed AND sched_at < {T1} THEN coalesce(k_sched, sched_date) END
                  AS scheduled_send_date,
              {shown("completed")} AS completed_at,
              CASE WHEN is_print AND completed < {T1} THEN due END AS post_office_due_date,
              {shown("mailed")} AS mailed_at, mail_class, pieces AS piece_count,
              CASE WHEN is_print THEN sheets END AS sheet_count,
              coalesce(old_postage, CAST(CAST(pieces * rate AS DECIMAL(14, 2)) AS VARCHAR)) AS postage_amount,
              postage_currency
            FROM bx
            WHERE is_new
               OR (k_rel IS NULL AND released < {T1}) OR (k_comp IS NULL AND completed < {T1})
               OR (is_print AND k_mailed IS NULL AND mailed < {T1})
               OR (NOT is_print AND delayed AND k_sched IS NULL AND sched_at < {T1})"""
        dnum = "CASE dtype WHEN 0 THEN 'INV-' WHEN 1 THEN 'ST-' ELSE 'CM-' END || CAST(1000000 + doc_id AS VARCHAR)"
        self.outputs["documents"] = f"""
            SELECT d.doc_id AS sk, false AS resent, {f("document", "d.doc_id")} AS document_id, {cid} AS client_id,
              {f("job", "d.job_idx")} AS job_id, {f("batch", "d.batch_no")} AS batch_id, d.customer_account_id,
              d.br_exp AS branch_code, ['invoice', 'statement', 'credit_memo'][d.dtype + 1] AS document_type,
              {dnum} AS document_number, d.doc_date AS document_date, d.amount AS amount_due,
              CASE WHEN c.country = 'CA' THEN 'CAD' ELSE 'USD' END AS currency, chan_name(d.chan) AS delivery_channel,
              d.pull_class, d.pages AS page_count
            FROM ndocs d JOIN cl c USING (client_idx)"""
        self.outputs["document_pulls"] = f"""
            SELECT pull_no AS sk, false AS resent, {f("pull", "pull_no")} AS pull_id, {f("job", "job_idx")} AS job_id,
              {f("document", "doc_id")} AS document_id, fts(pulled_at) AS pulled_at, pulled_by
            FROM npl"""
        self.outputs["deliveries"] = f"""
            SELECT dl_no AS sk, is_retry AS resent, coalesce(f_id, {f("delivery", "dl_no")}) AS delivery_id,
              document_id, chan_name(chan) AS delivery_channel, fts(attempted_at) AS attempted_at,
              {shown("sent_at")} AS sent_at, outcome
            FROM ndl
            UNION ALL
            SELECT dl, true, delivery_id, document_id, delivery_channel, fts(att), fts(sent), 'bounced' FROM bounce"""
        self.outputs["fees"] = f"""
            SELECT fee_no AS sk, false AS resent, {f("fee", "fee_no")} AS fee_id, {cid} AS client_id,
              {f("job", "f.job_idx")} AS job_id, {f("batch", "f.batch_no")} AS batch_id,
              {f("document", "f.doc_id")} AS document_id, f.br AS branch_code, f.fee_type, f.qty AS quantity,
              f.unit AS unit_price, f.amount, f.currency, f.fee_date, f.facility AS print_facility
            FROM nfe f JOIN cl c USING (client_idx)"""

    # -- write -------------------------------------------------------------------------------------------------
    def write(self, name: str) -> dict:
        tables: dict[str, dict] = {}
        staged: list[tuple[Path, Path]] = []
        try:
            for t, cols in TABLE_COLUMNS.items():
                tables[t] = {"rows": 0, "resent": 0, "files": 0, "bytes": 0}
                if t not in self.outputs:
                    continue
                self.x(f"CREATE TABLE o_{t} AS {self.outputs[t]}")
                rows, resent = self.con.execute(
                    f"SELECT count(*), count(*) FILTER (WHERE resent) FROM o_{t}"
                ).fetchone()
                dup = self.one(f"SELECT count(*) - count(DISTINCT sk) FROM o_{t}")
                if dup:
                    raise RuntimeError(f"{t}: {dup} key(s) twice in the new day")
                if rows:
                    tdir = self.out / t
                    tdir.mkdir(parents=True, exist_ok=True)
                    final = tdir / name
                    part = tdir / f".{name}.part"
                    p = str(part).replace("'", "''")
                    self.x(
                        f"COPY (SELECT {', '.join(cols)} FROM o_{t} ORDER BY sk) TO '{p}' "
                        "(FORMAT csv, HEADER, DELIMITER ',')"
                    )
                    staged.append((part, final))
                    tables[t] = {"rows": int(rows), "resent": int(resent), "files": 1, "bytes": part.stat().st_size}
                self.x(f"DROP TABLE o_{t}")
                self.step(f"{t}: {rows:,} rows ({resent:,} re-sent)")
            for part, final in staged:
                part.replace(final)
        finally:
            for part, _ in staged:
                if part.exists():
                    part.unlink()
        return tables
