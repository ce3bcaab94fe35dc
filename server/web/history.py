"""History with filters and aggregate reports, as pages and JSON (shell; staff and admin).

Rows carry no personal fields (no pseudonym, no evidence), so listing them writes no audit row;
opening one alert goes through the audited alert view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from firmware_bridge.wire import EARLIEST_UTC, ID_PATTERN, LATEST_UTC, AlertKind
from server.domain.alerts import KIND_LABELS
from server.domain.lifecycle import Outcome
from server.store.history import HistoryFilter, history
from server.web.deps import StaffUser, StoreDep, context_of
from server.web.report_math import report, response_seconds
from server.web.templating import render

router = APIRouter()

OUTCOME_LABELS = {
    Outcome.NALOXONE_GIVEN.value: "naloxone given",
    Outcome.AMBULANCE_CALLED.value: "ambulance called",
    Outcome.BREATHING_RESTORED.value: "breathing restored",
    Outcome.OCCUPANT_OK.value: "occupant okay",
    Outcome.FALSE_ALARM.value: "false alarm",
    Outcome.SPACE_EMPTY.value: "space empty",
    Outcome.RECONNECTED.value: "reconnected (technical)",
    Outcome.OTHER.value: "other",
    "open": "still open",
}
"""How outcomes read on the page; every :class:`Outcome` is here (a test checks)."""

SiteQ = Annotated[str | None, Query(pattern=ID_PATTERN.pattern)]
KindQ = Annotated[AlertKind | None, Query()]
OutcomeQ = Annotated[str | None, Query(pattern=f"^({'|'.join(OUTCOME_LABELS)})$")]
FIRST_DAY: Final = EARLIEST_UTC.date()
LAST_DAY: Final = (LATEST_UTC - timedelta(days=2)).date()
"""Dates a filter may name: the range every stored time is in, with room for the day that
``to`` includes, so a far date is a 422 with the reason and never an overflow."""

DateQ = Annotated[date | None, Query(alias="from", ge=FIRST_DAY, le=LAST_DAY)]
UntilQ = Annotated[date | None, Query(alias="to", ge=FIRST_DAY, le=LAST_DAY)]


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters as asked (for the form to show them again) and as the store takes them."""

    wanted: HistoryFilter
    chosen: dict[str, str]


def _filters(
    site: SiteQ = None,
    kind: KindQ = None,
    outcome: OutcomeQ = None,
    since: DateQ = None,
    until: UntilQ = None,
) -> Filters:
    """A dependency: the query string's filters, checked (a bad value is a 422 with the reason)."""
    wanted = HistoryFilter(
        site=site or None,
        kind=None if kind is None else kind.value,
        outcome=outcome or None,
        since=None if since is None else datetime.combine(since, time(), UTC),
        until=None if until is None else datetime.combine(until, time(), UTC) + timedelta(days=1),
    )
    chosen = {
        "site": site or "",
        "kind": "" if kind is None else kind.value,
        "outcome": outcome or "",
        "from": "" if since is None else since.isoformat(),
        "to": "" if until is None else until.isoformat(),
    }
    return Filters(wanted, chosen)


FiltersDep = Annotated[Filters, Depends(_filters)]
REPORT_ROWS: Final = 100_000
"""Reports read every matching alert: years of a hostel, far below SQLite's comfort."""


def _rows(request: Request, store: StoreDep, wanted: HistoryFilter) -> list[dict[str, Any]]:
    settings = context_of(request).settings
    rows = history(store.db, wanted)
    for row in rows:
        row["response_s"] = response_seconds(row)
        row["label"] = KIND_LABELS.get(AlertKind(row["kind"]), row["kind"])
        row["room_label"] = settings.room_label(row["site_id"], row["room_id"])
    return rows


@router.get("/api/history")
async def history_json(
    request: Request, store: StoreDep, user: StaffUser, filters: FiltersDep
) -> list[dict[str, Any]]:
    """Alerts matching the filters, newest first (dates are UTC days, ``to`` inclusive)."""
    del user
    return _rows(request, store, filters.wanted)


@router.get("/api/reports")
async def report_json(store: StoreDep, user: StaffUser, filters: FiltersDep) -> dict[str, Any]:
    """Counts by kind and outcome and response-time median/p90; counts under 5 shown as "<5".

    The report takes the site and date filters; kind and outcome are what it breaks down by.
    """
    del user
    return report(history(store.db, _for_report(filters), limit=REPORT_ROWS))


def _for_report(filters: Filters) -> HistoryFilter:
    wanted = filters.wanted
    return HistoryFilter(site=wanted.site, since=wanted.since, until=wanted.until)


def _choices(request: Request) -> dict[str, Any]:
    settings = context_of(request).settings
    return {
        "sites": [(site.id, site.name) for site in settings.sites],
        "kinds": [(kind.value, KIND_LABELS.get(kind, kind.value)) for kind in AlertKind],
        "outcomes": list(OUTCOME_LABELS.items()),
        "outcome_labels": OUTCOME_LABELS,
    }


@router.get("/history")
async def history_page(
    request: Request, store: StoreDep, user: StaffUser, filters: FiltersDep
) -> Response:
    """The history page: a filter form and the matching alerts."""
    del user
    context = {
        "rows": _rows(request, store, filters.wanted),
        "chosen": filters.chosen,
        **_choices(request),
    }
    return render(request, "history.html", context)


@router.get("/reports")
async def reports_page(
    request: Request, store: StoreDep, user: StaffUser, filters: FiltersDep
) -> Response:
    """Aggregate reports with small counts suppressed."""
    del user
    data = report(history(store.db, _for_report(filters), limit=REPORT_ROWS))
    context = {"report": data, "chosen": filters.chosen, **_choices(request)}
    return render(request, "reports.html", context)
