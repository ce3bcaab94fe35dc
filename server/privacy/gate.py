"""Consent enforcement on the server: snapshots to the edges, and refusal at ingest (shell).

After any consent change, erasure or lapsed review, every edge of the resident's site gets the
site's ``consent`` snapshot as a **retained** QoS 1 ``cmd`` (docs/wire.md), so an edge that was
offline applies it when it reconnects; it is published again whenever an edge comes online and
whenever ingest (re)connects. Messages that arrive for a resident without active monitoring
consent are acked (so the edge's outbox drains) but not stored, counted and logged by pseudonym.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Final

from firmware_bridge.errors import WireError
from firmware_bridge.log_budget import BudgetedLog
from firmware_bridge.wire import MAX_COMMAND_ARGS, Command, CommandBody, Envelope
from server.store.consents import Consents, Verdict

_LOGGER = logging.getLogger(__name__)

CONSENT_COMMAND: Final = Command.CONSENT

REVIEW_CHECK_S: Final = 10.0
"""How often review dates are checked. They are whole days, so ten seconds of lateness is
immaterial, and the check (a few queries per resident) stays cheap at a hostel's scale."""

TICK_BUDGET_S: Final = 0.004
"""Work one :meth:`ConsentGate.tick` may do on the event loop; the sites left are checked at the
next ticks (a second apart). 5,000 residents in 50 sites took 63 ms in one go (issue 15)."""

SnapshotSender = Callable[[str, str, CommandBody], Awaitable[None]]
"""Publishes a retained ``cmd`` to (site, edge)."""


