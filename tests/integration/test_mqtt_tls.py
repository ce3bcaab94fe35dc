"""MQTT over TLS with certificate identities, against a real Mosquitto with the generated config.

The broker is started by the test with ``odart broker certs`` output and the generated ACL. Each
identity is a paho client presenting one certificate; what a client sends is judged by what the
server identity receives.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from odart.broker import MosquittoBroker, find_mosquitto, free_port
from odart.certs import issue_site_certs
from odart.mosquitto_conf import MAX_PACKET_BYTES, ListenerTls
from simulators.receiver import NotificationReceiver
from tests.conftest import require
from tests.mqtt_probe import wait_until

pytestmark = pytest.mark.integration

SETTLE_S = 1.5
"""How long to wait for something that must not happen (a loopback broker delivers in ms)."""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pki")
    now = datetime.now(UTC)
    issue_site_certs(out, "hostel-1", ["pi-1", "pi-2"], ["127.0.0.1"], now)
    issue_site_certs(out, "hostel-2", ["pi-1"], ["127.0.0.1"], now)
    return out


@pytest.fixture(scope="module")
def broker(pki: Path) -> Iterator[MosquittoBroker]:
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    tls = ListenerTls(pki / "ca.crt", pki / "broker.crt", pki / "broker.key")
    with MosquittoBroker(tls=tls) as running:
        yield running


def _context(pki: Path, stem: str | None, ca: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca or pki / "ca.crt")
    if stem is not None:
        context.load_cert_chain(pki / f"{stem}.crt", pki / f"{stem}.key")
    return context


class Identity:
    """A paho client with one certificate that records messages and broker disconnects."""

    def __init__(
        self,
        broker: MosquittoBroker,
        pki: Path,
        stem: str,
        *,
        client_id: str = "",
        subscribe: tuple[str, ...] = (),
        will: str | None = None,
    ) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.disconnects = 0
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.tls_set_context(_context(pki, stem))
        if will is not None:
            self._client.will_set(will, b"offline", qos=1)
        self._subscribe = subscribe
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.connect(broker.host, broker.port, keepalive=30)
        self._client.loop_start()
        assert self._connected.wait(15), f"{stem} could not connect"

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        for topic in self._subscribe:
            client.subscribe(topic, qos=1)
        self._connected.set()

    def _on_disconnect(self, *_: object) -> None:
        with self._lock:
            self.disconnects += 1

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def publish(self, topic: str, payload: bytes, *, wait: bool = True) -> None:
        info = self._client.publish(topic, payload, qos=1)
        if wait:
            info.wait_for_publish(10)

    def topics(self) -> list[str]:
        with self._lock:
            return [topic for topic, _ in self.messages]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def test_edge_publishes_its_own_events_and_no_other_site_or_edge(
    pki: Path, broker: MosquittoBroker
) -> None:
    server = Identity(broker, pki, "odart-server", subscribe=("odart/v1/+/+/event",))
    pi1 = Identity(broker, pki, "hostel-1.pi-1")
    try:
        for forged in ("odart/v1/hostel-2/pi-1/event", "odart/v1/hostel-1/pi-2/event"):
            pi1.publish(forged, b"forged")
        pi1.publish("odart/v1/hostel-1/pi-1/event", b"own")
        assert wait_until(lambda: server.messages, timeout_s=10)
        time.sleep(SETTLE_S)
        # The broker handles one client's messages in order: the forged ones came first.
        assert server.messages == [("odart/v1/hostel-1/pi-1/event", b"own")]
    finally:
        pi1.close()
        server.close()


def test_edge_publishes_alerts_only_on_its_own_alert_topic_read_by_the_alert_identity(
    pki: Path, broker: MosquittoBroker
) -> None:
    alerts = Identity(broker, pki, "odart-server-alerts", subscribe=("odart/v1/+/+/alert",))
    routine = Identity(broker, pki, "odart-server", subscribe=("odart/v1/+/+/alert",))
    pi1 = Identity(broker, pki, "hostel-1.pi-1")
    try:
        for forged in ("odart/v1/hostel-2/pi-1/alert", "odart/v1/hostel-1/pi-2/alert"):
            pi1.publish(forged, b"forged")
        pi1.publish("odart/v1/hostel-1/pi-1/alert", b"own")
        assert wait_until(lambda: alerts.messages, timeout_s=10)
        time.sleep(SETTLE_S)
        assert alerts.messages == [("odart/v1/hostel-1/pi-1/alert", b"own")]
        # Only the alert connection reads alerts: the routine one never holds one up.
        assert routine.messages == []
    finally:
        pi1.close()
        routine.close()
        alerts.close()


def test_edge_reads_only_its_own_acks_and_commands(pki: Path, broker: MosquittoBroker) -> None:
    pi1 = Identity(
        broker,
        pki,
        "hostel-1.pi-1",
        subscribe=("odart/v1/+/+/cmd", "odart/v1/hostel-1/pi-1/cmd", "odart/v1/hostel-2/#"),
    )
    server = Identity(broker, pki, "odart-server")
    try:
        server.publish("odart/v1/hostel-1/pi-2/cmd", b"for pi-2")
        server.publish("odart/v1/hostel-2/pi-1/ack", b"for hostel-2")
        server.publish("odart/v1/hostel-1/pi-1/cmd", b"own")
        assert wait_until(lambda: pi1.messages, timeout_s=10)
        time.sleep(SETTLE_S)
        assert set(pi1.messages) == {("odart/v1/hostel-1/pi-1/cmd", b"own")}
    finally:
        server.close()
        pi1.close()


def test_edge_cannot_take_the_server_or_another_edge_client_id(
    pki: Path, broker: MosquittoBroker
) -> None:
    server = Identity(
        broker, pki, "odart-server", client_id="odart-server", subscribe=("odart/v1/+/+/status",)
    )
    pi2_status = "odart/v1/hostel-1/pi-2/status"
    pi2 = Identity(
        broker, pki, "hostel-1.pi-2", client_id="odart-edge-hostel-1-pi-2", will=pi2_status
    )
    attackers = [
        Identity(broker, pki, "hostel-1.pi-1", client_id=client_id)
        for client_id in ("odart-server", "odart-edge-hostel-1-pi-2", "hostel-1/pi-2")
    ]
    try:
        time.sleep(SETTLE_S)
        # Each attacker connected, but as hostel-1/pi-1: the server and pi-2 stayed on, and
        # pi-2's Last Will was never fired.
        assert server.disconnects == 0
        assert pi2.disconnects == 0
        assert pi2_status not in server.topics()
    finally:
        for attacker in attackers:
            attacker.close()
        pi2.close()
        server.close()


CONNECT_V311: bytes = bytes.fromhex("100c00044d5154540402003c0000")
"""An MQTT 3.1.1 CONNECT: clean session, 60 s keepalive, empty client id."""


def _connack(broker: MosquittoBroker, context: ssl.SSLContext) -> bytes:
    """What the broker answers a CONNECT over TLS with: a CONNACK, or b"" when it hangs up."""
    with (
        socket.create_connection((broker.host, broker.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=broker.host) as tls,
    ):
        try:
            tls.sendall(CONNECT_V311)
            return tls.recv(4)
        except (ssl.SSLError, ConnectionError):
            return b""


def test_client_without_a_site_certificate_is_refused(
    pki: Path, broker: MosquittoBroker, tmp_path: Path
) -> None:
    assert _connack(broker, _context(pki, None)) == b""
    other = tmp_path / "other-ca"
    issue_site_certs(other, "hostel-1", ["pi-1"], ["127.0.0.1"], datetime.now(UTC))
    forged = ssl.create_default_context(cafile=pki / "ca.crt")
    forged.load_cert_chain(other / "hostel-1.pi-1.crt", other / "hostel-1.pi-1.key")
    assert _connack(broker, forged) == b""
    # The same request with the site's certificate is accepted (CONNACK, return code 0).
    assert _connack(broker, _context(pki, "hostel-1.pi-1")) == bytes.fromhex("20020000")


def test_revoked_edge_is_refused_and_a_replacement_gets_in(tmp_path: Path) -> None:
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    pki = tmp_path / "pki"
    issue_site_certs(pki, "hostel-1", ["pi-1", "pi-2"], ["127.0.0.1"], datetime.now(UTC))
    stolen = _context(pki, "hostel-1.pi-2")
    revoked = _odart_cli("broker", "revoke", "hostel-1/pi-2", "--out", str(pki))
    assert revoked.returncode == 0, revoked.stderr
    issue_site_certs(pki, "hostel-1", ["pi-2"], ["127.0.0.1"], datetime.now(UTC))  # new Pi
    tls = ListenerTls(pki / "ca.crt", pki / "broker.crt", pki / "broker.key", pki / "crl.pem")
    with MosquittoBroker(tls=tls) as broker:
        assert _connack(broker, stolen) == b""
        assert _connack(broker, _context(pki, "hostel-1.pi-2")) == bytes.fromhex("20020000")
        assert _connack(broker, _context(pki, "hostel-1.pi-1")) == bytes.fromhex("20020000")


def _odart_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "odart.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_oversized_packet_disconnects_the_sender(pki: Path, broker: MosquittoBroker) -> None:
    server = Identity(broker, pki, "odart-server", subscribe=("odart/v1/+/+/event",))
    pi1 = Identity(broker, pki, "hostel-1.pi-1")
    try:
        pi1.publish("odart/v1/hostel-1/pi-1/event", bytes(MAX_PACKET_BYTES), wait=False)
        assert wait_until(lambda: pi1.disconnects >= 1, timeout_s=10)
        time.sleep(SETTLE_S)
        assert server.messages == []
    finally:
        pi1.close()
        server.close()


def _tls_table(pki: Path, stem: str, alerts_stem: str | None = None) -> str:
    ca, cert, key = pki / "ca.crt", pki / f"{stem}.crt", pki / f"{stem}.key"
    table = f'[mqtt.tls]\nca = "{ca}"\ncert = "{cert}"\nkey = "{key}"\n'
    if alerts_stem is not None:
        cert, key = pki / f"{alerts_stem}.crt", pki / f"{alerts_stem}.key"
        table += f'alerts_cert = "{cert}"\nalerts_key = "{key}"\n'
    return table


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "odart.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err.decode(errors="replace")


def _outbox_alerts(outbox: Path) -> int | None:
    try:
        with sqlite3.connect(outbox) as db:
            query = (
                'SELECT COUNT(*) FROM outbox WHERE CAST(payload AS TEXT) LIKE \'%"type":"alert"%\''
            )
            return int(db.execute(query).fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return None


@pytest.mark.slow
def test_edge_and_server_from_tomls_deliver_an_alert_over_tls_and_the_ack_returns(
    pki: Path, broker: MosquittoBroker, tmp_path: Path
) -> None:
    http_port = free_port()
    server_toml = tmp_path / "server.toml"
    with NotificationReceiver() as receiver:
        server_toml.write_text(
            f'database = "{tmp_path / "server.db"}"\n'
            f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
            + _tls_table(pki, "odart-server", "odart-server-alerts")
            + f'[http]\nport = {http_port}\npublic_url = "http://127.0.0.1:{http_port}"\n'
            '[[sites]]\nid = "hostel-1"\nname = "Hostel"\n'
            f'[[responders]]\nid = "staff"\nname = "Staff"\nurls = ["{receiver.url("/staff")}"]\n'
        )
        outbox = tmp_path / "outbox.db"
        edge_toml = tmp_path / "edge.toml"
        edge_toml.write_text(
            f'site = "hostel-1"\nedge = "pi-1"\noutbox = "{outbox}"\ncheckin_s = 0\n'
            f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
            + _tls_table(pki, "hostel-1.pi-1")
            + '[[people]]\nparticipant = "p-0009"\nroom = "room-9"\ndevices = ["wearable-9"]\n'
            '[[devices]]\nid = "wearable-9"\nrole = "wearable"\nlink = "virtual"\n'
            "[devices.virtual]\nseed = 9\nspeed = 10\n"
            'episodes = [{ kind = "abrupt_apnoea", start_s = 30 }]\n'
        )
        server = _spawn("server", "--config", str(server_toml))
        edge = _spawn("edge", "--config", str(edge_toml))
        try:
            pushes = receiver.wait_for(1, timeout_s=60)
            assert pushes, "no alert reached the responder"
            # The server's ack came back over TLS: the edge's outbox drained.
            assert wait_until(lambda: _outbox_alerts(outbox) == 0, timeout_s=20)
            health = httpx.get(f"http://127.0.0.1:{http_port}/api/health", timeout=5).json()
            assert health["mqtt_connected"] is True
        finally:
            edge_log = _stop(edge)
            server_log = _stop(server)
        assert "Traceback" not in edge_log + server_log, edge_log + server_log
    with sqlite3.connect(tmp_path / "server.db") as db:
        (site, edge_id) = db.execute("SELECT site_id, edge_id FROM alerts").fetchone()
    assert (site, edge_id) == ("hostel-1", "pi-1")
