"""The server's certificates for MQTT over TLS, checked whole at start-up (shell).

Each file must exist and be readable, the CA must load, each certificate must be a PEM
certificate whose Common Name is the identity the broker will know it by (``odart-server``;
``odart-server-alerts`` for the alert connection), and each key must be its certificate's. A
mismatch stops start-up naming the key and the reason: otherwise the server would connect as
someone else, the broker's ACL would give it nothing to read, and every alert would wait unseen.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.x509.oid import NameOID
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

SERVER_IDENTITY: Final = "odart-server"
"""The server's MQTT client id and, with TLS, its certificate's CN (``odart broker certs``)."""

ALERTS_IDENTITY: Final = "odart-server-alerts"
"""The alert connection's client id and certificate CN: a session of its own (issue 15)."""

_IDENTITIES: Final = {"cert": SERVER_IDENTITY, "alerts_cert": ALERTS_IDENTITY}
_PAIRS: Final = {"key": "cert", "alerts_key": "alerts_cert"}


def readable(value: Path) -> Path:
    """``value`` if it is a file this user can read; ValueError saying which it is not."""
    if not value.is_file():
        message = f"no such file: {value}"
        raise ValueError(message)
    if not os.access(value, os.R_OK):
        message = f"not readable by this user: {value}"
        raise ValueError(message)
    return value


def common_name(cert: Path) -> str | None:
    """The CN of the PEM certificate ``cert`` (None without one); ValueError if it is not one."""
    try:
        leaf = x509.load_pem_x509_certificate(cert.read_bytes())
    except ValueError:
        message = f"not a PEM certificate: {cert}"
        raise ValueError(message) from None
    names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


class MqttTls(BaseModel):
    """The server's certificate for MQTT over TLS (``odart broker certs``; docs/mqtt-security.md).

    The broker takes the certificate's CN (``odart-server``) as the username and client id.
    The alert connection has a pair of its own (CN ``odart-server-alerts``): a second
    connection with the same certificate would take the first one's client id.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ca: Path
    """The site CA that signed the broker's certificate."""
    cert: Path
    key: Path
    alerts_cert: Path
    """The alert connection's certificate (issue 15: alerts on a connection of their own)."""
    alerts_key: Path

    _files = field_validator("ca", "cert", "key", "alerts_cert", "alerts_key")(readable)

    @field_validator("ca")
    @classmethod
    def _ca_loads(cls, value: Path) -> Path:
        try:
            ssl.create_default_context(cafile=value)
        except ssl.SSLError as error:
            message = f"not a PEM CA certificate: {error}"
            raise ValueError(message) from None
        return value

    @field_validator("cert", "alerts_cert")
    @classmethod
    def _identity(cls, value: Path, info: ValidationInfo) -> Path:
        expected = _IDENTITIES[str(info.field_name)]
        found = common_name(value)
        if found != expected:
            message = (
                f"the certificate is for {found!r}, the server's must be {expected!r} "
                f"({expected}.crt from odart broker certs): the broker would give it "
                "another identity's topics"
            )
            raise ValueError(message)
        return value

    @field_validator("key", "alerts_key")
    @classmethod
    def _matches(cls, value: Path, info: ValidationInfo) -> Path:
        cert_field = _PAIRS[str(info.field_name)]
        cert = info.data.get(cert_field)
        if isinstance(cert, Path):  # else the certificate's own error is reported
            _pair(cert, value, f"{cert_field} and {info.field_name}")
        return value

    def context(self, *, alerts: bool = False) -> ssl.SSLContext:
        """A client TLS context: verifies the broker against ``ca``, presents ``cert`` (or,
        for the alert connection, ``alerts_cert``)."""
        context = ssl.create_default_context(cafile=self.ca)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if alerts:
            _pair(self.alerts_cert, self.alerts_key, "alerts_cert and alerts_key", context)
        else:
            _pair(self.cert, self.key, "cert and key", context)
        return context


def _pair(cert: Path, key: Path, names: str, context: ssl.SSLContext | None = None) -> None:
    """Load ``cert`` with ``key`` (into ``context``); ValueError when the key is not its own."""
    try:
        (context or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)).load_cert_chain(
            cert, key, password=_no_passphrase
        )
    except ssl.SSLError as error:
        message = f"{names} do not load as a matching PEM pair: {error}"
        raise ValueError(message) from None


def _no_passphrase() -> str:
    """Called only for an encrypted key: the service cannot type a passphrase at start-up."""
    message = "the key is encrypted: the service needs it unencrypted, readable by it alone (0600)"
    raise ValueError(message)
