"""Whether a resident's sensors could see their breathing: the figures of the resident page's
card, the residents list and their API in :mod:`server.web.consent` (shell over
:mod:`server.domain.signal`).

How long, over the last day, the edge's detector said a sensor could not see this resident's
breathing (removed, silent, or breathing under its noise floor). While it cannot, an apnoea
may be paged late or not at all, so a resident often in that state needs another sensor (a
respiration belt, a room radar). Derived health information: staff and admins only, each read
audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from firmware_bridge.wire import format_utc
from server.domain.signal import stretches, visibility, window
from server.store.db import Store

WINDOW_H: Final = 24.0
ADVICE_PCT: Final = 20.0
"""From this share of the window unable to see breathing, the card suggests another sensor."""


def visibility_view(
    store: Store, participant_id: str, now: datetime, hours: float = WINDOW_H
) -> dict[str, Any]:
    """The card's figures (the caller audits first)."""
    start, end = window(now, hours)
    seen = visibility(stretches(store.signal_alerts(participant_id, start)), start, end)
    sources: list[dict[str, Any]] = [
        {
            "source": source,
            "blind_s": round(seen.blind_s.get(source, 0.0)),
            "blind_pct": round(seen.blind_pct(source), 1),
            "blind_since": (
                None if source not in seen.blind_now else format_utc(seen.blind_now[source])
            ),
        }
        for source in sorted(seen.blind_s)
    ]
    return {
        "participant_id": participant_id,
        "hours": hours,
        "from": format_utc(start),
        "to": format_utc(end),
        "sources": sources,
        "stretches": seen.stretches,
        "longest_s": round(seen.longest_s),
        "blind_now": bool(seen.blind_now),
        "advice": any(s["blind_pct"] >= ADVICE_PCT for s in sources),
    }
