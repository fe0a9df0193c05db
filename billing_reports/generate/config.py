"""The per-client configuration (clients, contacts, branches, rules and their changes), laid out in Python."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

from billing_reports.generate.names import (
    CA_AREA,
    CA_CITIES,
    CA_NAMES,
    FIRST,
    LAST,
    US_AREA,
    US_CITIES,
    US_NAMES,
    ZONES,
)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())[:14]


def build_config(n: int, days: int, seed: int, start: datetime, n_docs: int) -> dict:
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

    us_names = US_NAMES[:]
    ca_names = CA_NAMES[:]
    rng.shuffle(us_names)
    rng.shuffle(ca_names)
    clients: list[dict] = []
    for i in range(n):
        tz, country, std = ZONES[i] if i < len(ZONES) else rng.choice(ZONES)
        names = ca_names if country == "CA" else us_names
        k = sum(1 for c in clients if c["country"] == country)
        name = names[k % len(names)] + ("" if k < len(names) else f" {k // len(names) + 1}")
        by_branch = i in (0, 1, 3) or (i >= 7 and rng.random() < 0.3)
        cities = CA_CITIES if country == "CA" else US_CITIES
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
                "area": CA_AREA if country == "CA" else US_AREA,
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
            f, last = rng.choice(FIRST), rng.choice(LAST)
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
