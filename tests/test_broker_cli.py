"""``odart broker certs|config|run`` as a user runs them, checked with openssl-free parsing and
the real ``mosquitto`` binary."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge.config import EdgeConfigError
from edge.config import config_from_mapping as edge_config
from firmware_bridge.wire import MAX_PAYLOAD_BYTES, TopicKind
from odart.broker import find_mosquitto, free_port, wait_until_listening
from odart.certs import issue_site_certs
from server.config import settings_from_mapping
from tests.conftest import require

KEY_MODE = 0o600


def _odart(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "odart.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_broker_certs_makes_a_ca_broker_server_and_edge_identities(tmp_path: Path) -> None:
    out = tmp_path / "pki"
    made = _odart(
        "broker", "certs", "--site", "hostel-1", "--edges", "pi-1,pi-2", "--out", str(out),
        "--host", "broker.hostel.lan", "--host", "10.0.0.5",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    ca = _load(out / "ca.crt")
    broker = _load(out / "broker.crt")
    sans = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["broker.hostel.lan"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    usage = broker.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    names = {}
    for stem in ("odart-server", "odart-server-alerts", "hostel-1.pi-1", "hostel-1.pi-2"):
        cert = _load(out / f"{stem}.crt")
        cert.verify_directly_issued_by(ca)
        names[stem] = _cn(cert)
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert names == {
        "odart-server": "odart-server",
        "odart-server-alerts": "odart-server-alerts",
        "hostel-1.pi-1": "hostel-1/pi-1",
        "hostel-1.pi-2": "hostel-1/pi-2",
    }
    keys = sorted(out.glob("*.key"))
    assert len(keys) == 6
    assert all(stat.S_IMODE(key.stat().st_mode) == KEY_MODE for key in keys)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700

    # A second site later: the same CA signs it, and nothing already issued changes.
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    again = _odart("broker", "certs", "--site", "hostel-2", "--edges", "pi-1", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert all((out / name).read_bytes() == data for name, data in before.items())
    _load(out / "hostel-2.pi-1.crt").verify_directly_issued_by(ca)
    assert _cn(_load(out / "hostel-2.pi-1.crt")) == "hostel-2/pi-1"


def test_broker_certs_refuses_an_edge_id_that_could_escape_its_topic(tmp_path: Path) -> None:
    made = _odart("broker", "certs", "--site", "hostel-1", "--edges", "+", "--out", str(tmp_path))
    assert made.returncode == 2
    assert "'+'" in made.stderr
    assert not (tmp_path / "ca.key").exists()


def test_broker_config_runs_as_a_debian_conf_d_drop_in(tmp_path: Path) -> None:
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    pki = tmp_path / "pki"
    made = _odart("broker", "certs", "--site", "hostel-1", "--out", str(pki), "--host", "127.0.0.1")
    assert made.returncode == 0, made.stderr
    port = free_port()
    acl = tmp_path / "odart.acl"
    acl.write_text(_odart("broker", "acl").stdout)
    drop_in = _odart(
        "broker", "config", "--port", str(port), "--bind", "127.0.0.1",
        "--cafile", str(pki / "ca.crt"), "--certfile", str(pki / "broker.crt"),
        "--keyfile", str(pki / "broker.key"), "--acl-file", str(acl),
    ).stdout  # fmt: skip
    limit = next(
        int(line.split()[1]) for line in drop_in.splitlines() if line.startswith("max_packet_size")
    )
    assert limit > MAX_PAYLOAD_BYTES
    # Debian's /etc/mosquitto/mosquitto.conf, with this test's paths.
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "odart.conf").write_text(drop_in)
    main = tmp_path / "mosquitto.conf"
    main.write_text(
        f"pid_file {tmp_path}/mosquitto.pid\n"
        f"persistence true\npersistence_location {tmp_path}/\n"
        f"log_dest file {tmp_path}/mosquitto.log\n"
        f"include_dir {tmp_path}/conf.d\n"
        # Debian runs it as 'mosquitto'; this test owns every file, so it keeps its own user.
        f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
    )
    broker = subprocess.Popen(
        [find_mosquitto() or "mosquitto", "-c", str(main)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_listening("127.0.0.1", port, process=broker)
        context = ssl.create_default_context(cafile=pki / "ca.crt")
        context.load_cert_chain(pki / "odart-server.crt", pki / "odart-server.key")
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(bytes.fromhex("100c00044d5154540402003c0000"))  # MQTT 3.1.1 CONNECT
            assert tls.recv(4) == bytes.fromhex("20020000")  # CONNACK, accepted
    finally:
        broker.send_signal(signal.SIGTERM)
        _, err = broker.communicate(timeout=10)
    assert b"Error" not in err, err


def test_broker_run_keeps_its_data_directory_private(tmp_path: Path) -> None:
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    data = tmp_path / "broker"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "odart.cli", "broker", "run", "--port", str(port),
         "--data-dir", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        announced = process.stderr.readline()  # printed once the broker listens
        mode = stat.S_IMODE(data.stat().st_mode)
        owner = data.stat().st_uid
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)
    assert mode == 0o700
    assert owner == os.getuid()
    assert "no TLS" in announced


def _pki(tmp_path: Path) -> dict[str, Path]:
    pki = tmp_path / "pki"
    issue_site_certs(pki, "s", ["e", "f"], ["127.0.0.1"], datetime.now(UTC))
    return {"ca": pki / "ca.crt", "cert": pki / "s.e.crt", "key": pki / "s.e.key"}


def test_tls_config_with_a_missing_file_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    files = {**_pki(tmp_path), "cert": tmp_path / "missing.pem"}
    tls = "\n".join(f'{name} = "{path}"' for name, path in files.items())
    server = tmp_path / "server.toml"
    server.write_text(f'[mqtt]\nhost = "127.0.0.1"\n[mqtt.tls]\n{tls}\n')
    # `odart server` as a user starts it; the edge's loader is checked in-process below.
    result = _odart("server", "--config", str(server))
    assert result.returncode != 0
    assert "mqtt.tls.cert" in result.stderr
    assert "missing.pem" in result.stderr


@pytest.mark.parametrize("loader", [edge_config, settings_from_mapping])
def test_tls_config_checks_each_file_and_defaults_to_port_8883(
    tmp_path: Path, loader: Callable[[dict[str, Any]], Any]
) -> None:
    files = _pki(tmp_path)
    site = {"site": "s", "edge": "e"} if loader is edge_config else {}
    if loader is settings_from_mapping:  # the server's pairs: its own, and its alert connection's
        pki = files["ca"].parent
        files |= {
            "cert": pki / "odart-server.crt",
            "key": pki / "odart-server.key",
            "alerts_cert": pki / "odart-server-alerts.crt",
            "alerts_key": pki / "odart-server-alerts.key",
        }

    def load(**tls: object) -> Any:
        return loader({**site, "mqtt": {"host": "127.0.0.1", "tls": {**files, **tls}}})

    assert load().mqtt.port == 8883
    with pytest.raises(Exception, match=r"mqtt\.tls\.ca.*no such file") as error:
        load(ca=str(tmp_path / "nope.crt"))
    assert getattr(error.value, "key", None) == "mqtt.tls.ca"
    # A CA file that is not a certificate, and a key that is not the certificate's.
    with pytest.raises(Exception, match=r"mqtt\.tls\.ca.*not a PEM CA certificate"):
        load(ca=str(files["key"]))
    with pytest.raises(Exception, match=r"mqtt\.tls.*do not load as a matching PEM pair"):
        load(key=str(files["cert"].with_name("s.f.key")))
    with pytest.raises(Exception, match=r"username and password are not used with tls"):
        loader({**site, "mqtt": {"tls": files, "username": "pi-1"}})


def test_edge_with_tls_refuses_a_zigbee2mqtt_door_on_the_site_broker(tmp_path: Path) -> None:
    files = _pki(tmp_path)
    door = {"id": "door-1", "model": "z2m_door", "topic": "zigbee2mqtt/door-1"}
    site = {"site": "s", "edge": "e", "mqtt": {"tls": files}}
    with pytest.raises(EdgeConfigError) as error:
        edge_config({**site, "devices": [door]})
    assert error.value.key == "devices.0.broker"
    edge_config({**site, "devices": [{**door, "broker": {"host": "127.0.0.1"}}]})


def test_broker_acl_names_every_topic_kind_for_edges_and_the_server() -> None:
    acl = _odart("broker", "acl").stdout.splitlines()
    for kind in TopicKind:
        # A new topic kind without an ACL line would be silently dropped by the broker.
        assert any(line.endswith(f"odart/v1/%u/{kind.value}") for line in acl), kind
        assert any(line.endswith(f"odart/v1/+/+/{kind.value}") for line in acl), kind
    assert not any("#" in line.split()[-1] for line in acl if line and not line.startswith("#"))


def test_documented_openssl_steps_make_the_same_identities(tmp_path: Path) -> None:
    require("openssl", shutil.which("openssl") is not None, "apt-get install openssl")
    doc = (Path(__file__).parents[1] / "docs" / "mqtt-security.md").read_text()
    script = doc.split("### The same with openssl", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    ca = _load(tmp_path / "ca.crt")
    for stem, cn in (
        ("odart-server", "odart-server"),
        ("odart-server-alerts", "odart-server-alerts"),
        ("hostel-1.pi-1", "hostel-1/pi-1"),
    ):
        cert = _load(tmp_path / f"{stem}.crt")
        cert.verify_directly_issued_by(ca)
        assert _cn(cert) == cn
        assert stat.S_IMODE((tmp_path / f"{stem}.key").stat().st_mode) == KEY_MODE
    _load(tmp_path / "broker.crt").verify_directly_issued_by(ca)


def test_edge_with_another_edges_certificate_stops_start_up(tmp_path: Path) -> None:
    files = _pki(tmp_path)
    other = {
        **files,
        "cert": files["cert"].with_name("s.f.crt"),
        "key": files["key"].with_name("s.f.key"),
    }
    with pytest.raises(EdgeConfigError, match="'s/f', this edge is 's/e'") as error:
        edge_config({"site": "s", "edge": "e", "mqtt": {"tls": other}})
    assert error.value.key == "mqtt.tls.cert"
    edge_config({"site": "s", "edge": "f", "mqtt": {"tls": other}})
