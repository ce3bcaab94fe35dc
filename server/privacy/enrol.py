"""Enrol a resident with their consent in one step, for scripted set-ups (shell).

The demo and tests enrol residents who have agreed to every purpose; this records that the way
the panel would (a resident, an enrolment, a witnessed consent record on the current text), so
ingest and the edges treat them exactly as a resident enrolled by staff.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

import sqlite_utils

from server.privacy.consent import (
    CONSENT_PURPOSES,
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
)
from server.privacy.consent_texts import current_text
from server.store.consents import Consents
from server.store.enrolments import Enrolments
from server.store.residents import Residents

SCRIPTED_REVIEW_DAYS: Final = 90
"""The review date a scripted consent gets: the panel's default (``privacy.review_days``)."""


def enrol_consented(
    db: sqlite_utils.Database,
    now: Callable[[], datetime],
    *,
    site_id: str,
    device_id: str,
    room_id: str | None,
    participant_id: str,
    by: str,
) -> int:
    """Make ``participant_id`` a resident, enrol ``device_id``, record consent to every purpose.

    Returns:
        The enrolment id.
    """
    Residents(db, now).ensure(participant_id, site_id, by)
    enrolment = Enrolments(db, now).enrol(device_id, site_id, room_id, participant_id, by)
    text = current_text()
    Consents(db, now).add(
        ConsentRecord(
            participant_id=participant_id,
            action=ConsentAction.GIVE,
            purposes=CONSENT_PURPOSES,
            method=ConsentMethod.WRITTEN,
            witness=by,
            recorded_at=now(),
            recorded_by=by,
            text_version=text.version,
            text_sha256=text.sha256,
            capacity_confirmed=True,
            review_due=now().date() + timedelta(days=SCRIPTED_REVIEW_DAYS),
        )
    )
    return enrolment
