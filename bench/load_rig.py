"""The rig of ``odart bench load``: residents, a real ``odart server`` and simulated edges (bench).

The server is the real one, run as ``odart server --config`` from a generated TOML, with
Mosquitto on a free loopback port and a local HTTP receiver as every responder's channel. Its
database is prepared beforehand with N consented residents (the consent job's cost grows with
them).

The edges are **simulated**: paho clients that publish wire-valid ``device`` and ``alert``
envelopes (QoS 1, edge-minted ULIDs, ``sent_at`` stamped at publish) on behalf of many edge ids,
and read the server's acks. They do not resend an unacked message (a real edge's outbox would);
unacked messages are counted instead. Full edge agents cost too much CPU to reach 5,000
wearables on the machine that also runs the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import paho.mqtt.client as mqtt

from firmware_bridge import wire
from odart.broker import MosquittoBroker, free_port
from simulators.receiver import NotificationReceiver

SITE: Final = "bench-site"
"""The first site: the timed alerts come from there."""

RESIDENTS_PER_SITE: Final = 100
"""A large hostel. A site's consent snapshot holds at most 200 people (``wire.MAX_COMMAND_ARGS``),
so 5,000 residents are 50 sites, as a housing provider's would be."""


def site_of(resident: int) -> str:
    """The site of resident number ``resident``."""
    block = resident // RESIDENTS_PER_SITE
    return SITE if block == 0 else f"{SITE}-{block:03d}"


WEARABLES_PER_EDGE: Final = 20
"""A hostel floor's worth of residents per edge (the edge RSS target is for 20 wearables)."""

ALERT_EDGE: Final = "alert-edge"
"""The edge the timed alerts come from, on its own connection, as a real edge has."""

STALL_S: Final = 3.0
"""No new ack for this long ends the ingest measurement: what is left was shed, not stored."""

INFLIGHT: Final = 1000
"""paho's QoS 1 window per client: deep enough that the broker, not paho, sets the pace."""


def prepare_database(path: Path, residents: int) -> None:
    """Create the server database with ``residents`` consented residents (fast, unsynced)."""
    from server.privacy.consent import CONSENT_PURPOSES, ConsentAction, ConsentMethod, ConsentRecord
    from server.privacy.consent_texts import current_text
    from server.store.consents import Consents
    from server.store.db import Store
    from server.store.residents import Residents

    store = Store(path)
    store.db.execute("PRAGMA synchronous=OFF")  # set-up only; the server opens it FULL
    now = datetime.now(UTC)
    text = current_text()
    people, consents = Residents(store.db, lambda: now), Consents(store.db, lambda: now)
    for i in range(residents):
        participant = participant_of(i)
        people.ensure(participant, site_of(i), "bench")
        consents.add(
            ConsentRecord(
                participant_id=participant,
                action=ConsentAction.GIVE,
                purposes=CONSENT_PURPOSES,
                method=ConsentMethod.WRITTEN,
                witness="bench",
                recorded_at=now,
                recorded_by="bench",
                text_version=text.version,
                text_sha256=text.sha256,
                capacity_confirmed=True,
                review_due=now.date() + timedelta(days=90),
            )
        )
    store.close()


def participant_of(i: int) -> str:
    """The pseudonym of resident ``i``."""
    return f"p-{i:05d}"


def server_toml(
    directory: Path, broker: MosquittoBroker, receiver: NotificationReceiver, residents: int
) -> Path:
    """A server config: the residents' sites, three levels an hour apart (only level 0 pages)."""
    port = free_port()
    responders = "\n".join(
        f'[[responders]]\nid = "{rid}"\nname = "{rid}"\nlevel = {level}\n'
        f'urls = ["{receiver.url("/" + rid)}"]\n'
        for level, rid in enumerate(["night-staff", "manager", "outreach"])
    )
    sites = "\n".join(
        f'[[sites]]\nid = "{site}"\nname = "Bench hostel {n}"\n'
        f'staff_urls = ["{receiver.url("/staff-office")}"]\n'
        'rooms = [{ id = "room-1", label = "Room 1" }]\n'
        "[sites.escalation]\nlevel_timeouts_s = [3600, 3600, 3600]\n"
        for n, site in enumerate(
            dict.fromkeys(site_of(i) for i in range(0, max(residents, 1), RESIDENTS_PER_SITE))
        )
    )
    config = directory / "server.toml"
    config.write_text(f"""
database = "{directory / "server.db"}"
[mqtt]
host = "{broker.host}"
port = {broker.port}
[http]
port = {port}
public_url = "http://127.0.0.1:{port}"
{sites}
{responders}
""")
    return config


