"""Scheduled end-to-end drills: server -> edge -> server -> drill channel, with latency (shell).

Every ``drill_every_h`` hours per site, each online edge is asked (``cmd drill``) to send a
``test`` alert tagged with the drill id through its detector-side path: outbox, broker, ingest.
Its push to the site's ``drill_urls`` (never to a responder) is queued with the alert in the
durable send queue and sent by the sender like any page; the round trip
(requested -> stored -> delivered) is recorded from the alert and the push.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import sqlite_utils

from firmware_bridge.wire import CommandBody, EdgeState, IdMinter, format_utc, parse_utc
from server.config import Settings
from server.dispatch import DRILL_PREFIX
from server.domain.alerts import Alert, Push, is_drill
from server.store.db import Store
from server.store.pushes import Purpose, QueuedPush, push_key

_LOGGER = logging.getLogger(__name__)

CommandSender = Callable[[str, str, CommandBody], Awaitable[None]]


class Drills:
    """Asks edges for drills on schedule and measures what comes back."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        send_command: CommandSender,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        spawn: Callable[[Awaitable[None], str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._db: sqlite_utils.Database = store.db
        self._send_command = send_command
        self._now = now
        self._minter = IdMinter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._supervised = spawn

    def tick(self) -> int:
        """Settle finished drills and request those due; returns how many were requested."""
        self.settle()
        now = self._now()
        requested = 0
        for site in self._settings.sites:
            if site.drill_every_h is None:
                continue
            last = self._db.execute(
                "SELECT MAX(requested_at) FROM drills WHERE site_id = ?", [site.id]
            ).fetchone()[0]
            if last is not None and parse_utc(last) > now - timedelta(hours=site.drill_every_h):
                continue
            for edge in self._store.edges():
                if edge["site_id"] == site.id and edge["state"] != EdgeState.OFFLINE.value:
                    self.request(site.id, edge["edge_id"])
                    requested += 1
        return requested

    def request(self, site_id: str, edge_id: str) -> str:
        """Ask one edge for a drill now; returns the drill id."""
        now = self._now()
        drill_id = self._minter.mint(int(now.timestamp() * 1000), os.urandom(10))
        with self._db.conn:
            self._db.execute(
                "INSERT INTO drills (id, site_id, edge_id, requested_at) VALUES (?, ?, ?, ?)",
                [drill_id, site_id, edge_id, format_utc(now)],
            )
        self._spawn(self._send_command(site_id, edge_id, CommandBody("drill", {"drill": drill_id})))
        _LOGGER.info("drill %s requested from %s/%s", drill_id, site_id, edge_id)
        return drill_id

    def plan(self, alert: Alert) -> list[QueuedPush]:
        """The drill channel's push for a drill's test alert, queued with the alert's insert.

        It goes through the durable send queue like any page (a crash mid-send sends it again,
        ``/metrics`` counts it), addressed to ``drill:<site>``: the site's ``drill_urls`` only.
        An alert naming an unknown drill, or one already answered, gets nothing.
        """
        if not is_drill(alert):
            return []
        drill_id = str(alert.evidence["drill"])
        with self._store.write():  # the drill is this alert's: a second answer gets no push
            claimed = self._db.execute(
                "UPDATE drills SET alert_id = ? WHERE id = ? AND site_id = ? "
                "AND (alert_id IS NULL OR alert_id = ?)",
                [alert.alert_id, drill_id, alert.site_id, alert.alert_id],
            ).rowcount
        if not claimed:
            _LOGGER.warning(
                "test alert %s names unknown or repeated drill %s", alert.alert_id, drill_id
            )
            return []
        site = self._settings.site(alert.site_id)
        room = self._settings.room_label(alert.site_id, alert.room_id)
        push = Push(f"DRILL - {site.name}", f"Drill {drill_id}: the alert chain works ({room}).")
        channel = DRILL_PREFIX + alert.site_id
        key = push_key(alert.alert_id, Purpose.DRILL, 0, 0, channel, drill_id)
        return [QueuedPush(key, alert.alert_id, channel, Purpose.DRILL, 0, 0, push)]

    def received(self, alert: Alert) -> None:
        """The drill's test alert was stored (its push is queued): note when."""
        if is_drill(alert):
            self.settle()

    def settle(self) -> int:
        """Copy stored and delivered times from the drills' test alerts and pushes.

        Run after each drill push and on every tick, so a drill whose push finished just
        before a crash is still settled. Returns how many drills changed.
        """
        unsettled = self._db.execute(
            "SELECT 1 FROM drills WHERE alert_id IS NOT NULL AND delivered_at IS NULL LIMIT 1"
        ).fetchone()
        if unsettled is None:
            return 0  # the usual case: no write at all
        with self._store.write():
            changed = self._db.execute(
                "UPDATE drills SET stored_at = a.stored_at, delivered_at = p.done_at, "
                "outcome = CASE p.state WHEN 'sent' THEN 'delivered' ELSE 'failed' END "
                "FROM alerts AS a JOIN pushes AS p ON p.alert_id = a.id AND p.purpose = ? "
                "WHERE a.id = drills.alert_id AND drills.delivered_at IS NULL "
                "AND p.state != 'pending'",
                [Purpose.DRILL.value],
            ).rowcount
            self._db.execute(  # stored, push still under way
                "UPDATE drills SET stored_at = a.stored_at FROM alerts AS a "
                "WHERE a.id = drills.alert_id AND drills.stored_at IS NULL"
            )
        return changed

    def _spawn(self, job: Awaitable[None]) -> None:
        if self._supervised is not None:  # the server's supervisor guards and awaits it
            self._supervised(job, "drill")
            return

        async def guarded() -> None:
            try:
                await job
            except Exception:  # task root: a failed drill is recorded, never fatal
                _LOGGER.exception("drill task failed")

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
