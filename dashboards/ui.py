"""Pieces every dashboard page shares: the header with the refresh banner, the filters, tables with
a CSV download, the 10-step job tracker and money formatting. No SQL here: data comes from
``dashboards.data``.
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from billing_reports import settings
from billing_reports.activity_report import STEP_STATE_LABELS, delivery_method_label
from billing_reports.landing_contract import seed_labels
from dashboards import data

#: Fee type labels, from the fee_types seed (the reference table the warehouse builds from it too).
FEE_TYPE_LABELS = seed_labels("fee_types", "fee_type", "fee_type_label")
APPROVAL_STAGE_LABELS = {"ops": "Ops approval", "customer": "Customer approval"}
BATCH_TYPE_LABELS = {"print": "Print", "electronic": "Electronic"}
PICKUP_STATE_LABELS = {"waiting": "Waiting", "overdue": "Overdue", "picked_up": "Picked up"}
STEP_SYMBOLS = {"done": "✔", "current": "●", "pending": "○", "not_applicable": "–"}


def method_label(method: str | None) -> str:
    return delivery_method_label(method)


def fee_type_label(fee_type: str | None) -> str:
    return FEE_TYPE_LABELS.get(fee_type or "", (fee_type or "").replace("_", " ").title())


# --------------------------------------------------------------------------------------------
# Times in the client's zone
# --------------------------------------------------------------------------------------------


def local_time(value: datetime | pd.Timestamp | None, timezone: str | None) -> str:
    """A UTC timestamp (naive = UTC, as the marts store them) shown in ``timezone`` with its abbreviation.

    ``local_time(datetime(2026, 3, 8, 6, 30), "America/New_York")`` is ``"2026-03-08 01:30 EST"``; an hour
    later it is ``"2026-03-08 03:30 EDT"``. No zone shows UTC, labelled so; no value shows "–".
    """
    if value is None or pd.isna(value):
        return "–"
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    moment = stamp.to_pydatetime().astimezone(ZoneInfo(timezone) if timezone else UTC)
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def with_local_times(frame: pd.DataFrame, columns: Sequence[str], timezone_column: str = "timezone") -> pd.DataFrame:
    """``frame`` with each UTC timestamp column shown in its row's client zone (``local_time``).

    The UTC value is kept beside it as ``<column>_utc`` (ISO 8601 with ``Z``), so that a download
    has both. Rows take their zone from ``timezone_column``.
    """
    shown = frame.copy()
    zones = shown[timezone_column] if timezone_column in shown.columns else pd.Series(None, index=shown.index)
    for column in columns:
        if column not in shown.columns:
            continue
        values = shown[column]
        position = shown.columns.get_loc(column) + 1
        utc_text = [
            "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%dT%H:%M:%SZ")
            for value in values
        ]
        shown[column] = [local_time(value, zone) for value, zone in zip(values, zones, strict=True)]
        shown.insert(position, f"{column}_utc", utc_text)
    return shown


UTC_SUFFIX = " (UTC)"
TIMEZONE_COLUMN = "Time zone"


def table_with_times(frame: pd.DataFrame, time_columns: Sequence[str], file_name: str, key: str, **table_args):
    """``table`` for a frame with UTC timestamp columns and a ``Time zone`` column (the row's client's zone).

    Each time column shows the client's local time with its abbreviation (``local_time``); its UTC
    value goes to ``<column> (UTC)`` beside it. The table on screen shows the local times; the CSV
    download has both, and the zone.
    """
    shown = with_local_times(frame, time_columns, timezone_column=TIMEZONE_COLUMN)
    shown = shown.rename(columns={f"{column}_utc": f"{column}{UTC_SUFFIX}" for column in time_columns})
    hidden = {f"{column}{UTC_SUFFIX}" for column in time_columns} | {TIMEZONE_COLUMN}
    table_args.setdefault("column_order", [column for column in shown.columns if column not in hidden])
    return table(shown, file_name, key, **table_args)


# --------------------------------------------------------------------------------------------
# Header and refresh banner
# --------------------------------------------------------------------------------------------


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    days = hours // 24
    return f"{days} days ago"


def viewer_timezone() -> str | None:
    """The zone to show times in when a row has none of its own: a client user's client's zone;
    None (UTC) for operations users, who see every client."""
    scope = data.current_scope()
    if scope.role != "client" or not scope.client_id:
        return None
    own = data.clients([scope.client_id])
    return None if own.empty else own["timezone"].iloc[0]


def refresh_banner() -> None:
    """When the data was last refreshed (in a client user's zone); a warning when that is longer
    ago than the threshold."""
    info = data.last_refresh()
    when = local_time(info.refreshed_at, viewer_timezone())
    source = "" if info.source == "refresh_runs" else " (the warehouse file's time: no refresh run is recorded)"
    if info.is_stale:
        hours = info.stale_after.total_seconds() / 3600
        st.warning(
            f"**Stale data.** Last refreshed {when}{source}, {_age(info.age)}: more than {hours:g} hours ago. "
            "The figures below may be out of date.",
            icon=":material/warning:",
        )
    else:
        st.info(f"Data last refreshed {when}{source}, {_age(info.age)}.", icon=":material/schedule:")


def page_header(title: str, description: str) -> None:
    """The page title, the help page's one-line description and the refresh banner."""
    st.title(title)
    st.caption(description)
    refresh_banner()


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


def client_filter(key: str) -> list[str] | None:
    """Client multiselect by name; nothing chosen = every client (None).

    A client user sees only their own client: no picker, their client's name instead (their
    scope limits every query anyway, in dashboards.data).
    """
    scope = data.current_scope()
    names = data.client_names()
    if scope.role == "client":
        st.markdown(f"**Client**  \n{names.get(scope.client_id, scope.client_id)}")
        return None
    chosen = st.multiselect(
        "Client", list(names), key=key, placeholder="All clients", format_func=lambda value: names.get(value, value)
    )
    return list(chosen) or None


def choice_filter(
    label: str,
    options: Sequence[str] | Mapping[str, str],
    key: str,
    format_func: Callable[[str], str] | None = None,
    placeholder: str = "All",
    default: Sequence[str] | None = None,
) -> list[str] | None:
    """A multiselect; nothing chosen = no condition (None). ``options`` may map each value to the
    label shown for it (then ``format_func`` defaults to that mapping)."""
    if format_func is None:
        format_func = options.get if isinstance(options, Mapping) else str
    chosen = st.multiselect(
        label, list(options), default=default, key=key, format_func=format_func, placeholder=placeholder
    )
    return list(chosen) or None


def method_filter(key: str, options: Sequence[str] | None = None) -> list[str] | None:
    return choice_filter(
        "Delivery method",
        options if options is not None else data.delivery_methods(),
        key,
        format_func=method_label,
        placeholder="All delivery methods",
    )


def branch_filter(key: str, client_ids: Iterable[str] | None) -> list[str] | None:
    branches = data.branches(client_ids)
    names = branches.groupby("branch_code")["branch_name"].first().to_dict() if not branches.empty else {}

    def label(code: str) -> str:
        name = names.get(code)
        return f"{code} · {name}" if name and name != code else code

    return choice_filter("Branch", sorted(names), key, format_func=label, placeholder="All branches")


def date_range_filter(report: str, key: str, label: str = "Date range", help: str | None = None):
    """An inclusive date range, by default the last 30 days up to the report's latest date.

    Returns (start, end); (None, None) when the user cleared the input. While only the first
    date of a new range is picked, that one day is used.
    """
    default = data.default_date_range(report)
    value = st.date_input(label, value=default, key=key, format="YYYY-MM-DD", help=help)
    if isinstance(value, tuple | list):
        if len(value) == 2:
            return value[0], value[1]
        if len(value) == 1:
            return value[0], value[0]
        return None, None
    if isinstance(value, date):
        return value, value
    return None, None


def report_filters(
    report: str, prefix: str, help: str, label: str = "Date range", widths: Sequence[int] = (3, 3, 3)
) -> tuple[list[str] | None, date | None, date | None, list]:
    """The row of filters a report opens with: the client filter (key ``<prefix>_clients``) and the
    range of the report's date (``<prefix>_dates``, ``date_range_filter``), in columns of these
    ``widths``. Returns (clients, start, end, the remaining columns for the page's own filters)."""
    columns = st.columns(list(widths))
    with columns[0]:
        clients = client_filter(f"{prefix}_clients")
    with columns[1]:
        start, end = date_range_filter(report, f"{prefix}_dates", label=label, help=help)
    return clients, start, end, columns[2:]


def describe_range(start: date | None, end: date | None) -> str:
    if start is None and end is None:
        return "all dates"
    if start == end:
        return f"{start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" if start and end else f"{start or '…'} to {end or '…'}"


# --------------------------------------------------------------------------------------------
# Customer support: one setting (BILLING_SUPPORT_URL or BILLING_SUPPORT_EMAIL)
# --------------------------------------------------------------------------------------------


def support_ticket_link(subject: str, body: str) -> str:
    """A "submit a ticket" link prefilled with ``subject`` and ``body``: the support URL with
    ``subject`` and ``description`` query parameters, else a ``mailto:`` to the support address."""
    url = settings.support_url()
    if url:
        separator = "&" if urllib.parse.urlsplit(url).query else "?"
        return f"{url}{separator}{urllib.parse.urlencode({'subject': subject, 'description': body})}"
    query = urllib.parse.urlencode({"subject": subject, "body": body}, quote_via=urllib.parse.quote)
    return f"mailto:{urllib.parse.quote(settings.support_email(), safe='@')}?{query}"


def support_contact() -> str:
    """Markdown naming where customer support is: the support URL and/or e-mail address."""
    email = settings.support_email()
    url = settings.support_url()
    mail = f"[{email}](mailto:{urllib.parse.quote(email, safe='@')})"
    return f"[{url}]({url}) or {mail}" if url else mail


# --------------------------------------------------------------------------------------------
# Branches (R8)
# --------------------------------------------------------------------------------------------

#: The branch of a document that has none (R8).
UNASSIGNED_BRANCH = "UNASSIGNED"


def unnamed_branches(activity: pd.DataFrame) -> pd.DataFrame:
    """The branches of ``activity`` (data.branch_activity rows) without a number (UNASSIGNED) or a
    name, with their documents: client_id, client_name, branch_code, document_count."""
    missing = activity["branch_code"].eq(UNASSIGNED_BRANCH) | activity["branch_name"].isna()
    return (
        activity[missing]
        .groupby(["client_id", "client_name", "branch_code"], as_index=False)["document_count"]
        .sum()
        .sort_values(["client_name", "branch_code"])
    )


# --------------------------------------------------------------------------------------------
# Tables, money
# --------------------------------------------------------------------------------------------


def table(
    frame: pd.DataFrame,
    file_name: str,
    key: str,
    column_config: dict | None = None,
    **dataframe_args,
):
    """A table and a button that downloads exactly what it shows as CSV (``csv_bytes``).

    This is the dashboard's one CSV download: every page's table goes through it."""
    dataframe_args.setdefault("placeholder", "–")
    result = st.dataframe(frame, hide_index=True, column_config=column_config, key=key, **dataframe_args)
    st.download_button(
        "Download CSV",
        csv_bytes(frame),
        file_name=file_name,
        mime="text/csv",
        key=f"{key}_csv",
        icon=":material/download:",
        on_click="ignore",
    )
    return result


#: A text cell starting with one of these is a formula to a spreadsheet (=1+1, +1, -1, @SUM(...));
#: tab and carriage return start one too in some spreadsheets (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'`` so that it is
    shown as the text it is; any other value unchanged (numbers stay numbers, negatives too)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV for download, every text cell safe to open in a spreadsheet: a job,
    file or customer name from a client's file such as ``=HYPERLINK(...)`` is neutralized."""
    safe = frame.copy()
    safe.columns = [neutralize_formula(str(column)) for column in safe.columns]
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column].dtype):
            safe[column] = safe[column].map(neutralize_formula)
    return safe.to_csv(index=False).encode("utf-8")


