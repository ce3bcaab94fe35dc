"""Mosquitto configuration and ACL text for ODART, rendered from values (pure).

Two shapes of ``mosquitto.conf``:

- **standalone** (``data_dir`` set): what ``odart broker run``, the demo and the tests start,
  with its own persistence directory and log. The demo and tests listen on loopback without TLS.
- **drop-in** (``data_dir`` None): ``odart broker config`` output for Debian's
  ``/etc/mosquitto/conf.d/``. Debian's main ``mosquitto.conf`` already sets ``pid_file``,
  ``persistence``, ``persistence_location`` and ``log_dest file``; Mosquitto refuses a second
  ``persistence_location`` or ``log_dest file``, so the drop-in sets none of them.

Identity (docs/mqtt-security.md): on a TLS listener every client must present a certificate
from the site CA (``require_certificate``); its Common Name becomes the MQTT username
(``use_identity_as_username``) and also the client id (``use_username_as_clientid``). A client
can therefore never take another identity's client id: not ``odart-server`` (which would kick
the server off its persistent session) and not another edge's (which would fire that edge's
Last Will). An edge's CN is ``SITE/EDGE``, so the ACL's ``%u`` expands to exactly the
``SITE/EDGE`` levels of its topics (``odart/v1/SITE/EDGE/...``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from firmware_bridge.wire import ID_PATTERN, MAX_PAYLOAD_BYTES, TOPIC_ROOT

AUTOSAVE_INTERVAL_S: Final = 1
"""Persistence snapshot period. Mosquitto's default (1800 s) loses every queued message when the
broker is killed; measured with 1 s, 50/50 queued messages survived a SIGKILL."""

MAX_QUEUED_MESSAGES: Final = 100_000
"""Per-client queue. The default 1000 silently dropped 87 of 20,000 PUBACKed QoS 1 messages."""

MAX_KEEPALIVE_S: Final = 60
"""Clients may not ask for a longer keepalive, so a dead edge is noticed within ~1.5 minutes."""

PACKET_OVERHEAD_BYTES: Final = 1024
"""Room around the largest payload: fixed header (<= 5), topic (2 + at most 9 + 64 + 1 + 64 + 7),
packet id, MQTT 5 properties, and on CONNECT the client id, username and will topic (a will's
payload is an envelope, so it is bounded by the same payload limit)."""

MAX_PACKET_BYTES: Final = MAX_PAYLOAD_BYTES + PACKET_OVERHEAD_BYTES
"""``max_packet_size``: a client sending a bigger packet is disconnected by the broker, so a
misbehaving or hostile client cannot make it buffer megabytes (the MQTT limit is 256 MiB)."""

TLS_PORT: Final = 8883
"""IANA's port for MQTT over TLS."""

PLAIN_PORT: Final = 1883
"""IANA's port for MQTT without TLS: loopback demo and tests only."""

SERVER_IDENTITY: Final = "odart-server"
"""The ODART server's certificate CN, hence its MQTT username and client id."""

ALERTS_SUFFIX: Final = "-alerts"
"""Appended to the server's identity for its alert connection's identity."""

SERVER_ALERTS_IDENTITY: Final = SERVER_IDENTITY + ALERTS_SUFFIX
"""The identity of the server's second connection, which reads alerts and nothing else (issue
15): a client id of its own, so it needs a certificate of its own (the CN is the client id)."""

IDENTITY_SEPARATOR: Final = "/"
"""Between site and edge in an edge's identity; ids never contain it (``ID_PATTERN``)."""


def edge_identity(site_id: str, edge_id: str) -> str:
    """The MQTT identity (certificate CN, username, client id) of one edge: ``site/edge``.

    Raises:
        ValueError: an id is not a valid ODART id (it could then escape its topic level).
    """
    for label, value in (("site", site_id), ("edge", edge_id)):
        if not ID_PATTERN.fullmatch(value):
            message = f"{label} id {value!r} must be 1-64 characters of a-z, 0-9, _ and -"
            raise ValueError(message)
    return f"{site_id}{IDENTITY_SEPARATOR}{edge_id}"


