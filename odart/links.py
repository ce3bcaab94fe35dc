"""Builds the device links an edge config asks for (shell, composition root).

Virtual devices come from :mod:`simulators`; hardware links from :mod:`edge`. Kept here, not in
``edge``, so that the production agent does not depend on the simulators.
"""

from __future__ import annotations

import numpy as np

from edge.config import DeviceConfig, EdgeConfig, EdgeConfigError, LinkKind, Role
from edge.transport import DeviceLink
from simulators.devices import VirtualRoom, VirtualWearable
from simulators.physiology import Episode, PhysiologyStream, SubjectParams


def _physiology(device: DeviceConfig, index: int) -> PhysiologyStream:
    virtual = device.virtual
    assert virtual is not None  # the config fills in a default for virtual links
    try:
        params = SubjectParams() if virtual.rate_bpm is None else SubjectParams(virtual.rate_bpm)
        episodes = [
            Episode(e.kind, e.start_s, e.duration_s, params=e.params)  # type: ignore[arg-type]
            for e in virtual.episodes
        ]
    except (TypeError, ValueError) as error:
        raise EdgeConfigError(f"devices.{index}.virtual", str(error)) from None
    return PhysiologyStream(params, episodes, np.random.default_rng(virtual.seed))


def build_links(config: EdgeConfig, *, speed: float | None = None) -> list[DeviceLink]:
    """One link per device in ``config``; ``speed`` overrides every virtual device's pace."""
    by_id = {device.id: (index, device) for index, device in enumerate(config.devices)}
    links: list[DeviceLink] = []
    for person in config.people:
        devices = sorted(
            (by_id[d] for d in person.devices), key=lambda p: p[1].role != Role.WEARABLE
        )
        stream: PhysiologyStream | None = None
        for index, device in devices:
            if device.link is not LinkKind.VIRTUAL:
                raise EdgeConfigError(
                    f"devices.{index}.link", f"{device.link.value} links are not wired in yet"
                )
            pace = speed or (device.virtual.speed if device.virtual else 1.0)
            if device.role is Role.WEARABLE:
                stream = _physiology(device, index)
                virtual = device.virtual
                assert virtual is not None  # the config fills in a default for virtual links
                links.append(
                    VirtualWearable(
                        device.id,
                        stream,
                        pace,
                        answers_checkin=virtual.answers_checkin,
                        answer_delay_s=virtual.answer_delay_s,
                    )
                )
            else:
                occupant = stream or _physiology(device, index)
                links.append(VirtualRoom(device.id, occupant.room(), pace))
    return links
