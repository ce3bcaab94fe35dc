"""A full disk under a real ``odart server``: no ack, health says why, staff told, recovery alone.

The database lives on a small tmpfs (root only, as in CI); a filler file takes the rest of it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from firmware_bridge import wire
from odart.broker import MosquittoBroker
from simulators.receiver import NotificationReceiver
from tests.conftest import require
from tests.mqtt_probe import MqttProbe, wait_until
from tests.server.test_escalation import alert_envelope
from tests.support.server_process import health, server_toml, start_server, stop

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TMPFS_SIZE = "3m"
"""Room for the migrated database and its WAL, and little else."""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs mounted for this test."""
    require("root (to mount a tmpfs)", os.geteuid() == 0, "run the disk-full tests as root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount)], check=True
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Write ``path`` until the disk is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)


def _acked(probe: MqttProbe, envelope: wire.Envelope, timeout_s: float) -> bool:
    def seen() -> bool:
        return any(envelope.msg_id.encode() in payload for _t, payload, _r in probe.messages)

    return wait_until(seen, timeout_s=timeout_s)


def _acked_or_refused(probe: MqttProbe, envelope: wire.Envelope, port: int) -> bool:
    """The envelope is acked, or the server says its database is down (then it never will be)."""
    return _acked(probe, envelope, timeout_s=0) or health(port)[0] == 503


def test_server_disk_full_refuses_acks_says_why_and_recovers_by_itself(
    tmp_path: Path, small_disk: Path, mosquitto: MosquittoBroker
) -> None:
    with (
        NotificationReceiver() as phones,
        MqttProbe(mosquitto.host, mosquitto.port, "odart/v1/+/+/ack") as probe,
    ):
        config, port = server_toml(
            tmp_path,
            (mosquitto.host, mosquitto.port),
            receiver=phones,
            rooms={"room-3": "Room 3"},
            database=small_disk / "server.db",
        )
        server = start_server(config, port)
        try:
            assert health(port)[0] == 200
            _fill(small_disk / "filler")
            # Alerts go on arriving; the first the database cannot take is not acked.
            refused = None
            for n in range(1, 200):
                envelope = alert_envelope(1000 + n)
                probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
                # An ack slower than a few seconds (a loaded machine) is not a refusal: only
                # the server's own word that its database is down is.
                assert wait_until(
                    partial(_acked_or_refused, probe, envelope, port), timeout_s=60, interval_s=0.2
                )
                if not _acked(probe, envelope, timeout_s=1):
                    refused = envelope
                    break
            assert refused is not None, "the disk never filled"
            status, body = health(port)
            assert status == 503
            assert body["down"] == ["database"]
            assert body["ingest"]["refused.store_full"] >= 1
            # Staff hear of it, best effort, though nothing can be stored.
            assert wait_until(
                lambda: any(p.path == "/staff-office" for p in phones.pushes), timeout_s=15
            )
            notice = next(p for p in phones.pushes if p.path == "/staff-office")
            assert "disk full" in notice.payload["message"]

            (small_disk / "filler").unlink()
            assert wait_until(lambda: health(port)[0] == 200, timeout_s=15)
            # The edge resends what was not acked: now it is stored, acked and paged.
            probe.publish(str(refused.topic), wire.encode_envelope(refused))
            assert _acked(probe, refused, timeout_s=10)
            assert wait_until(
                lambda: any(p.alert_id == refused.msg_id for p in phones.pushes), timeout_s=15
            )
        finally:
            stop(server)
    with sqlite3.connect(small_disk / "server.db") as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM alerts WHERE id = ?", [refused.msg_id]
        ).fetchone()
    assert count == 1
