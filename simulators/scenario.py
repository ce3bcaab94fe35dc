"""Scenario files: the site, people, devices, timeline and responders of a run, checked (pure).

A scenario is a TOML document (see ``docs/scenarios.md``). :func:`parse_scenario` turns its
parsed mapping into a frozen :class:`Scenario` or raises :class:`ScenarioError` naming the
file, the dotted key and the reason. Expectations are parsed by
:mod:`simulators.scenario_expect`. Nothing here reads files or clocks: the caller passes text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from simulators.physiology import EpisodeKind, Posture, SubjectParams
from simulators.scenario_expect import Expectations, parse_expectations
from simulators.scenario_fields import Fields, ScenarioError

__all__ = [
    "DeviceKind",
    "DeviceSpec",
    "PersonSpec",
    "ResponderSpec",
    "Scenario",
    "ScenarioError",
    "SystemEvent",
    "TimelineEvent",
    "parse_scenario",
    "parse_scenario_text",
]

ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""The wire's id shape (``firmware_bridge.wire.ID_PATTERN``): site, room, device, responder."""

MAX_DURATION_S: Final = 4 * 3600.0
"""A scenario longer than four simulated hours is almost certainly a typo."""

MAX_SPEED: Final = 200.0
"""Above this the detector and physiology cannot keep up on a Raspberry-Pi-class machine."""

OUTCOMES: Final = frozenset(
    {
        "naloxone_given",
        "ambulance_called",
        "breathing_restored",
        "occupant_ok",
        "false_alarm",
        "space_empty",
        "other",
    }
)
"""Outcomes a responder may resolve with (``server.domain.lifecycle.Outcome``, minus technical)."""


class DeviceKind(StrEnum):
    """What a scenario device is."""

    WEARABLE = "wearable"
    """The chest wearable: accelerometer, heart rate, SpO2, battery, button."""
    RADAR = "radar"
    """A room radar (MR60BHA1 or LD2410) with the room's door contact."""


class SystemEvent(StrEnum):
    """Timeline events that happen to the system rather than to a person's body."""

    EDGE_OFFLINE = "edge_offline"
    """The edge loses its network for ``duration_s``."""
    DEVICE_OFFLINE = "device_offline"
    """A device stops sending (out of range) for ``duration_s``."""
    BUTTON = "button"
    """The person presses their wearable's button."""
    GARBAGE = "garbage"
    """A device's byte stream carries garbage for ``duration_s`` (framed devices)."""
    DROP_FRAMES = "drop_frames"
    """A device loses ``params.fraction`` of its frames for ``duration_s`` (framed devices)."""
    BATTERY_FLAT = "battery_flat"
    """A device's battery drains to ``params.pct`` (default 5 %)."""


_PERSON_EVENTS: Final = frozenset(EpisodeKind)
_DEVICE_EVENTS: Final = frozenset(
    {
        SystemEvent.DEVICE_OFFLINE,
        SystemEvent.GARBAGE,
        SystemEvent.DROP_FRAMES,
        SystemEvent.BATTERY_FLAT,
    }
)
_FAULT_EVENTS: Final = _DEVICE_EVENTS - {SystemEvent.DEVICE_OFFLINE}


@dataclass(frozen=True, slots=True)
class PersonSpec:
    """A resident: a scenario key (``A``), their pseudonymous id, room and physiology."""

    key: str
    participant: str
    room: str
    params: SubjectParams
    seed: int
    answers_checkin: bool
    answer_delay_s: float


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """A device watching a person: ``framed`` devices speak the real byte protocol."""

    id: str
    kind: DeviceKind
    person: str
    framed: bool
    model: str


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """Something that happens at ``at_s`` simulated seconds: to a person, a device or the edge."""

    at_s: float
    event: str
    person: str | None
    device: str | None
    duration_s: float | None
    params: Mapping[str, float]

    @property
    def is_episode(self) -> bool:
        """Whether the event is physiology (an :class:`EpisodeKind`) rather than a system event."""
        return self.event in _PERSON_EVENTS


@dataclass(frozen=True, slots=True)
class ResponderSpec:
    """A virtual responder: when they act after each page, in simulated seconds.

    A delay of ``None`` means the responder never takes that step; ``answers = false`` in the
    file sets every delay to ``None`` (the phone is in a drawer).
    """

    id: str
    name: str
    level: int
    ack_after_s: float | None
    en_route_after_s: float | None
    on_scene_after_s: float | None
    resolve_after_s: float | None
    outcome: str
    naloxone_doses: int | None