@dataclass(frozen=True, slots=True)
class ListenerTls:
    """The broker side of TLS: the CA that signs clients, and the broker's own pair."""

    cafile: Path
    certfile: Path
    keyfile: Path
    crlfile: Path | None = None
    """Revoked client certificates (``odart broker revoke``); None: nothing revoked yet."""


@dataclass(frozen=True, slots=True)
class MosquittoConfig:
    """What goes into a generated ``mosquitto.conf``.

    Attributes:
        port: TCP port to listen on.
        data_dir: persistence and log directory (standalone); None renders a Debian drop-in.
        bind: address to listen on; loopback unless deliberately exposed.
        allow_anonymous: only for the demo and tests on loopback.
        tls: certificate identities (required when anonymous access is off).
        acl_file: topic rules (:func:`render_acl`), required when anonymous access is off.
        user: standalone only: the user Mosquitto runs as when started as root (the owner of
            the 0700 ``data_dir``); a drop-in leaves Debian's ``mosquitto`` user alone.
    """

    port: int
    data_dir: Path | None
    bind: str = "127.0.0.1"
    allow_anonymous: bool = False
    tls: ListenerTls | None = None
    acl_file: Path | None = None
    user: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            message = f"port must be 1-65535, got {self.port}"
            raise ValueError(message)
        if not self.allow_anonymous and (self.tls is None or self.acl_file is None):
            message = "a broker without anonymous access needs tls certificates and an acl_file"
            raise ValueError(message)


def render_mosquitto_conf(config: MosquittoConfig) -> str:
    """The mosquitto.conf text for ``config`` (pure)."""
    lines = [
        "# Generated by odart (odart/mosquitto_conf.py gives the reason behind each value).",
        "per_listener_settings false",
        f"allow_anonymous {'true' if config.allow_anonymous else 'false'}",
        f"autosave_interval {AUTOSAVE_INTERVAL_S}",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        "max_inflight_messages 100",
        f"max_keepalive {MAX_KEEPALIVE_S}",
        f"max_packet_size {MAX_PACKET_BYTES}",
        "persistent_client_expiration 14d",
        # Nagle's algorithm turned a 0.5 ms QoS 1 round trip into 88 ms (measured).
        "set_tcp_nodelay true",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
    ]
    if config.data_dir is not None:
        lines += [
            "persistence true",
            f"persistence_location {config.data_dir}/",
            f"log_dest file {config.data_dir}/mosquitto.log",
        ]
        if config.user is not None:
            lines.append(f"user {config.user}")
    if config.acl_file is not None:
        lines.append(f"acl_file {config.acl_file}")
    lines.append(f"listener {config.port} {config.bind}")
    if config.tls is not None:
        lines += [
            f"cafile {config.tls.cafile}",
            f"certfile {config.tls.certfile}",
            f"keyfile {config.tls.keyfile}",
            *([f"crlfile {config.tls.crlfile}"] if config.tls.crlfile is not None else []),
            "tls_version tlsv1.2",
            "require_certificate true",
            "use_identity_as_username true",
            # The client id becomes the certificate CN: nobody can take another's id.
            "use_username_as_clientid true",
        ]
    return "\n".join(lines) + "\n"


def render_acl(server_user: str = SERVER_IDENTITY) -> str:
    """Topic rules: an edge (user ``site/edge``) reaches only its own topics; the server
    reads every edge's events and status and writes acks and commands; the server's alert
    connection (``server_user`` + ``-alerts``) reads every edge's alerts and writes acks (pure)."""
    root = TOPIC_ROOT
    alerts_user = server_user + ALERTS_SUFFIX
    return "\n".join(
        [
            "# Generated by odart. %u is the certificate CN, which is SITE/EDGE for an edge,",
            "# so each pattern gives an edge its own site's and its own edge's topics only.",
            f"pattern write {root}/%u/alert",
            f"pattern write {root}/%u/event",
            f"pattern write {root}/%u/status",
            f"pattern read {root}/%u/ack",
            f"pattern read {root}/%u/cmd",
            "",
            f"user {server_user}",
            f"topic read {root}/+/+/event",
            f"topic read {root}/+/+/status",
            f"topic write {root}/+/+/ack",
            f"topic write {root}/+/+/cmd",
            "",
            f"user {alerts_user}",
            f"topic read {root}/+/+/alert",
            f"topic write {root}/+/+/ack",
            "",
        ]
    )
