"""Certificates for MQTT over TLS: a site CA, the broker, the ODART server and each edge (shell).

Built with the ``cryptography`` package (no ``openssl`` subprocess); docs/mqtt-security.md gives
the equivalent openssl commands. Every client certificate's Common Name is its MQTT identity:
Mosquitto's ``use_identity_as_username`` makes the CN the username, and
``use_username_as_clientid`` makes it the client id too (see :mod:`odart.mosquitto_conf`).

Layout of the output directory (keys are written 0600, never overwritten)::

    ca.crt  ca.key                   the site CA (keep ca.key offline once edges are issued)
    broker.crt  broker.key           Mosquitto's server certificate, SANs = the broker's names
    odart-server.crt  odart-server.key   the ODART server's client certificate
    odart-server-alerts.crt  .key    the server's alert connection (a client id of its own)
    SITE.EDGE.crt  SITE.EDGE.key     one client certificate per edge, CN ``SITE/EDGE``

Running it again reuses the CA and any certificate already there, so edges can be added later.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from odart.mosquitto_conf import SERVER_ALERTS_IDENTITY, SERVER_IDENTITY, edge_identity

CA_VALID_DAYS: Final = 3650
"""The CA outlives many leaf renewals; rotating it means re-issuing every certificate."""

LEAF_VALID_DAYS: Final = 825
"""About 27 months: the longest leaf lifetime browsers and TLS stacks long accepted (CA/Browser
Forum baseline), and a lost edge's certificate expires by itself in that time. An expired edge
certificate stops that edge connecting: renew before (``--renew``), see docs/mqtt-security.md."""

BACKDATE_S: Final = 300
"""notBefore is set five minutes early so a Pi whose clock lags slightly still accepts it."""

_CURVE: Final = ec.SECP256R1()
"""P-256: supported by every OpenSSL Mosquitto and Python link against, and fast on a Pi."""

_KEY_MODE: Final = 0o600
_CERT_MODE: Final = 0o644


class CertError(Exception):
    """Certificates could not be made (bad name, unreadable CA, unwritable directory).

    Attributes:
        path: the file or name at fault.
        reason: why.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        message = f"{path}: {reason}"
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Issued:
    """One certificate and key on disk; ``created`` is False when an existing pair was kept."""

    name: str
    cert: Path
    key: Path
    created: bool


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(_CURVE)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL + mode: the key is never readable by others, not even for an instant.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _KEY_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(_CERT_MODE)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ODART"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def build_ca(key: ec.EllipticCurvePrivateKey, site: str, now: datetime) -> x509.Certificate:
    """A self-signed CA that may sign leaf certificates only (path length 0)."""
    name = _name(f"ODART CA {site}")
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(seconds=BACKDATE_S))
        .not_valid_after(now + timedelta(days=CA_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _san_entries(hosts: Sequence[str]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for host in hosts:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return entries


def build_leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    now: datetime,
    *,
    server_hosts: Sequence[str] = (),
) -> x509.Certificate:
    """A leaf signed by the CA: a TLS server certificate when ``server_hosts`` is given (its
    SANs), else a TLS client certificate whose CN is the MQTT identity."""
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_hosts else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(seconds=BACKDATE_S))
        .not_valid_after(now + timedelta(days=LEAF_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server_hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(_san_entries(server_hosts)), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256())


def _load_ca(out: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key_path, cert_path = out / "ca.key", out / "ca.crt"
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError, TypeError) as error:
        raise CertError(str(key_path), f"cannot reuse the CA: {error}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertError(str(key_path), "not an EC key made by odart broker certs")
    return key, cert


def _ensure_ca(
    out: Path, site: str, now: datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Issued]:
    key_path, cert_path = out / "ca.key", out / "ca.crt"
    if key_path.exists() or cert_path.exists():
        key, cert = _load_ca(out)
        return key, cert, Issued("ca", cert_path, key_path, created=False)
    key = _new_key()
    cert = build_ca(key, site, now)
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return key, cert, Issued("ca", cert_path, key_path, created=True)


def _ensure_leaf(
    out: Path,
    stem: str,
    common_name: str,
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    now: datetime,
    *,
    server_hosts: Sequence[str] = (),
    renew: bool = False,
) -> Issued:
    key_path, cert_path = out / f"{stem}.key", out / f"{stem}.crt"
    if not renew and key_path.exists() and cert_path.exists():
        return Issued(common_name, cert_path, key_path, created=False)
    key = _new_key()
    cert = build_leaf(ca[0], ca[1], key, common_name, now, server_hosts=server_hosts)
    key_path.unlink(missing_ok=True)
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return Issued(common_name, cert_path, key_path, created=True)


def issue_site_certs(
    out: Path,
    site: str,
    edges: Sequence[str],
    broker_hosts: Sequence[str],
    now: datetime,
    *,
    renew: bool = False,
) -> list[Issued]:
    """Make (or reuse) the CA, the broker's and the server's certificates, and one per edge.

    Args:
        out: output directory, created 0700 if missing.
        site: the site id; edges' CNs are ``site/edge``.
        edges: edge ids at this site.
        broker_hosts: names and addresses clients use to reach the broker (its SANs).
        now: the issue time (UTC).
        renew: re-issue leaf certificates that exist (new keys); the CA is always kept.

    Raises:
        CertError: a bad id, no broker host, or a CA that cannot be read.
    """
    for edge in edges:
        try:
            edge_identity(site, edge)
        except ValueError as error:
            raise CertError(edge, str(error)) from None
    if not broker_hosts:
        raise CertError("broker hosts", "give at least one name or address for the broker")
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_key, ca_cert, ca_issued = _ensure_ca(out, site, now)
    ca = (ca_key, ca_cert)
    issued = [
        ca_issued,
        _ensure_leaf(out, "broker", "broker", ca, now, server_hosts=broker_hosts, renew=renew),
        _ensure_leaf(out, SERVER_IDENTITY, SERVER_IDENTITY, ca, now, renew=renew),
        _ensure_leaf(out, SERVER_ALERTS_IDENTITY, SERVER_ALERTS_IDENTITY, ca, now, renew=renew),
    ]
    issued += [
        _ensure_leaf(out, f"{site}.{edge}", edge_identity(site, edge), ca, now, renew=renew)
        for edge in edges
    ]
    return issued


def revoke(out: Path, identity: str, now: datetime) -> Path:
    """Add an identity's certificate to the CA's revocation list ``crl.pem``; return its path.

    The revoked pair is renamed ``*.revoked-SERIAL`` so that running ``issue_site_certs`` again
    makes a fresh identity (a replacement Pi). Mosquitto reads the list at start-up
    (``crlfile``), so restart it afterwards.

    Raises:
        CertError: no such identity in ``out``, or the CA cannot be read.
    """
    stem = identity
    if identity not in (SERVER_IDENTITY, SERVER_ALERTS_IDENTITY):
        site, _, edge = identity.partition("/")
        try:
            edge_identity(site, edge)
        except ValueError as error:
            reason = f"not SITE/EDGE, {SERVER_IDENTITY} or {SERVER_ALERTS_IDENTITY}: {error}"
            raise CertError(identity, reason) from None
        stem = f"{site}.{edge}"
    cert_path, key_path = out / f"{stem}.crt", out / f"{stem}.key"
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as error:
        raise CertError(str(cert_path), f"no certificate to revoke: {error}") from None
    ca_key, ca_cert = _load_ca(out)
    crl_path = out / "crl.pem"
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - timedelta(seconds=BACKDATE_S))
        # A CRL past its next update makes OpenSSL refuse every client: it lasts as the CA does.
        .next_update(ca_cert.not_valid_after_utc)
    )
    if crl_path.exists():
        for entry in x509.load_pem_x509_crl(crl_path.read_bytes()):
            builder = builder.add_revoked_certificate(entry)
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(cert.serial_number)
        .revocation_date(now)
        .build()
    )
    crl = builder.add_revoked_certificate(entry).sign(ca_key, hashes.SHA256())
    crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    crl_path.chmod(_CERT_MODE)
    suffix = f".revoked-{cert.serial_number:x}"
    cert_path.rename(cert_path.with_name(cert_path.name + suffix))
    if key_path.exists():
        key_path.rename(key_path.with_name(key_path.name + suffix))
    return crl_path