@dataclass(frozen=True, slots=True)
class Scenario:
    """One checked scenario."""

    name: str
    summary: str
    source: str
    duration_s: float
    speed: float
    site: str
    checkin_s: float
    escalation: Mapping[str, Any]
    rooms: tuple[tuple[str, str], ...]
    people: tuple[PersonSpec, ...]
    devices: tuple[DeviceSpec, ...]
    timeline: tuple[TimelineEvent, ...]
    responders: tuple[ResponderSpec, ...]
    expect: Expectations

    def person(self, key: str) -> PersonSpec:
        """The person with scenario key ``key``."""
        return next(p for p in self.people if p.key == key)

    def devices_of(self, key: str) -> tuple[DeviceSpec, ...]:
        """The devices watching person ``key``, wearable first."""
        mine = [d for d in self.devices if d.person == key]
        return tuple(sorted(mine, key=lambda d: d.kind is not DeviceKind.WEARABLE))

    def episodes_of(self, key: str) -> tuple[TimelineEvent, ...]:
        """The physiology events of person ``key``, in time order."""
        return tuple(e for e in self.timeline if e.is_episode and e.person == key)


def _id(fields: Fields, key: str, default: str | None = None) -> str:
    value = fields.text(key, default)
    if not ID.match(value):
        fields.fail(key, "must be 1-64 characters of a-z, 0-9, _ and -, starting alphanumeric")
    return value


def _room(fields: Fields) -> tuple[str, str]:
    fields.only({"id", "label"})
    return _id(fields, "id"), fields.text("label", fields.text("id"))


def _person(fields: Fields, rooms: set[str]) -> PersonSpec:
    fields.only(
        {"id", "participant", "room", "rate_bpm", "depth", "hr_bpm", "spo2_pct", "posture"}
        | {"seed", "answers_checkin", "answer_delay_s"}
    )
    key = fields.text("id")
    participant = fields.text("participant", f"p-{key.lower()}")
    if not ID.match(participant):
        fields.fail("participant", "must be a valid id (a-z, 0-9, _ and -)")
    room = fields.text("room")
    if room not in rooms:
        fields.fail("room", f"no room {room!r} in [[rooms]]")
    try:
        params = SubjectParams(
            rate_bpm=fields.number("rate_bpm", 14.0),
            depth=fields.number("depth", 1.0),
            hr_bpm=fields.number("hr_bpm", 72.0),
            spo2_pct=fields.number("spo2_pct", 97.0),
            posture=Posture(fields.text("posture", "supine")),
        )
    except ValueError as error:
        fields.fail("(person)", str(error))
    return PersonSpec(
        key,
        participant,
        room,
        params,
        int(fields.number("seed", 1.0)),
        fields.flag("answers_checkin", default=True),
        fields.number("answer_delay_s", 5.0, low=0.0, high=120.0),
    )


def _device(fields: Fields, people: set[str]) -> DeviceSpec:
    fields.only({"id", "kind", "person", "link", "model"})
    device_id = _id(fields, "id")
    try:
        kind = DeviceKind(fields.text("kind"))
    except ValueError:
        fields.fail("kind", f"must be one of {sorted(DeviceKind)}")
    person = fields.text("person")
    if person not in people:
        fields.fail("person", f"no person {person!r} in [[people]]")
    link = fields.text("link", "virtual")
    if link not in ("virtual", "frames"):
        fields.fail("link", "must be 'virtual' (sample blocks) or 'frames' (real device bytes)")
    default_model = "odart" if kind is DeviceKind.WEARABLE else "mr60bha1"
    model = fields.text("model", default_model)
    allowed = ("odart",) if kind is DeviceKind.WEARABLE else ("mr60bha1", "ld2410")
    if model not in allowed:
        fields.fail("model", f"a {kind.value} model is one of {list(allowed)}")
    return DeviceSpec(device_id, kind, person, link == "frames", model)


def _event(
    fields: Fields, people: set[str], devices: dict[str, DeviceSpec], duration_s: float
) -> TimelineEvent:
    fields.only({"at", "event", "person", "device", "duration_s", "params"})
    at_s = fields.number("at", low=0.0, high=duration_s)
    event = fields.text("event")
    known = {*(k.value for k in EpisodeKind), *(k.value for k in SystemEvent)}
    if event not in known:
        fields.fail("event", f"unknown event; one of {sorted(known)}")
    person = fields.optional_text("person")
    device = fields.optional_text("device")
    if (event in _PERSON_EVENTS or event == SystemEvent.BUTTON) and person not in people:
        fields.fail("person", f"{event} needs a person from [[people]]")
    if event in _DEVICE_EVENTS and device not in devices:
        fields.fail("device", f"{event} needs a device from [[devices]]")
    if event in _FAULT_EVENTS and not devices[device or ""].framed:
        fields.fail("device", f"{event} needs a device with link = 'frames'")
    if event == SystemEvent.BUTTON and not any(
        d.person == person and d.kind is DeviceKind.WEARABLE for d in devices.values()
    ):
        fields.fail("person", "button needs a person with a wearable")
    span = fields.optional_number("duration_s", low=0.0)
    if event in (SystemEvent.EDGE_OFFLINE, SystemEvent.DEVICE_OFFLINE) and span is None:
        fields.fail("duration_s", f"{event} needs a duration_s")
    params = {k: float(v) for k, v in fields.table("params").items()}
    return TimelineEvent(at_s, event, person, device, span, params)


