"""TLS identities checked at start-up: ``odart server`` and ``odart edge`` refuse a certificate,
key or identity that does not fit, naming the key and the reason (exit 2), with certificates
made by ``odart broker certs``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.odart_process import run_odart

EXIT_CONFIG = 2


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tls") / "pki"
    made = run_odart(
        "broker", "certs", "--site", "hostel-1", "--edges", "pi-1,pi-2", "--out", str(out)
    )
    assert made.returncode == 0, made.stderr
    return out


def _server(pki: Path, tmp_path: Path, **files: str) -> subprocess.CompletedProcess[str]:
    stems = {"cert": "odart-server", "alerts_cert": "odart-server-alerts"}
    tls = {"ca": "ca.crt"}
    for cert, stem in stems.items():
        tls[cert] = f"{stem}.crt"
        tls[cert.replace("cert", "key")] = f"{stem}.key"
    lines = [f'{name} = "{pki / files.get(name, default)}"' for name, default in tls.items()]
    config = tmp_path / "server.toml"
    config.write_text(
        f'database = "{tmp_path / "server.db"}"\n[mqtt]\nhost = "127.0.0.1"\n'
        "[mqtt.tls]\n" + "\n".join(lines) + '\n[[sites]]\nid = "hostel-1"\nname = "Hostel"\n'
    )
    return run_odart("server", "--config", str(config))


def _edge(pki: Path, tmp_path: Path, cert: str, key: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "edge.toml"
    config.write_text(
        f'site = "hostel-1"\nedge = "pi-1"\noutbox = "{tmp_path / "outbox.db"}"\n'
        '[mqtt]\nhost = "127.0.0.1"\n[mqtt.tls]\n'
        f'ca = "{pki / "ca.crt"}"\ncert = "{pki / cert}"\nkey = "{pki / key}"\n'
    )
    return run_odart("edge", "--config", str(config))


@pytest.mark.parametrize(
    ("files", "key", "reason"),
    [
        # An edge's pair: the broker would take the server for hostel-1/pi-1.
        (
            {"cert": "hostel-1.pi-1.crt", "key": "hostel-1.pi-1.key"},
            "mqtt.tls.cert",
            "is for 'hostel-1/pi-1', the server's must be 'odart-server'",
        ),
        # The main pair given twice: the alert connection would kick the main one off.
        (
            {"alerts_cert": "odart-server.crt", "alerts_key": "odart-server.key"},
            "mqtt.tls.alerts_cert",
            "is for 'odart-server', the server's must be 'odart-server-alerts'",
        ),
        ({"key": "odart-server-alerts.key"}, "mqtt.tls.key", "do not load as a matching PEM pair"),
        ({"cert": "ca.key"}, "mqtt.tls.cert", "not a PEM certificate"),
    ],
)
def test_server_refuses_a_tls_identity_that_does_not_fit(
    pki: Path, tmp_path: Path, files: dict[str, str], key: str, reason: str
) -> None:
    result = _server(pki, tmp_path, **files)
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert f"odart server: config {key}: " in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "server.db").exists()  # stopped before touching anything


@pytest.mark.parametrize(
    ("cert", "key", "where", "reason"),
    [
        ("hostel-1.pi-2.crt", "hostel-1.pi-2.key", "mqtt.tls.cert", "'hostel-1/pi-2', this edge"),
        ("odart-server.crt", "odart-server.key", "mqtt.tls.cert", "'odart-server', this edge"),
        ("hostel-1.pi-1.crt", "hostel-1.pi-2.key", "mqtt.tls.key", "matching PEM pair"),
    ],
)
def test_edge_refuses_a_tls_identity_that_does_not_fit(
    pki: Path, tmp_path: Path, cert: str, key: str, where: str, reason: str
) -> None:
    result = _edge(pki, tmp_path, cert, key)
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert f"odart edge: config {where}: " in result.stderr
    assert reason in result.stderr
    assert not (tmp_path / "outbox.db").exists()


def test_edge_refuses_a_passphrase_key_rather_than_waiting_for_one(
    pki: Path, tmp_path: Path
) -> None:
    key = serialization.load_pem_private_key((pki / "hostel-1.pi-1.key").read_bytes(), None)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    (tmp_path / "locked.key").write_bytes(locked)
    result = _edge(pki, tmp_path, "hostel-1.pi-1.crt", str(tmp_path / "locked.key"))
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert "odart edge: config mqtt.tls.key: " in result.stderr
    assert "the key is encrypted" in result.stderr
