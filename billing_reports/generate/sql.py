"""SQL building blocks shared by both generators: literals, seeded random values, macros, steps."""

from __future__ import annotations

import shutil
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from billing_reports.generate.contract import CHANNELS, ID_FORMATS
from billing_reports.generate.distributions import channel_pick_macro
from billing_reports.sql import sql_string


def sql_list(items: list[str]) -> str:
    return "[" + ", ".join(sql_string(x) for x in items) + "]"


def sql_timestamp(t: datetime | None) -> str:
    return "NULL" if t is None else f"TIMESTAMP '{t:%Y-%m-%d %H:%M:%S}'"


def _purpose(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


class SeededRandom:
    """SQL snippets for deterministic pseudo-random values keyed by row ids."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def uniform(self, purpose: str, *keys: str) -> str:
        """Uniform [0, 1) from hash(keys, seed, purpose)."""
        args = ", ".join(keys)
        # DuckDB's multi-argument hash combines weakly (neighbouring keys share high bits): re-hash it
        return (
            f"((hash(hash({args}, {self.seed}::BIGINT, {_purpose(purpose)}::BIGINT)) >> 11)::DOUBLE"
            " / 9007199254740992.0)"
        )

    def normal(self, purpose: str, *keys: str) -> str:
        """Standard normal (Box-Muller)."""
        return (
            f"(sqrt(-2.0 * ln(1.0 - {self.uniform(purpose + '#1', *keys)}))"
            f" * cos(2.0 * pi() * {self.uniform(purpose + '#2', *keys)}))"
        )

    def pick(self, items_sql: str, n: int, purpose: str, *keys: str) -> str:
        return f"{items_sql}[1 + CAST(floor({self.uniform(purpose, *keys)} * {n}) AS INTEGER)]"


def dst_bounds(year: int) -> tuple[datetime, datetime]:
    """North-American DST, in local wall time: 2nd Sunday of March 02:00 to 1st Sunday of Nov 01:00."""
    m1 = date(year, 3, 1)
    second_sun = m1 + timedelta(days=(6 - m1.weekday()) % 7 + 7)
    n1 = date(year, 11, 1)
    first_sun = n1 + timedelta(days=(6 - n1.weekday()) % 7)
    return (
        datetime.combine(second_sun, datetime.min.time()) + timedelta(hours=2),
        datetime.combine(first_sun, datetime.min.time()) + timedelta(hours=1),
    )


def macro_sql(years) -> list[str]:
    """Time-zone and formatting macros shared by the generator and the one-day extension.

    DST is never active around New Year, so the years of the period are enough. Macros are textual:
    keep the number of references to an argument small, and never nest the time-zone macros on
    unmaterialized expressions (the expression tree would grow exponentially).
    """
    cases = " OR ".join(
        f"(lts >= {sql_timestamp(a)} AND lts < {sql_timestamp(b)})" for y in years for a, b in [dst_bounds(y)]
    )
    ch = sql_list(CHANNELS)
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
        channel_pick_macro(),
        f"CREATE MACRO chan_name(c) AS {ch}[c + 1]",
        "CREATE MACRO vday_of(ts) AS CAST(ts AS DATE)",
    ]


#: A new job's flags from its client's rules valid when it is created (upload ``u``, table ``rules``);
#: shared by ``generate`` and ``extend_one_day`` so both apply the rules the same way.
JOB_RULE_FLAGS = """
    EXISTS (SELECT 1 FROM rules r WHERE r.client_idx = u.client_idx AND r.rule_type = 'ops_approval'
            AND r.valid_from <= u.job_at AND (r.valid_to IS NULL OR u.job_at < r.valid_to)) AS ops,
    EXISTS (SELECT 1 FROM rules r WHERE r.client_idx = u.client_idx AND r.rule_type = 'customer_approval'
            AND r.valid_from <= u.job_at AND (r.valid_to IS NULL OR u.job_at < r.valid_to)) AS cust,
    (SELECT max(CAST(r.rule_value AS INTEGER)) FROM rules r WHERE r.client_idx = u.client_idx
            AND r.rule_type = 'delay_electronic' AND r.valid_from <= u.job_at
            AND (r.valid_to IS NULL OR u.job_at < r.valid_to)) AS delay_days"""


class SqlSteps:
    """What the generator and the one-more-day extension share: SQL on one connection, and ids."""

    con: duckdb.DuckDBPyConnection
    w: dict[str, int]

    def run(self, sql: str) -> None:
        self.con.execute(sql)

    def scalar(self, sql: str):
        return self.con.execute(sql).fetchone()[0]

    def count(self, table: str) -> int:
        return self.scalar(f"SELECT count(*) FROM {table}")

    def contract_columns(self, relation: str, columns: list[str]) -> str:
        """The select list of a table's contract columns from ``relation``: a column of the contract the
        generator has no values for (one added to the source YAML) is written empty."""
        have = {row[0] for row in self.con.execute(f"SELECT * FROM {relation} LIMIT 0").description}
        return ", ".join(name if name in have else f"NULL AS {name}" for name in columns)

    def fid(self, kind: str, expr: str) -> str:
        prefix, _ = ID_FORMATS[kind]
        return f"('{prefix}' || lpad(CAST({expr} AS VARCHAR), {self.w[kind]}, '0'))"


@contextmanager
def scratch_connection(prefix: str, on_disk: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with a private temp directory, removed afterwards. ``on_disk``: a scratch database
    file (compressed, evictable storage) keeps memory modest at 10M documents."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    con = duckdb.connect(str(Path(tmp) / "scratch.duckdb") if on_disk else ":memory:")
    try:
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET temp_directory = {sql_string(tmp)}")
        con.execute("SET memory_limit = '4GB'")
        yield con
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def progress_steps(progress: Callable[[str], None] | None) -> tuple[float, Callable[[str], None]]:
    """The start time and a ``step(message)`` that reports the message with the seconds since then."""
    t0 = time.time()
    say = progress or (lambda _msg: None)

    def step(msg: str) -> None:
        say(f"[{time.time() - t0:7.1f}s] {msg}")

    return t0, step
