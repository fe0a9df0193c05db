"""BENCHMARKS.md from the JSON of one or several ``billing-reports bench`` calls.

Every figure and every verdict of the report is computed here from the JSON; nothing is typed in
by hand but the method (what is measured) and the targets. The hand-written analysis (profiles,
the before and after of each change) lives in ``docs/benchmarks-notes.md``, which the report
includes verbatim at its end, so that regenerating the report never loses it.

Several calls merge into one report (the 100M run is a call of its own): each size is taken from
the latest call that measured it, and every call's command, date and machine are listed.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path

from billing_reports.cli import UserError
from billing_reports.settings import PROJECT_DIR

DEFAULT_NOTES = PROJECT_DIR / "docs" / "benchmarks-notes.md"

#: The refresh's stages (bench._STAGE_MARKERS) as the report names them.
STAGE_LABELS = {
    "check headers (quarantine)": "check every file's header; quarantine files rejected whole",
    "copy the published file forward (incremental)": "copy the published file forward",
    "dbt start-up and parse": "dbt start-up and parse (partial parsing)",
    "landing (on-run-start)": "landing (on-run-start: files read into `raw`)",
    "models and tests": "models and tests",
    "validate the landed rows (GX)": "GX on the landed rows (a sample per table)",
    "record, publish, export Parquet": "record the run, publish, export Parquet",
}

METHOD = """\
Per size (`billing_reports/bench.py`):

- the **scan floor**: DuckDB reading every landing file once into tables (all columns as text, in
  a fresh database): the least any refresh must do;
- a **full refresh**: `billing-reports refresh` into a fresh warehouse directory (header checks,
  `dbt build` of every model with its data and unit tests, Great Expectations on the landed rows,
  recording, atomic publish, Parquet export), in a child process, with the time of each stage read
  from the refresh's own log. Each full refresh is paired with a scan floor measured just before
  it, and "× floor" is the median of the pairs' ratios: the machine's speed drifts over minutes;
- **peak memory**, two ways: the largest single process (`ru_maxrss` of the refresh's children)
  and the whole process tree (the RSS of the refresh and all its descendants summed, sampled from
  `/proc` every 0.5 s; pages shared between processes are counted once per process, and a peak
  shorter than the sampling period can be missed, so the tree can read below the largest process);
- the **refresh after one more day**, the scheduled case: on a hard-linked copy of the landing
  folder one full refresh publishes it (not counted), then `--runs` times the generator writes one
  more extract day (`extend_one_day`) and `billing-reports refresh` runs on the published warehouse;
- **every dashboard page's queries** (the functions of `dashboards.data`, uncached, as
  operations staff who see every client): median and p95 of `--query-runs` calls;
