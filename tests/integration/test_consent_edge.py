"""Consent at the edge against a real Mosquitto: a retained snapshot stops and restarts monitoring.

The snapshot is published the way the server publishes it: a retained ``cmd`` message on the
edge's topic. Withdrawal must stop the resident's processing, drop their detector and disconnect
their devices within 5 s of the broker accepting the snapshot (docs/wire.md).
"""

from __future__ import annotations

import gc
import os
import time
import warnings
import weakref
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.consent import ConsentState
from firmware_bridge.samples import Channel, SampleBlock
from firmware_bridge.wire import (
    CommandBody,
    Envelope,
    IdMinter,
    MessageKind,
    Topic,
    TopicKind,
    encode_envelope,
)
from odart.broker import MosquittoBroker
from tests.integration.edge_thread import EdgeThread, edge_config
from tests.mqtt_probe import MqttProbe, wait_until

pytestmark = pytest.mark.integration

WITHDRAWAL_BOUND_S = 5.0
"""The contract: stopped, dropped and disconnected within 5 s of receipt (docs/wire.md)."""

_MINTER = IdMinter()


def publish_consent(broker: MosquittoBroker, states: dict[str, str]) -> None:
    """Publish a retained consent snapshot for edge pi-1, as the server does."""
    now = datetime.now(UTC)
    envelope = Envelope(
        _MINTER.mint(int(now.timestamp() * 1000), os.urandom(10)),
        MessageKind.CMD,
        "hostel-1",
        "pi-1",
        now,
        CommandBody("consent", states),
    )
    topic = str(Topic("hostel-1", "pi-1", TopicKind.CMD))
    with MqttProbe(broker.host, broker.port) as probe:
        probe.publish(topic, encode_envelope(envelope), retain=True)


def started(edge: EdgeThread) -> EdgeThread:
    edge.start()
    assert wait_until(edge.agent.publisher.connected.is_set, timeout_s=15)
    return edge


def test_consent_withdrawal_stops_drops_and_disconnects_within_5_s(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    config = edge_config(mosquitto, tmp_path / "outbox.db", people=2)
    with started(EdgeThread(config)) as edge:
        withdrawn, other = edge.wearables
        person = edge.agent.people["p-0001"]
        assert wait_until(lambda: person.blocks > 5 and withdrawn.streaming and other.streaming)
        detector = weakref.ref(edge.call(lambda: person.detector))
        assert detector() is not None

        sent_at = time.monotonic()
        publish_consent(mosquitto, {"p-0001": "withdrawn", "p-0002": "active"})

        def stopped() -> bool:
            # The collection proves the detector was freed. It also sweeps up whatever earlier
            # tests left to the cycle collector (an unclosed loopback socket, now and then);
            # that warning belongs to them, not to this withdrawal, so it is not raised here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()
            return (
                not person.monitored
                and person.task is None
                and detector() is None
                and not withdrawn.streaming
            )

        assert wait_until(stopped, timeout_s=10, interval_s=0.01)
        stop_s = time.monotonic() - sent_at
        print(f"\nconsent withdrawal to stopped, dropped and disconnected: {stop_s * 1000:.0f} ms")
        assert stop_s < WITHDRAWAL_BOUND_S

        # Nothing more is processed for them; the other resident carries on.
        fed = person.blocks
        other_fed = edge.agent.people["p-0002"].blocks
        late = SampleBlock("wearable-1", Channel.HR, 500.0, 1.0, (70.0,))
        assert edge.call(lambda: edge.agent.handle_block(late)) == []
        time.sleep(0.5)
        assert person.blocks == fed
        assert edge.agent.counts["withheld_blocks"] >= 1
        assert edge.agent.people["p-0002"].blocks > other_fed
        assert other.streaming
        assert edge.agent.consent.states["p-0001"] is ConsentState.WITHDRAWN

        # Consent given again: a fresh detector and the device reconnects.
        publish_consent(mosquitto, {"p-0001": "active", "p-0002": "active"})
        assert wait_until(lambda: withdrawn.streaming and person.blocks > fed, timeout_s=10)
        assert person.monitored
        assert person.detector is not detector()


def test_consent_snapshot_published_before_the_edge_starts_applies_on_connect(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    publish_consent(mosquitto, {"p-0001": "paused"})
    config = edge_config(mosquitto, tmp_path / "outbox.db", consent_default="paused")
    with started(EdgeThread(config)) as edge:
        (wearable,) = edge.wearables
        person = edge.agent.people["p-0001"]
        assert wait_until(lambda: edge.agent.counts["consent_snapshots"] == 1, timeout_s=10)
        time.sleep(0.3)
        assert not wearable.streaming
        assert person.blocks == 0
        assert not person.monitored

        # The server names them active; a broker restart redelivers the retained copy, which
        # changes nothing.
        publish_consent(mosquitto, {"p-0001": "active"})
        assert wait_until(lambda: wearable.streaming and person.blocks > 0, timeout_s=10)
        mosquitto.stop()
        mosquitto.start()
        assert wait_until(lambda: edge.agent.counts["consent_snapshots"] >= 3, timeout_s=30)
        assert person.monitored
        assert wearable.streaming


def test_consent_default_active_edge_applies_a_retained_withdrawal_on_connect(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    publish_consent(mosquitto, {"p-0001": "withdrawn"})
    config = edge_config(mosquitto, tmp_path / "outbox.db")
    with started(EdgeThread(config)) as edge:
        person = edge.agent.people["p-0001"]
        assert wait_until(lambda: edge.agent.counts["consent_snapshots"] == 1, timeout_s=10)
        assert wait_until(lambda: not edge.wearables[0].streaming, timeout_s=WITHDRAWAL_BOUND_S)
        assert not person.monitored
