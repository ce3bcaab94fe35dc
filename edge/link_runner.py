"""Which device links the edge agent runs: residents' links, consent, the server's list (shell).

Each resident's links run in a task of their own under the agent's
:class:`~edge.tasks.TaskSupervisor`. Consent (:mod:`edge.consent`) starts and stops them. Which
devices run comes from the TOML until the server's retained ``devices`` list arrives; from then
on the list is authoritative (:mod:`edge.roster`): :meth:`LinkRunner.apply_devices` stops and
starts links to match, and a resident whose devices change has their links restarted while their
detector and check-in carry on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial

from edge import checkin, roster
from edge.config import DeviceConfig
from edge.detector import Detector
from edge.outgoing import Outgoing
from edge.residents import Resident, silence, wait_stopped
from edge.roster import Assignment
from edge.tasks import TaskSupervisor
from edge.transport import DeviceLink, LinkEvent
from firmware_bridge.log_budget import BudgetedLog
from firmware_bridge.wire import DeviceEntry, TextValue

_LOGGER = logging.getLogger(__name__)

LinkBuilder = Callable[[DeviceConfig], DeviceLink]
"""Builds one device's link (``odart.links.LinkFactory.build``); raises ``EdgeConfigError``."""


class LinkRunner:
    """Starts and stops the device links of every resident, as consent and the server decide.

    Args:
        out: where link states and check-in steps go (and the household it shares).
        handle: what to do with each thing a link yields (the agent's dispatch).
        link_builder: builds the link of a device on the server's device list; without one,
            the list is logged and ignored and the TOML's devices keep running.
    """

    def __init__(
        self,
        out: Outgoing,
        handle: Callable[[LinkEvent], None],
        link_builder: LinkBuilder | None,
    ) -> None:
        self._out = out
        self._household = out.household
        self._handle = handle
        self.link_builder = link_builder
        self._listed = False
        """Whether the server's device list has replaced the TOML's devices."""
        self._log = BudgetedLog(_LOGGER)
        self._loose: list[asyncio.Task[None]] = []
        """Tasks of TOML devices assigned to nobody (stopped when a server list arrives)."""
        self._devices_lock = asyncio.Lock()
        self.group: TaskSupervisor | None = None
        """The agent's supervisor while it runs; links start only then."""

    async def start(self, group: TaskSupervisor, kept: Sequence[DeviceEntry] | None) -> None:
        """Start every link that should run, under ``group``.

        Args:
            group: the agent's supervisor.
            kept: the server's last device list, kept on disk; it runs instead of the TOML's
                devices until the server's list arrives.
        """
        self.group = group
        if kept is not None and self.link_builder is not None:
            _LOGGER.info("running the kept device list until the server's arrives")
            await self.apply_devices(kept)
        for link in self._household.links:
            if self._household.person_of(link.device_id) is None and not self._listed:
                name = f"link-{link.device_id}"
                self._loose.append(group.start(name, partial(self._pump, link)))
        for person in self._household.people.values():
            if person.monitored:
                self._start_links(person)

    def stopped(self) -> None:
        """The agent has stopped: its tasks are gone."""
        self.group = None
        for person in self._household.people.values():
            person.task = None

    def _start_links(self, person: Resident) -> None:
        if self.group is not None and person.task is None:
            person.task = self.group.start(
                f"person-{person.participant}", partial(self._serve, person)
            )

    async def _serve(self, person: Resident) -> None:
        async with asyncio.TaskGroup() as group:
            for link in person.links:
                group.create_task(self._pump(link), name=f"link-{link.device_id}")

    async def _pump(self, link: DeviceLink) -> None:
        async for item in link.stream():
            try:
                self._handle(item)
            except Exception:  # task root: one bad block must not stop the device's stream
                self._out.counts["errors"] += 1
                self._log.exception("device %s: could not handle %s", link.device_id, type(item))

    # -- consent -------------------------------------------------------------------------------

    async def apply_consent(self, snapshot: Mapping[str, TextValue]) -> None:
        """Apply a consent snapshot: stop, drop and disconnect whoever may no longer be watched."""
        household, out = self._household, self._out
        household.last_snapshot = dict(snapshot)
        household.consent, changes = household.consent.apply(snapshot)
        out.counts["consent_snapshots"] += 1
        out.counts["consent_strangers"] += len(household.consent.strangers(snapshot))
        stopping: list[Resident] = []
        for change in changes:
            person = household.people[change.participant]
            _LOGGER.info("consent of %s: %s -> %s", change.participant, change.before, change.after)
            if change.stops:
                out.apply(person, checkin.stopped(person.checkin, out.clock()))
                person.detector = None  # nothing of theirs is processed from here on
                out.reported.difference_update(link.device_id for link in person.links)
                stopping.append(person)
            elif change.starts:
                person.detector = Detector(household.settings)
                self._start_links(person)
        if stopping:
            # Stop the buzz while still connected, then drop everything and disconnect.
            await asyncio.gather(*(silence(person) for person in stopping))
            tasks = [task for person in stopping if (task := person.halt()) is not None]
            out.counts["links_late"] += await wait_stopped(tasks)

    # -- the server's device list ----------------------------------------------------------------

    async def apply_devices(self, entries: Sequence[DeviceEntry]) -> roster.Plan:
        """Run exactly the listed devices: stop the others, start new ones, without a restart.

        Consent still decides: a listed device of a resident who is not monitored is assigned
        but not started. Returns what was changed.
        """
        household, counts = self._household, self._out.counts
        if self.link_builder is None:
            _LOGGER.warning("device list of %d ignored: this edge builds no links", len(entries))
            return roster.Plan((), ())
        async with self._devices_lock:  # one list at a time, each applied completely
            wanted, refused = roster.from_list(entries)
            for error in refused:
                counts["devices_refused"] += 1
                _LOGGER.error("listed device refused: %s", error)
            if not self._listed:
                self._listed = True
                _LOGGER.info(
                    "the server's device list (%d devices) replaces the %d of the config",
                    len(wanted),
                    len(household.assigned),
                )
                for task in self._loose:
                    task.cancel()
                counts["links_late"] += await wait_stopped(self._loose)
            plan = roster.plan(household.assigned, wanted)
            touched = {self._detach(device_id) for device_id in plan.stop}
            for device_id in plan.start:
                person = self._attach(wanted[device_id])
                if person is not None:
                    touched.add(person)
            tasks = [t for person in touched if (t := person.stop_links()) is not None]
            counts["links_late"] += await wait_stopped(tasks)
            for device_id in plan.stop:
                _LOGGER.info("device %s: link stopped (no longer listed)", device_id)
            for person in touched:
                if not person.links:
                    self._forget(person)
                elif person.monitored:
                    self._start_links(person)
            counts["device_lists"] += 1
            return plan

    def _detach(self, device_id: str) -> Resident:
        self._out.reported.discard(device_id)
        return self._household.detach(device_id)

    def _attach(self, assignment: Assignment) -> Resident | None:
        device = assignment.device
        assert self.link_builder is not None  # apply_devices checked it
        try:
            link = self.link_builder(device)
        except Exception as error:  # a device that cannot run here must not stop the edge
            self._out.counts["devices_refused"] += 1
            _LOGGER.error("listed device %s not started: %s", device.id, error)  # noqa: TRY400
            return None
        person = self._household.attach(assignment, link)
        _LOGGER.info(
            "device %s (%s) of %s: link %s",
            device.id,
            (device.model or device.link).value,
            person.participant,
            "starting" if person.monitored else "assigned; not started without consent",
        )
        return person

    def _forget(self, person: Resident) -> None:
        """The edge runs no device of ``person`` any more: close their check-in, drop them."""
        self._out.apply(person, checkin.stopped(person.checkin, self._out.clock()))
        self._household.forget(person)
