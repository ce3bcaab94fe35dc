"""Who the edge watches, with which devices: residents, their links, roles and consent (shell).

The agent's bookkeeping of people and devices, kept in one place so that the TOML's devices and
the server's device list (:mod:`edge.roster`) change it the same way: :meth:`Household.attach`
and :meth:`Household.detach` move one device, :meth:`Household.forget` lets a resident go. It
starts and stops nothing itself; the agent runs the links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from edge import roster
from edge.config import DeviceConfig, EdgeConfig, Role
from edge.consent import ConsentBook
from edge.detector import Detector, DetectorSettings
from edge.residents import Resident
from edge.roster import Assignment
from edge.transport import DeviceLink
from firmware_bridge.wire import TextValue


class Household:
    """The edge's residents and devices.

    Attributes:
        people: residents by pseudonym.
        links: every device link the edge has, running or not.
        consent: every resident's consent state.
        last_snapshot: the server's last consent snapshot (for residents who join later).
    """

    def __init__(self, config: EdgeConfig, links: Sequence[DeviceLink]) -> None:
        self.settings: DetectorSettings = config.detector_settings()
        self.links = list(links)
        self.people: dict[str, Resident] = {}
        self.consent = ConsentBook.initial(
            (p.participant for p in config.people), config.default_consent
        )
        self.last_snapshot: Mapping[str, TextValue] | None = None
        self._roles = {device.id: device.role for device in config.devices}
        self._person_of: dict[str, Resident] = {}
        self._assigned: dict[str, Assignment] = roster.from_config(config)
        by_device = {link.device_id: link for link in self.links}
        for entry in config.people:
            mine = [by_device[d] for d in entry.devices if d in by_device]
            resident = Resident(entry.participant, entry.room, mine)
            if self.consent.monitors(entry.participant):
                resident.detector = Detector(self.settings)
            self.people[entry.participant] = resident
            self._person_of.update(dict.fromkeys(entry.devices, resident))

    @property
    def assigned(self) -> Mapping[str, Assignment]:
        """Each device assigned to a resident, with its config."""
        return self._assigned

    def person_of(self, device_id: str) -> Resident | None:
        """The resident ``device_id`` watches, if any."""
        return self._person_of.get(device_id)

    def role(self, device_id: str) -> Role | None:
        """What ``device_id`` watches; None for a device the edge does not run."""
        return self._roles.get(device_id)

    def device(self, device_id: str) -> DeviceConfig | None:
        """The config of a device assigned to a resident."""
        assignment = self._assigned.get(device_id)
        return None if assignment is None else assignment.device

    def link(self, device_id: str) -> DeviceLink | None:
        """The link of ``device_id``."""
        return next((link for link in self.links if link.device_id == device_id), None)

    def attach(self, assignment: Assignment, link: DeviceLink) -> Resident:
        """Give ``link`` to its resident, adding them (in the consent the server gave them)."""
        device = assignment.device
        person = self.people.get(assignment.participant)
        if person is None:
            person = Resident(assignment.participant, assignment.room, [])
            self.consent = self.consent.joined(person.participant, self.last_snapshot)
            if self.consent.monitors(person.participant):
                person.detector = Detector(self.settings)
            self.people[person.participant] = person
        person.room = assignment.room or person.room
        person.links.append(link)
        self.links.append(link)
        self._assigned[device.id], self._roles[device.id] = assignment, device.role
        self._person_of[device.id] = person
        return person

    def detach(self, device_id: str) -> Resident:
        """Take ``device_id`` from its resident; returns them (their links need a restart)."""
        person = self._person_of.pop(device_id)
        del self._assigned[device_id], self._roles[device_id]
        person.links = [link for link in person.links if link.device_id != device_id]
        self.links[:] = [link for link in self.links if link.device_id != device_id]
        return person

    def forget(self, person: Resident) -> None:
        """Let ``person`` go: the edge runs none of their devices any more."""
        person.detector = None
        del self.people[person.participant]
        self.consent = self.consent.left(person.participant)