- the **watch latency**, after the days above and on the same folder and warehouse: `--runs` more
  days are written into a staging copy and renamed into the landing folder under a running
  `billing-reports refresh --watch --notify` (half a poll interval after it started: the average
  wait for a file landing at a random moment), with a local SMTP server recording the e-mails. From
  the moment the files land it records when the watcher starts its refresh, when the published file
  is replaced, when the dashboard's functions show a job of the new day (and the refresh banner the
  new refresh), and when the last e-mail arrives. The outbox is first filled with what the published
  warehouse already called for, so the e-mails counted are the new day's. The watcher is then
  stopped with SIGTERM and the bench checks that none of its processes is left."""


# --------------------------------------------------------------------------------------------
# Reading and merging
# --------------------------------------------------------------------------------------------


def calls_of(document: dict | list) -> list[dict]:
    """The bench calls in a JSON document: one call (``{"command", "sizes", ...}``), ``{"runs": [...]}``
    or a list of either."""
    if isinstance(document, list):
        return [call for item in document for call in calls_of(item)]
    if "sizes" in document:
        return [document]
    if "runs" in document and isinstance(document["runs"], list):
        return calls_of(document["runs"])
    raise ValueError("not the JSON of `billing-reports bench` (no 'sizes' and no 'runs')")


def load_calls(paths: list[Path]) -> list[dict]:
    """Every call in these JSON files, oldest first."""
    calls = []
    for path in paths:
        try:
            calls += calls_of(json.loads(Path(path).read_text()))
        except FileNotFoundError:
            raise UserError(f"--report-from/--merge: {path} does not exist") from None
        except (json.JSONDecodeError, ValueError) as error:
            raise UserError(f"--report-from/--merge: {path}: {error}") from None
    return sorted(calls, key=lambda call: call.get("started_at", ""))


def sizes_of(calls: list[dict]) -> list[tuple[dict, dict]]:
    """(size, call) per number of documents, from the latest call that measured it; by size."""
    latest: dict[int, tuple[dict, dict]] = {}
    for call in sorted(calls, key=lambda call: call.get("started_at", "")):
        for size in call["sizes"]:
            latest[size["documents"]] = (size, call)
    return [latest[documents] for documents in sorted(latest)]


# --------------------------------------------------------------------------------------------
# Targets: each computed from the figures
# --------------------------------------------------------------------------------------------

MET, NOT_MET, NOT_MEASURED = "met", "**not met**", "not measured"


def _ratio_target(limit: float) -> Callable[[dict], tuple[str, str]]:
    def check(size: dict) -> tuple[str, str]:
        ratio = size.get("ratio_to_floor")
        if ratio is None:
            return "–", NOT_MEASURED
        pairs = len(size.get("ratio_to_floor_runs") or [])
        text = (
            f"{ratio:.1f} × (median of {pairs} pair(s); medians: full {size['full_refresh_seconds']:.1f} s, "
            f"floor {size['scan_floor_seconds']:.1f} s)"
        )
        return text, MET if ratio <= limit and size.get("full_refresh_ok", True) else NOT_MET

    return check


def _incremental_target(limit: float) -> Callable[[dict], tuple[str, str]]:
    def check(size: dict) -> tuple[str, str]:
        ratio = size.get("incremental_ratio_to_full")
        if ratio is None:
            return "–", NOT_MEASURED
        modes = sorted(set(size.get("incremental_modes") or []) - {None})
        text = (
            f"{_percent(ratio)} ({size['incremental_refresh_seconds']:.1f} s vs {size['full_refresh_seconds']:.1f} s, "
            f"medians; {', '.join(modes) or 'unknown'} build)"
        )
        return text, MET if ratio <= limit and size.get("incremental_ok", True) else NOT_MET

    return check


def _watch_target(key: str, what: str, limit: float) -> Callable[[dict], tuple[str, str]]:
    def check(size: dict) -> tuple[str, str]:
        watch = size.get("watch")
        if not watch:
            return "–", NOT_MEASURED
        runs = watch.get("runs") or []
        seconds = watch.get(key)
        if key == "last_email_seconds" and runs and not any(run.get("emails") for run in runs):
            return "no e-mail was called for by the days landed", NOT_MEASURED
        if seconds is None:
            return f"the {what} never showed the new day within the bench's time limit", NOT_MET
        text = (
            f"{seconds:.0f} s (median of {len(runs)} day(s); --interval {watch['interval_seconds']:g} s, "
            f"--settle {watch['settle_seconds']:g} s)"
        )
        ok = seconds <= limit and watch.get("ok", False)
        return text, MET if ok else NOT_MET

    return check


def _pages_target(median_limit: float, p95_limit: float) -> Callable[[dict], tuple[str, str]]:
    def check(size: dict) -> tuple[str, str]:
        pages = {name: timing for name, timing in (size.get("dashboard_queries") or {}).items() if name[:1] != "_"}
        if not pages or "error" in pages:
            return "–", NOT_MEASURED
        failed = [name for name, timing in pages.items() if "error" in timing]
        if failed:
            return f"error on {', '.join(failed)}", NOT_MET
        worst_median = max(pages, key=lambda name: pages[name]["median_ms"])
        worst_p95 = max(pages, key=lambda name: pages[name]["p95_ms"])
        over = [
            name for name, timing in pages.items() if timing["median_ms"] > median_limit or timing["p95_ms"] > p95_limit
        ]
        text = (
            f"worst median {pages[worst_median]['median_ms']:.0f} ms ({worst_median}), "
            f"worst p95 {pages[worst_p95]['p95_ms']:.0f} ms ({worst_p95})"
        )
        if over:
            text += f"; over: {', '.join(over)}"
        return text, NOT_MET if over else MET

    return check


def _memory_target(limit_mib: float) -> Callable[[dict], tuple[str, str]]:
    def check(size: dict) -> tuple[str, str]:
        largest, tree = size.get("peak_rss_mib"), size.get("peak_tree_rss_mib")
        if largest is None:
            return "–", NOT_MEASURED
        text = f"largest process {largest:,.0f} MiB"
        peak = largest
        if tree:
            text = f"process tree {tree:,.0f} MiB, " + text
            peak = tree
        return text, MET if peak <= limit_mib else NOT_MET

    return check


def _completes(size: dict) -> tuple[str, str]:
    if size.get("full_refresh_seconds") is None:
        return "–", NOT_MEASURED
    tree = size.get("peak_tree_rss_mib")
    memory = f"{size['peak_rss_mib']:,.0f} MiB largest process" + (f", {tree:,.0f} MiB process tree" if tree else "")
    runs = len(size.get("full_refresh_runs") or [])
    text = f"{size['full_refresh_seconds']:.0f} s ({runs} run(s)), peak {memory}"
    return text, MET if size.get("full_refresh_ok") else NOT_MET


#: (target, documents, check): the targets of issue 17 and those kept from earlier issues.
TARGETS: tuple[tuple[str, int, Callable[[dict], tuple[str, str]]], ...] = (
    ("full refresh ≤ 3 × scan floor", 1_000_000, _ratio_target(3.0)),
    ("full refresh ≤ 3 × scan floor", 10_000_000, _ratio_target(3.0)),
    ("refresh after one more day ≤ 20 % of full", 1_000_000, _incremental_target(0.20)),
    ("refresh after one more day ≤ 10 % of full", 10_000_000, _incremental_target(0.10)),
    ("a landed file on the dashboard ≤ 2 min (`refresh --watch`)", 10_000_000,
     _watch_target("dashboard_seconds", "dashboard", 120.0)),
    ("a landed file's e-mails sent ≤ 2 min (`refresh --watch --notify`)", 10_000_000,
     _watch_target("last_email_seconds", "e-mail", 120.0)),
    ("dashboard page queries: median ≤ 150 ms, p95 ≤ 400 ms", 10_000_000, _pages_target(150.0, 400.0)),
    ("peak memory of a full refresh ≤ 6 GiB", 10_000_000, _memory_target(6 * 1024)),
    ("a full refresh completes, once (time and peak memory)", 100_000_000, _completes),
)  # fmt: skip


def target_rows(calls: list[dict]) -> list[tuple[str, str, str, str]]:
    """(target, documents, measured, status) for every target, from the merged figures."""
    by_documents = {size["documents"]: size for size, _ in sizes_of(calls)}
    rows = []
    for target, documents, check in TARGETS:
        size = by_documents.get(documents)
        measured, status = check(size) if size else ("–", NOT_MEASURED)
        rows.append((target, f"{documents:,}", measured, status))
    return rows


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _s(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _percent(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio * 100:.0f} %"


def _mib(value: float | None) -> str:
    return "–" if not value else f"{value:,.0f}"


def _short(documents: int) -> str:
    for unit, name in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if documents >= unit and documents % unit == 0:
            return f"{documents // unit}{name}"
    return f"{documents:,}"


def render_table(results: dict | list[dict]) -> str:
    """The summary: one row per size."""
    sizes = sizes_of(calls_of(results))
    lines = [
        "| documents | landing MiB | scan floor s | full refresh s | × floor | s per million "
        "| peak RSS MiB (largest process) | peak RSS MiB (process tree) | after one more day s | % of full |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, _ in sizes:
        ratio = size.get("incremental_ratio_to_full")
        lines.append(
            f"| {size['documents']:,} | {size['landing_mib']:,} | {_s(size['scan_floor_seconds'])} | "
            f"{_s(size['full_refresh_seconds'])} | {_s(size['ratio_to_floor'])} | {_s(size['seconds_per_million'])} | "
            f"{_mib(size.get('peak_rss_mib'))} | {_mib(size.get('peak_tree_rss_mib'))} | "
            f"{_s(size.get('incremental_refresh_seconds'))} | {_percent(ratio)} |"
        )
    return "\n".join(lines)


def _machines(calls: list[dict]) -> list[str]:
    lines = [
        "| call | started (UTC) | finished (UTC) | load average at start / end (1, 5, 15 min) | CPUs | memory GiB "
        "| Python | DuckDB | platform |",
        "|---:|---|---|---|---:|---:|---|---|---|",
    ]
    for number, call in enumerate(calls, 1):
        machine = call.get("machine", {})
        lines.append(
            f"| {number} | {call.get('started_at', '?')} | {call.get('finished_at', '?')} | "
            f"{_loads(machine.get('load_average_start'))} / {_loads(machine.get('load_average_end'))} | "
            f"{machine.get('cpus', '?')} | "
            f"{machine.get('memory_gib', '?')} | {machine.get('python', '?')} | {machine.get('duckdb', '?')} | "
            f"{machine.get('platform', '?')} |"
        )
    return lines


def _loads(values: list[float] | None) -> str:
    return "?" if not values else ", ".join(f"{value:g}" for value in values)


def _commands(calls: list[dict], sizes: list[tuple[dict, dict]]) -> list[str]:
    lines = []
    for number, call in enumerate(calls, 1):
        used = [f"{size['documents']:,}" for size, source in sizes if source is call]
        measured = ", ".join(f"{s['documents']:,}" for s in call["sizes"])
        note = f"sizes {measured}" + (
            ""
            if len(used) == len(call["sizes"])
            else f" (in this report: {', '.join(used) or 'none, superseded by a later call'})"
        )
        lines.append(
            f"{number}. `{call.get('command', '?')}`, started {call.get('started_at', '?')}: {note}; "
            f"medians of {call.get('runs', '?')} run(s)"
        )
    return lines


def _pairs(sizes: list[tuple[dict, dict]]) -> list[str]:
    lines = []
    for size, _ in sizes:
        floors = size.get("scan_floor_runs") or []
        fulls = size.get("full_refresh_runs") or []
        ratios = size.get("ratio_to_floor_runs") or []
        largest = size.get("peak_rss_mib_runs") or [None] * len(fulls)
        tree = size.get("peak_tree_rss_mib_runs") or [None] * len(fulls)
        lines += [
            f"### {size['documents']:,} documents",
            "",
            "| run | scan floor s | full refresh s | × floor | peak RSS MiB (largest process) | peak RSS MiB (process tree) |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for number, row in enumerate(zip(floors, fulls, ratios, largest, tree, strict=False), 1):
            floor, full, ratio, big, whole = row
            lines.append(f"| {number} | {floor:.1f} | {full:.1f} | {ratio:.1f} | {_mib(big)} | {_mib(whole)} |")
        lines.append(
            f"| **median** | {_s(size.get('scan_floor_seconds'))} | {_s(size.get('full_refresh_seconds'))} | "
            f"{_s(size.get('ratio_to_floor'))} | max {_mib(size.get('peak_rss_mib'))} | "
            f"max {_mib(size.get('peak_tree_rss_mib'))} |"
        )
        if size.get("full_refresh_ok") is False:
            lines.append("\n**A full refresh failed in this call**: its figures are not a refresh's.")
        lines.append("")
    return lines


def _incremental(sizes: list[tuple[dict, dict]]) -> list[str]:
    lines = [
        "| documents | each day s | median s | % of full | build mode | peak RSS MiB (largest process) "
        "| peak RSS MiB (process tree) |",
        "|---:|---|---:|---:|---|---:|---:|",
    ]
    measured = False
    for size, _ in sizes:
        if size.get("incremental_refresh_seconds") is None:
            continue
        measured = True
        runs = " / ".join(f"{seconds:.1f}" for seconds in size.get("incremental_refresh_runs") or [])
        modes = ", ".join(sorted({str(mode) for mode in size.get("incremental_modes") or []}))
        ratio = size.get("incremental_ratio_to_full")
        lines.append(
            f"| {size['documents']:,} | {runs} | {size['incremental_refresh_seconds']:.1f} | "
            f"{_percent(ratio)} | {modes} | {_mib(size.get('incremental_peak_rss_mib'))} | "
            f"{_mib(size.get('incremental_peak_tree_rss_mib'))} |"
        )
        if size.get("incremental_ok") is False:
            lines.append(f"| {size['documents']:,} | **a refresh after one more day failed** | | | | | |")
    return lines if measured else ["Not measured (every call ran with `--no-incremental`)."]


def _stages(sizes: list[tuple[dict, dict]]) -> list[str]:
    columns = []
    for size, _ in sizes:
        columns.append(
            (f"{_short(size['documents'])} full", size.get("stages") or {}, size.get("full_refresh_seconds"))
        )
        if size.get("incremental_stages"):
            columns.append(
                (
                    f"{_short(size['documents'])} one more day",
                    size["incremental_stages"],
                    size.get("incremental_refresh_seconds"),
                )
            )
    names = [name for name in STAGE_LABELS if any(name in stages for _, stages, _ in columns)]
    names += sorted({name for _, stages, _ in columns for name in stages} - set(names))
    lines = ["| stage | " + " | ".join(title for title, _, _ in columns) + " |", "|---|" + "---:|" * len(columns)]
    for name in names:
        cells = [_s(stages.get(name), 0) if name in stages else "–" for _, stages, _ in columns]
        lines.append(f"| {STAGE_LABELS.get(name, name)} | " + " | ".join(cells) + " |")
    lines.append("| **total (wall clock)** | " + " | ".join(_s(total) for _, _, total in columns) + " |")
    return lines


def _pages(sizes: list[tuple[dict, dict]]) -> list[str]:
    names: list[str] = []
    for size, _ in sizes:
        for name in size.get("dashboard_queries") or {}:
            if name[:1] != "_" and name != "error" and name not in names:
                names.append(name)
    header = "| page | " + " | ".join(
        f"{_short(s['documents'])} median | {_short(s['documents'])} p95" for s, _ in sizes
    )
    lines = [header + " |", "|---|" + "---:|---:|" * len(sizes)]
    for name in names:
        cells = []
        for size, _ in sizes:
            timing = (size.get("dashboard_queries") or {}).get(name)
            if timing is None:
                cells += ["–", "–"]
            elif "error" in timing:
                cells += [f"error: {timing['error']}", ""]
            else:
                cells += [f"{timing['median_ms']:.0f}", f"{timing['p95_ms']:.0f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    runs = sorted({timing.get("runs") for s, _ in sizes for timing in (s.get("dashboard_queries") or {}).values()
                   if isinstance(timing, dict) and timing.get("runs")})  # fmt: skip
    lines += ["", f"Calls per figure: {', '.join(str(r) for r in runs) or '?'} (uncached)."]
    return lines


def _watch(sizes: list[tuple[dict, dict]]) -> list[str]:
    measured = [(size, size["watch"]) for size, _ in sizes if size.get("watch")]
    if not measured:
        return ["Not measured in these calls (it needs the refresh after one more day; `--no-watch` skips it)."]
    lines = [
        "Seconds from the moment the files land (median over the days; each day's figures below):",
        "",
        "| documents | --interval / --settle s | days | refresh starts | published file replaced | on the dashboard "
        "| refresh and notify done | last e-mail | e-mails sent | watcher stopped cleanly |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size, watch in measured:
        runs = watch.get("runs") or []
        emails = statistics.median(run.get("emails", 0) for run in runs) if runs else 0
        lines.append(
            f"| {size['documents']:,} | {watch['interval_seconds']:g} / {watch['settle_seconds']:g} | {len(runs)} | "
            f"{_s(watch.get('refresh_started_seconds'))} | {_s(watch.get('published_seconds'))} | "
            f"{_s(watch.get('dashboard_seconds'))} | {_s(watch.get('refresh_done_seconds'))} | "
            f"{_s(watch.get('last_email_seconds'))} | {emails:g} (median) | "
            f"{'yes' if watch.get('stopped_cleanly') else '**no**'} |"
        )
    lines.append("")
    for size, watch in measured:
        for run in watch.get("runs") or []:
            kinds = ", ".join(f"{count} {kind}" for kind, count in sorted((run.get("emails_by_kind") or {}).items()))
            stop = run.get("stop") or {}
            lines.append(
                f"- {size['documents']:,}, day {run.get('day')} ({run.get('new_files')} files, {run.get('new_jobs')} "
                f"new jobs): noticed {_s(run.get('noticed_seconds'))} s, refresh starts "
                f"{_s(run.get('refresh_started_seconds'))} s, published {_s(run.get('published_seconds'))} s, dashboard "
                f"{_s(run.get('dashboard_seconds'))} s, e-mails {kinds or 'none'} (last "
                f"{_s(run.get('last_email_seconds'))} s); watcher exit code {stop.get('exit_code')}, stopped in "
                f"{_s(stop.get('stop_seconds'))} s, {stop.get('processes_left', '?')} process(es) left"
                + ("" if run.get("ok") else f"; **failed**: {run.get('outcome') or run.get('log_tail')}")
            )
    return lines


def render_markdown(results: dict | list[dict], notes: str | None = None) -> str:
    """The whole report from one call's results, or several calls' (merged, the latest per size)."""
    calls = sorted(calls_of(results), key=lambda call: call.get("started_at", ""))
    sizes = sizes_of(calls)
    parts = [
        "# Benchmarks",
        "",
        "Generated by `billing-reports bench` (`billing_reports/bench_report.py`) from the JSON of the calls "
        "listed below: do not edit it by hand. Several calls make one report: a 100M call after the 1M and 10M "
        "one, `billing-reports bench --documents 1e8 --runs 1 --no-incremental --merge bench/bench.json --json "
        "bench/bench-100M.json`; or, from kept JSON files, `billing-reports bench --report-from "
        "bench/bench.json,bench/bench-100M.json` (the latest call wins for a size measured twice). The analysis (profiles, the before and after of "
        "each change that mattered) is written by hand in [docs/benchmarks-notes.md](docs/benchmarks-notes.md), "
        "included verbatim under [Notes](#notes).",
        "",
        "The machine is shared and noisy, so every figure is a median and every ratio is against a baseline "
        "measured in the same call.",
        "",
        "## Machine",
        "",
        *_machines(calls),
        "",
        "## Commands",
        "",
        *_commands(calls, sizes),
        "",
        "## What is measured",
        "",
        METHOD,
        "",
        "## Results",
        "",
        render_table(calls),
        "",
        "## Against the targets",
        "",
        "| target | documents | measured | status |",
        "|---|---:|---|---|",
        *[
            f"| {target} | {documents} | {measured} | {status} |"
            for target, documents, measured, status in target_rows(calls)
        ],
        "",
        "## Full refresh against the scan floor, run by run",
        "",
        *_pairs(sizes),
        "## Refresh after one more day",
        "",
        *_incremental(sizes),
        "",
        "## By stage",
        "",
        "Median seconds, from the refresh's own log (whole seconds); the total is the wall clock of the whole command.",
        "",
        *_stages(sizes),
        "",
        "## Dashboard queries",
        "",
        "Milliseconds, median and p95:",
        "",
        *_pages(sizes),
        "",
        "## Watch latency: from a file landing to the dashboard and the e-mails",
        "",
        *_watch(sizes),
        "",
        "## Notes",
        "",
    ]
    text = "\n".join(parts) + "\n"
    if notes:
        text += notes.strip() + "\n"
    else:
        text += "(no notes file)\n"
    return text


def read_notes(path: Path | None) -> str | None:
    path = DEFAULT_NOTES if path is None else path
    return path.read_text(encoding="utf-8") if path.is_file() else None