def _delay(fields: Fields, key: str, answers: bool) -> float | None:
    value = fields.optional_number(key, low=0.0)
    return value if answers else None


def _responder(fields: Fields) -> ResponderSpec:
    fields.only(
        {"id", "name", "level", "answers", "ack_after_s", "en_route_after_s", "on_scene_after_s"}
        | {"resolve_after_s", "outcome", "naloxone_doses"}
    )
    responder_id = _id(fields, "id")
    answers = fields.flag("answers", default=True)
    outcome = fields.text("outcome", "occupant_ok")
    if outcome not in OUTCOMES:
        fields.fail("outcome", f"one of {sorted(OUTCOMES)}")
    doses = fields.optional_number("naloxone_doses", low=1.0, high=20.0)
    if outcome == "naloxone_given" and doses is None:
        fields.fail("naloxone_doses", "naloxone_given needs naloxone_doses")
    return ResponderSpec(
        responder_id,
        fields.text("name", responder_id),
        int(fields.number("level", 0.0, low=0.0, high=9.0)),
        _delay(fields, "ack_after_s", answers),
        _delay(fields, "en_route_after_s", answers),
        _delay(fields, "on_scene_after_s", answers),
        _delay(fields, "resolve_after_s", answers),
        outcome,
        None if doses is None else int(doses),
    )


def parse_scenario(data: Mapping[str, Any], source: str) -> Scenario:
    """Check a parsed scenario mapping.

    Args:
        data: the TOML document as a mapping.
        source: where it came from (a file name), for error messages.

    Raises:
        ScenarioError: naming the first bad key and why.
    """
    top = Fields(data, source, "")
    top.only(
        {"name", "summary", "duration_s", "speed", "site", "rooms", "people", "devices"}
        | {"timeline", "responders", "expect"}
    )
    duration_s = top.number("duration_s", low=1.0, high=MAX_DURATION_S)
    site = top.sub("site")
    site.only({"id", "checkin_s", "escalation"})
    rooms = tuple(_room(room) for room in top.rows("rooms"))
    if not rooms:
        top.fail("rooms", "a scenario needs at least one room")
    people = tuple(_person(p, {r for r, _ in rooms}) for p in top.rows("people"))
    keys = [p.key for p in people]
    if not people or len(set(keys)) != len(keys):
        top.fail("people", "needs at least one person, each with a unique id")
    devices = tuple(_device(d, set(keys)) for d in top.rows("devices"))
    ids = [d.id for d in devices]
    if len(set(ids)) != len(ids):
        top.fail("devices", "device ids must be unique")
    for person in people:
        if not any(d.person == person.key for d in devices):
            top.fail("devices", f"person {person.key!r} has no device")
    timeline = tuple(
        sorted(
            (
                _event(e, set(keys), {d.id: d for d in devices}, duration_s)
                for e in top.rows("timeline")
            ),
            key=lambda e: e.at_s,
        )
    )
    responders = tuple(_responder(r) for r in top.rows("responders"))
    if not responders:
        top.fail("responders", "a scenario needs at least one responder")
    escalation = dict(site.table("escalation"))
    return Scenario(
        name=_id(top, "name"),
        summary=top.text("summary"),
        source=source,
        duration_s=duration_s,
        speed=top.number("speed", 20.0, low=0.1, high=MAX_SPEED),
        site=_id(site, "id", "sim-site"),
        checkin_s=site.number("checkin_s", 0.0, low=0.0, high=120.0),
        escalation=escalation,
        rooms=rooms,
        people=people,
        devices=devices,
        timeline=timeline,
        responders=responders,
        expect=parse_expectations(top.sub("expect"), set(keys), responders_levels(responders)),
    )


def responders_levels(responders: tuple[ResponderSpec, ...]) -> frozenset[int]:
    """The escalation levels some responder is configured at."""
    return frozenset(r.level for r in responders)


def parse_scenario_text(text: str, source: str) -> Scenario:
    """Parse and check a scenario from TOML text (``source`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(source, "(file)", f"not valid TOML: {error}") from None
    return parse_scenario(data, source)
