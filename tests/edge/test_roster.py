"""The server's device list at the edge: the diff, the configs, and the agent applying it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge import roster
from edge.agent import EdgeAgent
from edge.config import DeviceConfig, LinkKind, Role
from edge.device_list_file import read_list
from edge.outbox import Outbox
from edge.transport import DeviceLink, DeviceStatus
from firmware_bridge.wire import (
    Command,
    CommandBody,
    DeviceEntry,
    DeviceModel,
    DeviceState,
    Envelope,
    MessageKind,
    encode_ulid,
)
from odart.links import LinkFactory
from tests.edge.test_agent_checkin import edge_config, until
from tests.integration.edge_thread import virtual_wearables

MAC = "A0:9E:1A:12:34:56"


def virtual(device_id: str, participant: str, room: str | None = "room-1") -> DeviceEntry:
    return DeviceEntry(device_id, DeviceModel.VIRTUAL, participant, room)


def test_roster_plan_stops_the_unlisted_and_restarts_the_changed() -> None:
    wanted, refused = roster.from_list([virtual("w-1", "p-1"), virtual("w-2", "p-2")])
    assert refused == []
    running = dict(wanted)
    assert roster.plan(running, wanted).empty  # the retained copy again: nothing to do
    moved, _ = roster.from_list([virtual("w-1", "p-1", "room-9"), virtual("w-3", "p-3")])
    plan = roster.plan(running, moved)
    assert plan.stop == ("w-1", "w-2")
    assert plan.start == ("w-1", "w-3")


def test_roster_listed_devices_become_the_configs_the_link_factory_builds() -> None:
    radar = roster.device_config(
        DeviceEntry("r-1", DeviceModel.MR60BHA1, "p-1", None, "/dev/ttyS0")
    )
    assert (radar.link, radar.role, radar.port) == (LinkKind.UART, Role.RADAR, "/dev/ttyS0")
    h10 = roster.device_config(DeviceEntry("w-1", DeviceModel.POLAR_H10, "p-1", None, MAC))
    assert (h10.link, h10.address, h10.checkin_possible) == (LinkKind.BLE, MAC, False)


def test_roster_virtual_entry_is_a_seeded_virtual_wearable() -> None:
    device = roster.device_config(virtual("w-1", "p-1"))
    assert (device.link, device.role) == (LinkKind.VIRTUAL, Role.WEARABLE)
    assert device.virtual is not None
    assert device.virtual.seed == roster.device_config(virtual("w-1", "p-2")).virtual.seed  # type: ignore[union-attr]
    assert device.virtual.seed != roster.device_config(virtual("w-2", "p-1")).virtual.seed  # type: ignore[union-attr]


def build_virtual(device: DeviceConfig) -> DeviceLink:
    """The production link factory, virtual devices paced ten times real time."""
    return LinkFactory(speed=10.0).build(device)


@pytest.mark.parametrize("consent_default", ["active", "paused"])
def test_roster_agent_starts_and_stops_listed_links_without_a_restart(
    tmp_path: Path, consent_default: str
) -> None:
    async def scenario() -> None:
        config = edge_config(tmp_path / "o.db", consent_default=consent_default)
        outbox = Outbox(":memory:")
        agent = EdgeAgent(
            config, [build_virtual(d) for d in config.devices], outbox, link_builder=build_virtual
        )
        task = asyncio.create_task(agent.run())
        try:
            if consent_default == "paused":
                await agent.apply_consent({"p-0001": "active", "p-0009": "active"})
            await until("the TOML's wearable", lambda: agent.people["p-0001"].blocks > 0)
            (toml_link,) = virtual_wearables(agent.people["p-0001"].links)

            # The first list replaces the TOML: p-0001's wearable goes, p-0009 is new.
            plan = await agent.apply_devices([virtual("wearable-9", "p-0009")])
            assert (plan.stop, plan.start) == (("wearable-1",), ("wearable-9",))
            assert "p-0001" not in agent.people
            assert not toml_link.streaming
            newcomer = agent.people["p-0009"]
            await until("the listed wearable", lambda: newcomer.blocks > 0)
            assert newcomer.room == "room-1"

            # The same list again (a reconnect's retained copy) changes nothing.
            assert (await agent.apply_devices([virtual("wearable-9", "p-0009")])).empty
            (link,) = virtual_wearables(newcomer.links)
            assert link.streaming

            # Un-enrolled: stopped within the consent bound, and the resident is let go.
            await agent.apply_devices([])
            assert not link.streaming
            assert agent.people == {}
            late = DeviceStatus("wearable-9", DeviceState.CONNECTED, 0.0)
            assert agent.handle_status(late) is None  # nothing more about an un-enrolled device
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            outbox.close()

    asyncio.run(scenario())


def test_roster_listed_device_of_an_unconsented_resident_is_not_started(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = edge_config(tmp_path / "o.db")
        outbox = Outbox(":memory:")
        agent = EdgeAgent(config, [], outbox, link_builder=build_virtual)
        task = asyncio.create_task(agent.run())
        try:
            await asyncio.sleep(0)
            await agent.apply_consent({"p-0009": "paused"})
            bad = DeviceEntry("door-1", DeviceModel.Z2M_DOOR, "p-0009", None, "door/+")
            await agent.apply_devices([virtual("wearable-9", "p-0009"), bad])
            person = agent.people["p-0009"]
            (link,) = virtual_wearables(person.links)
            await asyncio.sleep(0.3)
            assert not person.monitored
            assert not link.streaming
            assert agent.counts["devices_refused"] == 1  # a wildcard is no device's topic
            await agent.apply_consent({"p-0009": "active"})
            await until("consent starts it", lambda: link.streaming)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            outbox.close()

    asyncio.run(scenario())


def test_roster_kept_list_runs_after_a_restart_without_the_broker(tmp_path: Path) -> None:
    kept = tmp_path / "outbox-devices.json"
    config = edge_config(tmp_path / "o.db")  # the broker's port is closed throughout
    now = datetime.now(UTC)
    listed = Envelope(
        encode_ulid(int(now.timestamp() * 1000), 7),
        MessageKind.CMD,
        "hostel-1",
        "pi-1",
        now,
        CommandBody(Command.DEVICES, devices=(virtual("wearable-9", "p-0009"),)),
    )

    async def life(first: bool) -> EdgeAgent:
        outbox = Outbox(":memory:")
        links = [build_virtual(d) for d in config.devices]
        agent = EdgeAgent(config, links, outbox, link_builder=build_virtual, device_list_file=kept)
        task = asyncio.create_task(agent.run())
        try:
            if first:
                await until("the TOML's wearable", lambda: agent.link_blocks["wearable-1"] > 0)
                await agent.handle_command(listed)
            await until("the listed wearable", lambda: agent.link_blocks["wearable-9"] > 0)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            outbox.close()
        return agent

    asyncio.run(life(first=True))
    assert kept.exists()
    restarted = asyncio.run(life(first=False))
    assert set(restarted.people) == {"p-0009"}
    assert restarted.link_blocks["wearable-1"] == 0  # the TOML's device never ran again

    kept.write_bytes(b"{not json")
    assert read_list(kept) is None  # logged; the TOML's devices run
