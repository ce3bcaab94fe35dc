"""Scheduled end-to-end drills: server -> edge -> server -> drill channel, with latency (shell).

Every ``drill_every_h`` hours per site, each online edge is asked (``cmd drill``) to send a
``test`` alert tagged with the drill id through its detector-side path: outbox, broker, ingest.
When it is stored, a push goes to the site's ``drill_urls`` only — never to a responder — and
the round trip (requested -> stored -> delivered) is recorded.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Final

import sqlite_utils

from firmware_bridge.wire import CommandBody, EdgeState, IdMinter, format_utc, parse_utc
from server.config import ResponderConfig, Settings
from server.domain.alerts import Alert, Push
from server.notify.base import Notifier
from server.store.db import Store

_LOGGER = logging.getLogger(__name__)

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS drills (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    edge_id TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    stored_at TEXT,
    delivered_at TEXT,
    outcome TEXT NOT NULL DEFAULT 'requested'   -- requested | delivered | failed
);
"""

CommandSender = Callable[[str, str, CommandBody], Awaitable[None]]


class Drills:
    """Asks edges for drills on schedule and measures what comes back."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        notifier: Notifier,
        send_command: CommandSender,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        spawn: Callable[[Awaitable[None], str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._db: sqlite_utils.Database = store.db
        self._notifier = notifier
        self._send_command = send_command
        self._now = now
        self._minter = IdMinter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._supervised = spawn
        self._db.executescript(SCHEMA)

    def tick(self) -> int:
        """Request the drills that are due; returns how many were requested."""
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

    def received(self, alert: Alert) -> None:
        """The drill's test alert was stored: push it to the drill channel and time it."""
        drill_id = str(alert.evidence.get("drill"))
        with self._db.conn:
            updated = self._db.execute(
                "UPDATE drills SET stored_at = ? WHERE id = ? AND stored_at IS NULL",
                [format_utc(alert.stored_at), drill_id],
            ).rowcount
        if not updated:
            _LOGGER.warning(
                "test alert %s names unknown or repeated drill %s", alert.alert_id, drill_id
            )
            return
        site = self._settings.site(alert.site_id)
        channel = ResponderConfig(id="drill", name="Drill", urls=site.drill_urls or ["invalid://"])
        room = self._settings.room_label(alert.site_id, alert.room_id)
        push = Push(f"DRILL - {site.name}", f"Drill {drill_id}: the alert chain works ({room}).")
        self._spawn(self._deliver(alert, drill_id, channel, push))

    async def _deliver(
        self, alert: Alert, drill_id: str, channel: ResponderConfig, push: Push
    ) -> None:
        deliveries = await self._notifier.send(channel, push)
        now = self._now()
        ok = any(d.ok for d in deliveries)
        for delivery in deliveries:
            self._store.record_delivery(
                alert.alert_id, "drill", delivery.channel, delivery.ok, now, delivery.detail
            )
        with self._db.conn:
            self._db.execute(
                "UPDATE drills SET delivered_at = ?, outcome = ? WHERE id = ?",
                [format_utc(now), "delivered" if ok else "failed", drill_id],
            )

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