class Server:
    """A running ``odart server``: its pid, port, health and RSS."""

    def __init__(self, config: Path) -> None:
        self.port = int(config.read_text().split("[http]\nport = ")[1].split("\n")[0])
        self.log = config.parent / "server.log"
        self._log = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "odart.cli", "server", "--config", str(config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=5)

    def health(self) -> dict[str, Any]:
        """``/api/health`` (an empty dict while it does not answer)."""
        try:
            return dict(self._http.get("/api/health").json())
        except (httpx.HTTPError, ValueError):
            return {}

    def wait_connected(self, timeout_s: float = 60.0) -> None:
        """Until ingest is connected to the broker."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"odart server exited: {self.log.read_text()[-800:]}")
            if self.health().get("mqtt_connected"):
                return
            time.sleep(0.2)
        raise RuntimeError("odart server did not connect to the broker")

    def rss_mb(self) -> float:
        """Resident memory now, MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        """SIGTERM and reap."""
        self._http.close()
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._log.close()


def _client(broker: MosquittoBroker, name: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name)
    client.max_inflight_messages_set(INFLIGHT)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port, keepalive=60)
    client.loop_start()
    return client


class Edges:
    """Simulated edges: routine device messages for N wearables, timed alerts, acks read back."""

    def __init__(self, broker: MosquittoBroker, residents: int) -> None:
        self._residents = max(residents, 1)
        self._minter = wire.IdMinter()
        self._lock = threading.Lock()
        self.acked: dict[str, float] = {}
        """Message id -> monotonic time its ack arrived."""
        self.alerts_sent: dict[str, float] = {}
        """Alert id -> wall time (epoch s) it was published."""
        self._acks = _client(broker, "bench-acks")
        self._acks.on_message = self._on_ack
        self._acks.subscribe(wire.topic_filter(wire.TopicKind.ACK), qos=1)
        self._routine = _client(broker, "bench-routine")
        self._alerting = _client(broker, "bench-alerts")
        self._n = 0
        time.sleep(0.3)  # subscriptions in place

    def _on_ack(self, _client: object, _userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            envelope = wire.decode_message(message.topic, message.payload)
        except wire.WireError:
            return
        if isinstance(envelope.body, wire.AckBody):
            with self._lock:
                self.acked.setdefault(envelope.body.of, time.monotonic())

    def _mint(self) -> str:
        self._n += 1
        return self._minter.mint(int(time.time() * 1000), self._n.to_bytes(10, "big"))

    def device_payload(self, wearable: int) -> tuple[str, bytes, str]:
        """(topic, payload, id) of a routine report from wearable number ``wearable``."""
        now = datetime.now(UTC)
        envelope = wire.Envelope(
            self._mint(),
            wire.MessageKind.DEVICE,
            site_of(wearable % self._residents),
            f"edge-{wearable // WEARABLES_PER_EDGE:04d}",
            now,
            wire.DeviceBody("connected", 80.0 + wearable % 20, -60.0 - wearable % 15),
            f"wearable-{wearable:05d}",
            participant_of(wearable % self._residents),  # each wearable a consented resident
            sent_at=now,
        )
        return str(envelope.topic), wire.encode_envelope(envelope), envelope.msg_id

    def publish_device(self, wearable: int) -> str:
        """Publish one routine report; returns its id."""
        topic, payload, msg_id = self.device_payload(wearable)
        self._routine.publish(topic, payload, qos=1)
        return msg_id

    def publish_alert(self, participant: int) -> str:
        """Publish one critical apnoea alert and note when; returns its (edge-minted) id."""
        now = datetime.now(UTC)
        body = wire.AlertBody(
            wire.AlertKind.APNOEA,
            wire.Severity.CRITICAL,
            now,
            now - timedelta(seconds=15),
            {"seconds_since_breath": 15.0, "quality": "good"},
            room_id="room-1",
        )
        envelope = wire.Envelope(
            self._mint(),
            wire.MessageKind.ALERT,
            SITE,
            ALERT_EDGE,
            now,
            body,
            "wearable-alerting",
            participant_of(participant % min(self._residents, RESIDENTS_PER_SITE)),  # SITE's
            sent_at=now,
        )
        payload = wire.encode_envelope(envelope)
        self.alerts_sent[envelope.msg_id] = time.time()
        self._alerting.publish(str(envelope.topic), payload, qos=1)
        return envelope.msg_id

    def acked_count(self, ids: list[str]) -> int:
        """How many of ``ids`` the server has acked."""
        with self._lock:
            return sum(1 for i in ids if i in self.acked)

    def close(self) -> None:
        """Disconnect every client."""
        for client in (self._routine, self._alerting, self._acks):
            client.loop_stop()
            client.disconnect()


def bare_rate(broker: MosquittoBroker, edges: Edges, messages: int) -> float:
    """Messages/s from a bare paho publisher to a paho subscriber, same payloads, QoS 1."""
    received = 0
    done = threading.Event()
    last = [0.0]

    def on_message(_c: object, _u: object, _m: mqtt.MQTTMessage) -> None:
        nonlocal received
        received += 1
        if received >= messages:
            last[0] = time.monotonic()
            done.set()

    subscriber = _client(broker, "bench-bare-sub")
    subscriber.on_message = on_message
    subscriber.subscribe("bench/bare/#", qos=1)
    publisher = _client(broker, "bench-bare-pub")
    time.sleep(0.3)
    payloads = [edges.device_payload(i % 5000)[1] for i in range(messages)]
    started = time.monotonic()
    for payload in payloads:
        publisher.publish("bench/bare/device", payload, qos=1)
    done.wait(120)
    for client in (publisher, subscriber):
        client.loop_stop()
        client.disconnect()
    return received / max((last[0] or time.monotonic()) - started, 1e-6)


def server_rate(edges: Edges, messages: int, timeout_s: float = 120.0) -> float:
    """Device messages/s the server stores and acks, offered as fast as paho publishes.

    Shed messages (the server was overloaded) are not acked and not counted.
    """
    payloads = [edges.device_payload(i % 5000) for i in range(messages)]
    ids = [msg_id for _, _, msg_id in payloads]
    started = time.monotonic()
    for topic, payload, _ in payloads:
        edges._routine.publish(topic, payload, qos=1)
    deadline = started + timeout_s
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline and (acked := edges.acked_count(ids)) < messages:
        if acked != last:
            last, last_change = acked, time.monotonic()
        elif time.monotonic() - last_change > STALL_S:
            break  # the rest were shed (not acked); the edges would resend them later
        time.sleep(0.05)
    with edges._lock:
        times = [edges.acked[i] for i in ids if i in edges.acked]
    return len(times) / max((max(times) if times else time.monotonic()) - started, 1e-6)


@contextmanager
def rig(
    directory: Path, residents: int
) -> Iterator[tuple[MosquittoBroker, NotificationReceiver, Server]]:
    """Broker, receiver and a connected server with ``residents`` consented residents."""
    prepare_database(directory / "server.db", residents)
    with MosquittoBroker() as broker, NotificationReceiver() as receiver:
        server = Server(server_toml(directory, broker, receiver, residents))
        try:
            server.wait_connected()
            yield broker, receiver, server
        finally:
            server.stop()
