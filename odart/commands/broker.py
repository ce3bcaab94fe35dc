"""``odart broker``: a loopback Mosquitto, or the production config, ACL and certificates."""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

HELP = "run a loopback Mosquitto, or print the production config and ACL, or make certificates"

_CA_DIR = Path("/etc/mosquitto/ca_certificates")
_CERT_DIR = Path("/etc/mosquitto/certs")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    from odart.mosquitto_conf import PLAIN_PORT, SERVER_IDENTITY, TLS_PORT

    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser(
        "run", help="run a loopback broker without TLS in the foreground (demo, tests)"
    )
    run_parser.add_argument("--port", type=int, default=PLAIN_PORT)
    run_parser.add_argument("--data-dir", type=Path, help="persistence directory (default: temp)")
    config_parser = sub.add_parser(
        "config", help="print a TLS mosquitto.conf drop-in for /etc/mosquitto/conf.d/"
    )
    config_parser.add_argument("--port", type=int, default=TLS_PORT)
    config_parser.add_argument("--bind", default="0.0.0.0")
    config_parser.add_argument("--cafile", type=Path, default=_CA_DIR / "odart-ca.crt")
    config_parser.add_argument("--certfile", type=Path, default=_CERT_DIR / "odart-broker.crt")
    config_parser.add_argument("--keyfile", type=Path, default=_CERT_DIR / "odart-broker.key")
    config_parser.add_argument("--acl-file", type=Path, default=Path("/etc/mosquitto/odart.acl"))
    config_parser.add_argument(
        "--crlfile", type=Path, help="revocation list from odart broker revoke (default: none)"
    )
    acl_parser = sub.add_parser("acl", help="print the per-edge topic ACL")
    acl_parser.add_argument("--server-user", default=SERVER_IDENTITY)
    certs_parser = sub.add_parser(
        "certs", help="make a site CA and certificates for the broker, the server and each edge"
    )
    certs_parser.add_argument("--site", required=True, help="site id, e.g. hostel-1")
    certs_parser.add_argument(
        "--edges", default="", help="comma-separated edge ids at the site, e.g. pi-1,pi-2"
    )
    certs_parser.add_argument("--out", type=Path, required=True, help="output directory")
    certs_parser.add_argument(
        "--host",
        action="append",
        dest="hosts",
        help="a name or address clients reach the broker at (repeat; default: this machine)",
    )
    revoke_parser = sub.add_parser(
        "revoke", help="revoke an identity (a lost or compromised edge) in the CA's crl.pem"
    )
    revoke_parser.add_argument("identity", help="SITE/EDGE, odart-server or odart-server-alerts")
    revoke_parser.add_argument("--out", type=Path, required=True, help="the certs directory")
    certs_parser.add_argument(
        "--renew", action="store_true", help="re-issue existing leaf certificates (the CA is kept)"
    )


def run(args: argparse.Namespace) -> int:
    """Do the chosen action."""
    from odart.mosquitto_conf import (
        ListenerTls,
        MosquittoConfig,
        render_acl,
        render_mosquitto_conf,
    )

    if args.action == "config":
        config = MosquittoConfig(
            port=args.port,
            data_dir=None,
            bind=args.bind,
            tls=ListenerTls(args.cafile, args.certfile, args.keyfile, args.crlfile),
            acl_file=args.acl_file,
        )
        sys.stdout.write(render_mosquitto_conf(config))
        return 0
    if args.action == "acl":
        sys.stdout.write(render_acl(args.server_user))
        return 0
    if args.action == "certs":
        return _certs(args)
    if args.action == "revoke":
        return _revoke(args)
    return _run(args)


def _certs(args: argparse.Namespace) -> int:
    from odart.certs import CertError, issue_site_certs

    edges = [edge.strip() for edge in args.edges.split(",") if edge.strip()]
    hostname = socket.gethostname()
    hosts = args.hosts or [hostname, f"{hostname}.local", "localhost", "127.0.0.1"]
    try:
        issued = issue_site_certs(
            args.out, args.site, edges, hosts, datetime.now(UTC), renew=args.renew
        )
    except (CertError, OSError) as error:
        print(f"odart broker certs: {error}", file=sys.stderr)
        return 2
    for item in issued:
        verb = "made" if item.created else "kept"
        print(f"{verb:4}  {item.name:24}  {item.cert}  {item.key}")
    print(f"broker certificate names: {', '.join(hosts)}")
    print("next: docs/mqtt-security.md (install the files; keep ca.key offline)")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from odart.certs import CertError, revoke

    try:
        crl = revoke(args.out, args.identity, datetime.now(UTC))
    except (CertError, OSError) as error:
        print(f"odart broker revoke: {error}", file=sys.stderr)
        return 2
    print(f"revoked {args.identity}: install {crl} as the broker's crlfile and restart it")
    return 0


def _run(args: argparse.Namespace) -> int:
    from odart.broker import BrokerError, MosquittoBroker

    # Blocked before the start, so a Ctrl-C or SIGTERM during it still stops the broker.
    stop = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    try:
        broker = MosquittoBroker(args.port, data_dir=args.data_dir).start()
    except BrokerError as error:
        print(f"odart broker: {error}", file=sys.stderr)
        return 2
    print(
        f"mosquitto on {broker.host}:{broker.port} (loopback, no TLS: demo and tests only; "
        f"production: odart broker config); data in {broker.data_dir}",
        file=sys.stderr,
    )
    try:
        signal.sigwait(stop)
    finally:
        broker.cleanup()
    return 0
