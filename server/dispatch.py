"""Plans pushes for pages, claims and technical notices: who gets one and what it says (shell).

Nothing is sent here. The escalator queues the planned pushes in the same transaction as the
transition that causes them (:mod:`server.store.pushes`) and :mod:`server.sender` delivers them.
Who is paged comes from the escalation level: the responders added at that level, or everyone up
to it when the last level repeats. Each page carries signed, single-use links to acknowledge and
to say "on my way". Technical alerts for staff go to the site's ``staff_urls`` when it has them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from server.config import ResponderConfig, Settings
from server.domain.alerts import (
    Alert,
    AlertState,
    Push,
    PushAction,
    compose_claim,
    compose_push,
)
from server.domain.lifecycle import Action, Page
from server.domain.tokens import ActionClaim, sign
from server.store.pushes import Purpose, QueuedPush, push_key

_LOGGER = logging.getLogger(__name__)

LINK_ACTIONS: Final = ((Action.ACK, "Acknowledge"), (Action.EN_ROUTE, "On my way"))
"""The buttons a page carries; arriving and resolving happen on the alert page."""

STAFF_PREFIX: Final = "staff:"
"""Responder ids of the form ``staff:<site>`` stand for a site's staff channel."""

DRILL_PREFIX: Final = "drill:"
"""Responder ids of the form ``drill:<site>`` stand for a site's drill channel."""


class Dispatcher:
    """Turns pages and claims into queued pushes, one per responder."""

    def __init__(
        self,
        settings: Settings,
        link_key: bytes,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._key = link_key
        self._now = now

    def responder(self, responder_id: str) -> ResponderConfig | None:
        """A configured responder, or a site's staff or drill channel, by id.

        ``staff:<site>`` is the site's ``staff_urls``; ``drill:<site>`` its ``drill_urls`` (a
        drill never reaches a responder, so a site without drill urls has nobody here).
        """
        for prefix, what in ((STAFF_PREFIX, "staff"), (DRILL_PREFIX, "drill")):
            if not responder_id.startswith(prefix):
                continue
            sites = {site.id: site for site in self._settings.sites}
            site = sites.get(responder_id.removeprefix(prefix))
            urls = None if site is None else (site.staff_urls, site.drill_urls)[what == "drill"]
            if site is None or not urls:
                return None
            # Built, not parsed: the ``:`` keeps it apart from every configured responder id.
            return ResponderConfig.model_construct(
                id=responder_id, name=f"{site.name} {what}", urls=urls, level=0, sites=[]
            )
        return next((r for r in self._settings.responders if r.id == responder_id), None)

    def targets(self, alert: Alert, page: Page) -> list[ResponderConfig]:
        """Who ``page`` reaches at the alert's site.

        A level nobody is configured at falls back to everyone up to it: someone is always paged.
        """
        serving = self._settings.responders_for(alert.site_id)
        if page.everyone_up_to:
            chosen = [r for r in serving if r.level <= page.level]
        else:
            chosen = [r for r in serving if r.level == page.level]
            if not chosen:
                chosen = [r for r in serving if r.level <= page.level]
        return chosen or serving

    def staff(self, site_id: str) -> list[ResponderConfig]:
        """A site's staff channel for technical alerts; empty when the site has none."""
        channel = self.responder(STAFF_PREFIX + site_id)
        return [] if channel is None else [channel]

    def paged_so_far(self, alert: Alert) -> list[ResponderConfig]:
        """Everyone the alert has reached up to its current level."""
        serving = self._settings.responders_for(alert.site_id)
        return [r for r in serving if r.level <= alert.level] or serving

    def _alert_url(self, alert: Alert) -> str:
        return f"{self._settings.http.public_url.rstrip('/')}/alerts/{alert.alert_id}"

    def _links(self, alert: Alert, responder: ResponderConfig) -> tuple[PushAction, ...]:
        expires = int(self._now().timestamp() + self._settings.action_link_ttl_s)
        base = self._settings.http.public_url.rstrip("/")
        return tuple(
            PushAction(
                label,
                f"{base}/act/"
                + sign(
                    ActionClaim(
                        alert.alert_id, responder.id, action, expires, secrets.token_urlsafe(9)
                    ),
                    self._key,
                ),
            )
            for action, label in LINK_ACTIONS
        )

    def plan_page(
        self, alert: Alert, page: Page, *, state: AlertState, cycle: int
    ) -> list[QueuedPush]:
        """The pushes for ``page`` about ``alert`` once it is in ``state`` at ``cycle``.

        Returns:
            One push per target; empty when nobody is configured for the site.
        """
        room = self._settings.room_label(alert.site_id, alert.room_id)
        noted = state is AlertState.NOTED  # a technical alert: nothing to acknowledge
        targets = (self.staff(alert.site_id) if noted else []) or self.targets(alert, page)
        planned = []
        purpose = Purpose.NOTICE if noted else Purpose.PAGE
        for responder in targets:
            links = () if noted else self._links(alert, responder)
            key = push_key(alert.alert_id, purpose, page.level, cycle, responder.id)
            push = compose_push(alert, room, self._alert_url(alert), links, repeat=page.repeat)
            planned.append(
                QueuedPush(key, alert.alert_id, responder.id, purpose, page.level, cycle, push)
            )
        if not planned:
            _LOGGER.error(
                "alert %s: no responder is configured for %s", alert.alert_id, alert.site_id
            )
        return planned

    def plan_claim(self, alert: Alert, claimant_id: str, cycle: int) -> list[QueuedPush]:
        """Tell everyone else already paged who is going."""
        names = {r.id: r.name for r in self._settings.responders}
        name = names.get(claimant_id, claimant_id)
        room = self._settings.room_label(alert.site_id, alert.room_id)
        push = compose_claim(room, name, self._alert_url(alert))
        return [
            QueuedPush(
                push_key(
                    alert.alert_id, Purpose.CLAIM, alert.level, cycle, responder.id, claimant_id
                ),
                alert.alert_id,
                responder.id,
                Purpose.CLAIM,
                alert.level,
                cycle,
                push,
            )
            for responder in self.paged_so_far(alert)
            if responder.id != claimant_id
        ]

    def server_notice(self, reason: str) -> list[tuple[ResponderConfig, Push]]:
        """A notice about the server itself (its disk is full) for every site's staff.

        It cannot be queued (nothing can be stored), so it is sent once, best effort.
        """
        push = Push("ODART server needs attention", f"The alert server reports: {reason}.")
        chosen: dict[str, ResponderConfig] = {}
        for site in self._settings.sites:
            staff = self.staff(site.id) or [
                r for r in self._settings.responders_for(site.id) if r.level == 0
            ]
            chosen.update((r.id, r) for r in staff)
        if not self._settings.sites:
            chosen.update((r.id, r) for r in self._settings.responders if r.level == 0)
        return [(responder, push) for responder in chosen.values()]