class ConsentGate:
    """Keeps the edges' consent snapshots current and refuses what consent does not allow.

    Args:
        consents: the consent records.
        now: wall clock.
        refuse_unenrolled: refuse messages naming a pseudonym the server has no record of too.
    """

    def __init__(
        self,
        consents: Consents,
        now: Callable[[], datetime],
        *,
        refuse_unenrolled: bool = False,
    ) -> None:
        self.consents = consents
        self._now = now
        self._refuse_unenrolled = refuse_unenrolled
        self._send: SnapshotSender | None = None
        self._snapshots: dict[str, dict[str, str]] = {}
        """The last snapshot of each site: published, or seen by :meth:`tick`."""
        self._last_check: datetime | None = None
        self._version: tuple[object, ...] | None = None
        """:meth:`Consents.version` at the last full check."""
        self._to_check: deque[str] = deque()
        """Sites the current check has still to look at (:meth:`tick` spreads them out)."""
        self._built: dict[str, tuple[tuple[object, ...], dict[str, str]]] = {}
        """Each site's last snapshot with the :meth:`Consents.version` it was built at."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._cached_verdicts: dict[str, Verdict] = {}
        self._verdicts_version: tuple[object, ...] | None = None
        self._verdicts: dict[str, Verdict] | None = None
        """The remembered verdicts while inside :meth:`batch`, else None (always read)."""
        self.counts: Counter[str] = Counter()
        self._log = BudgetedLog(_LOGGER)
        """Lines per refused message: a flood is counted, not logged line by line."""

    def set_sender(self, send: SnapshotSender) -> None:
        """How snapshots reach the broker (the ingest's retained publish)."""
        self._send = send

    # -- ingest ---------------------------------------------------------------------------------

    def admits(self, envelope: Envelope) -> bool:
        """Whether a message from an edge may be stored; refusals are counted and logged."""
        participant = envelope.participant_id
        if participant is None:
            return True  # about a room or a device, not a person
        verdict = self._verdicts.get(participant) if self._verdicts is not None else None
        if verdict is None:
            verdict = self.consents.verdict(participant)
            if self._verdicts is not None:
                self._verdicts[participant] = verdict
        if verdict is Verdict.CONSENTED:
            return True
        if verdict is Verdict.UNENROLLED and not self._refuse_unenrolled:
            self.counts["unenrolled"] += 1
            self._log.warning(
                "stored a %s for %s, a pseudonym the server has no consent record of",
                envelope.kind.value,
                participant,
            )
            return True
        self.counts["refused_no_consent"] += 1
        self._log.warning(
            "refused a %s for %s: no active monitoring consent (%s)",
            envelope.kind.value,
            participant,
            verdict.value,
        )
        return False

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Within: verdicts are remembered (ingest's batch of messages, a few ms). They are
        kept between batches while :meth:`Consents.version` stays the same, so thousands of
        reports a second cost one version check per batch, not a history read each."""
        version = self.consents.version()
        if version != self._verdicts_version:
            self._cached_verdicts.clear()
            self._verdicts_version = version
        self._verdicts = self._cached_verdicts
        try:
            yield
        finally:
            self._verdicts = None

    # -- snapshots ------------------------------------------------------------------------------

    def _snapshot(
        self, site_id: str, version: tuple[object, ...] | None = None
    ) -> dict[str, str] | None:
        """The site's snapshot, rebuilt only when :meth:`Consents.version` moved; None (counted
        and logged, nothing built) when the site has more people than a snapshot holds.
        ``version``: the one the caller already read (``tick`` reads it once for all sites; an
        older one only means one more rebuild later)."""
        if version is None:
            version = self.consents.version()
        built = self._built.get(site_id)
        if built is not None and built[0] == version:
            return built[1]
        people = self.consents.snapshot_size(site_id)
        if people > MAX_COMMAND_ARGS:
            _LOGGER.error(
                "site %s has %d residents and erasures; a consent snapshot holds %d: split the "
                "site",
                site_id,
                people,
                MAX_COMMAND_ARGS,
            )
            self.counts["snapshot_too_big"] += 1
            return None
        args = self.consents.site_snapshot(site_id)
        self._built[site_id] = (version, args)
        return args

    async def publish_site(self, site_id: str, edge_id: str | None = None) -> int:
        """Publish the site's snapshot to its edges (or to one); returns how many were sent."""
        args = self._snapshot(site_id)
        if args is None:
            return 0
        self._snapshots[site_id] = args
        edges = [edge_id] if edge_id is not None else self.consents.edges_of(site_id)
        sent = 0
        for edge in edges:
            if self._send is None:
                break
            try:
                await self._send(site_id, edge, CommandBody(CONSENT_COMMAND, args))
            except WireError:  # over the wire's size limit: the site must be split
                self.counts["snapshot_too_big"] += 1
                _LOGGER.exception("consent snapshot for %s/%s not sent", site_id, edge)
                return sent
            self.counts["snapshots"] += 1
            sent += 1
        return sent

    async def publish_all(self) -> None:
        """Publish every site's snapshot (after ingest connects: the broker may have lost them)."""
        for site_id in self.consents.sites():
            await self.publish_site(site_id)
            await asyncio.sleep(0)  # each site's snapshot is work on the loop: others go between

    async def edge_online(self, site_id: str, edge_id: str) -> None:
        """An edge came online: make sure its retained snapshot is the current one."""
        if site_id in self.consents.sites():
            await self.publish_site(site_id, edge_id)

    def tick(self) -> int:
        """Every few seconds: publish sites whose snapshot changed unseen.

        That is a review date passing, or an erasure made by ``odart privacy erase`` in another
        process; changes made through the API are published at once. Incremental: the
        per-resident check runs only when :meth:`Consents.version` moved (a new day, another
        process's commit, a record added), and then site by site, at most
        :data:`TICK_BUDGET_S` of work per call, so thousands of residents never stall ingest.

        Returns:
            How many sites' snapshots changed and are being published.
        """
        if not self._to_check:
            now = self._now()
            if self._last_check is not None and (now - self._last_check).total_seconds() < (
                REVIEW_CHECK_S
            ):
                return 0
            self._last_check = now
            version = self.consents.version()
            if version == self._version:
                return 0  # nothing a snapshot depends on changed: no per-resident work at all
            self._version = version
            self._to_check = deque(self.consents.sites())
        deadline = time.perf_counter() + TICK_BUDGET_S
        changed = 0
        while self._to_check:  # at least one site per call, then while the budget lasts
            site_id = self._to_check.popleft()
            args = self._snapshot(site_id, self._version)
            if args is not None and self._snapshots.setdefault(site_id, args) != args:
                self._snapshots[site_id] = args
                self.consents.sync_site(site_id)
                _LOGGER.info(
                    "consent snapshot of %s changed (review date or erasure); publishing",
                    site_id,
                )
                self._spawn(self.publish_site(site_id))
                changed += 1
            if time.perf_counter() >= deadline:
                break
        return changed

    def _spawn(self, job: Awaitable[int]) -> None:
        async def run() -> None:
            try:
                await job
            except Exception:  # task root: a failed publish is retried on the next change
                _LOGGER.exception("could not publish a consent snapshot")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