def money(amount: float | Decimal | None, currency: str | None = None) -> str:
    if amount is None or (isinstance(amount, float) and pd.isna(amount)):
        return "–"
    text = f"{Decimal(str(amount)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"
    return f"{text} {currency}" if currency else text


def to_cents(amount: float | Decimal | None) -> Decimal:
    if amount is None or (isinstance(amount, float) and pd.isna(amount)):
        return Decimal("0.00")
    return Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def convert_cad(amount: float | Decimal | None, rate: float | Decimal | None) -> Decimal | None:
    """A CAD amount in USD at ``rate`` (USD per CAD), rounded to the cent; None without a rate (R9)."""
    if rate is None:
        return None
    return (to_cents(amount) * Decimal(str(rate))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


#: The band of plausible exchange rates, in US dollars per 1 Canadian dollar. The rate has stayed
#: within it since 1990 (its low was about 0.62 in 2002, its high about 1.10 in 2007); its inverse
#: (CAD per USD, about 1.25 to 1.45 in recent years) falls outside, so the usual misreading is caught.
PLAUSIBLE_USD_PER_CAD = (0.60, 1.10)


def plausible_cad_rate(rate: float) -> bool:
    """Whether ``rate`` (USD per 1 CAD) is within PLAUSIBLE_USD_PER_CAD; outside it, the page asks."""
    low, high = PLAUSIBLE_USD_PER_CAD
    return low <= rate <= high


def count_axis(figure, max_value: float, axis: str = "y") -> None:
    """Whole-number ticks on a count axis (no "0.5 documents")."""
    update = figure.update_yaxes if axis == "y" else figure.update_xaxes
    if max_value <= 10:
        update(dtick=1, rangemode="tozero")
    else:
        update(tickformat=",d", rangemode="tozero")


def date_axis(figure, start: date | None, end: date | None) -> None:
    """A date x axis that spans the whole filter range, so that quiet days show as gaps."""
    figure.update_xaxes(type="date", tickformat="%Y-%m-%d")
    if start is not None and end is not None:
        figure.update_xaxes(
            range=[pd.Timestamp(start) - pd.Timedelta(hours=12), pd.Timestamp(end) + pd.Timedelta(hours=12)]
        )


def empty_state(message: str, hint: str | None = None) -> None:
    st.info(message, icon=":material/inbox:")
    if hint:
        st.caption(hint)


# --------------------------------------------------------------------------------------------
# The 10-step job tracker (R6)
# --------------------------------------------------------------------------------------------


def tracker_symbols(steps: pd.DataFrame) -> str:
    """A job's 10 steps as one line of symbols: ✔ done, ● current, ○ pending, – not applicable."""
    ordered = steps.sort_values("step_order")
    return "".join(STEP_SYMBOLS.get(state, "?") for state in ordered["step_state"])


TRACKER_LEGEND = "Tracker: ✔ done · ● current · ○ pending · – not applicable (steps 1 to 10, left to right)"

_TRACKER_CSS = """
<style>
.bt-tracker { display: flex; gap: 0; margin: 8px 0 16px; font-family: inherit; }
.bt-step { flex: 1 1 0; text-align: center; position: relative; padding: 0 4px; }
.bt-step::before { content: ""; position: absolute; top: 15px; left: -50%; width: 100%; height: 3px;
                   background: #d9e2ec; z-index: 0; }
.bt-step:first-child::before { display: none; }
.bt-step.bt-done::before, .bt-step.bt-current::before { background: #2f9e44; }
.bt-dot { width: 32px; height: 32px; border-radius: 50%; margin: 0 auto 6px; display: flex;
          align-items: center; justify-content: center; font-weight: 700; font-size: 14px;
          position: relative; z-index: 1; border: 2px solid #bcccdc; background: #fff; color: #829ab1; }
.bt-done .bt-dot { background: #2f9e44; border-color: #2f9e44; color: #fff; }
.bt-current .bt-dot { background: #1c7ed6; border-color: #1c7ed6; color: #fff; box-shadow: 0 0 0 4px #d0ebff; }
.bt-not_applicable .bt-dot { border-style: dashed; color: #bcccdc; background: #f8f9fa; font-size: 11px; }
.bt-label { font-size: 12px; line-height: 1.25; color: #334e68; }
.bt-current .bt-label { font-weight: 700; color: #1864ab; }
.bt-not_applicable .bt-label { color: #9fb3c8; }
.bt-state { font-size: 11px; color: #627d98; margin-top: 2px; }
.bt-date { font-size: 11px; color: #486581; margin-top: 2px; }
</style>
"""


def _step_value(step, name: str):
    """A column of a step row, or None when the frame does not have it or it is null."""
    value = getattr(step, name, None)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def tracker_html(steps: pd.DataFrame, timezone: str | None = None) -> str:
    """The visual tracker of one job in the help page's words: a dot per step, its title (steps 7
    and 9 with their date), state, time entered (in the client's ``timezone``), the help page's
    description and, for a step that does not apply, why not."""
    parts = [_TRACKER_CSS, '<div class="bt-tracker" role="list">']
    for step in steps.sort_values("step_order").itertuples(index=False):
        state = str(step.step_state)
        mark = {"done": "✓", "current": str(step.step_order), "not_applicable": "N/A"}.get(state, str(step.step_order))
        title = str(_step_value(step, "step_title") or step.status_label)
        reason = _step_value(step, "not_applicable_reason")
        description = _step_value(step, "help_text")
        when = ""
        if state != "not_applicable" and _step_value(step, "entered_at") is not None:
            when = local_time(step.entered_at, timezone)
        state_text = reason if state == "not_applicable" and reason else STEP_STATE_LABELS.get(state, state)
        hover = f"{title}: {state_text}" + (f". {description}" if description else "")
        parts.append(
            f'<div class="bt-step bt-{html.escape(state)}" role="listitem" data-state="{html.escape(state)}" '
            f'title="{html.escape(hover)}">'
            f'<div class="bt-dot">{html.escape(mark)}</div>'
            f'<div class="bt-label">{html.escape(title)}</div>'
            f'<div class="bt-state">{html.escape(state_text)}</div>'
            f'<div class="bt-date">{html.escape(when)}</div>'
            "</div>"
        )
    parts.append("</div>")
    return "".join(parts)
