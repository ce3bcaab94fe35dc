"""``odart broker``: run Mosquitto with the project's config, or print it for production."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

HELP = "run Mosquitto with the generated config, or print the production config and ACL"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("run", help="run a loopback broker in the foreground (demo, tests)")
    run_parser.add_argument("--port", type=int, default=1883)
    run_parser.add_argument("--data-dir", type=Path, help="persistence directory (default: temp)")
    config_parser = sub.add_parser("config", help="print a production mosquitto.conf")
    config_parser.add_argument("--port", type=int, default=1883)
    config_parser.add_argument("--bind", default="0.0.0.0")
    config_parser.add_argument("--data-dir", type=Path, default=Path("/var/lib/mosquitto"))
    config_parser.add_argument(
        "--password-file", type=Path, default=Path("/etc/mosquitto/odart.passwd")
    )
    config_parser.add_argument("--acl-file", type=Path, default=Path("/etc/mosquitto/odart.acl"))
    sub.add_parser("acl", help="print the per-edge topic ACL")


def run(args: argparse.Namespace) -> int:
    """Do the chosen action."""
    from odart.broker import (
        BrokerError,
        MosquittoBroker,
        MosquittoConfig,
        render_acl,
        render_mosquitto_conf,
    )

    if args.action == "config":
        config = MosquittoConfig(
            port=args.port,
            data_dir=args.data_dir,
            bind=args.bind,
            allow_anonymous=False,
            password_file=args.password_file,
            acl_file=args.acl_file,
        )
        sys.stdout.write(render_mosquitto_conf(config))
        return 0
    if args.action == "acl":
        sys.stdout.write(render_acl())
        return 0
    try:
        broker = MosquittoBroker(args.port, data_dir=args.data_dir).start()
    except BrokerError as error:
        print(f"odart broker: {error}", file=sys.stderr)
        return 2
    print(f"mosquitto on {broker.host}:{broker.port}; data in {broker.data_dir}", file=sys.stderr)
    stop = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    try:
        signal.sigwait(stop)
    finally:
        broker.cleanup()
    return 0
