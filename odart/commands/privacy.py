"""``odart privacy report|export|erase``: the record of processing, subject access and erasure."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from server.config import Settings

HELP = "the record of processing; export or erase everything held about a resident"

PUBLISH_TIMEOUT_S: Final = 10.0
"""Bound on telling the edges about an erasure; a running server republishes within seconds."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    sub = parser.add_subparsers(dest="action", required=True)
    report = sub.add_parser("report", help="the record of processing from the code's inventory")
    report.add_argument("--config", type=Path, help="server settings, for configured retention")
    report.add_argument("--json", action="store_true", help="print JSON instead of text")
    export = sub.add_parser("export", help="write everything held about a resident as JSON")
    erase = sub.add_parser("erase", help="remove a resident from every table and from the edges")
    for action in (export, erase):
        action.add_argument("resident", help="the resident's pseudonym, e.g. p-0003")
        action.add_argument("--config", type=Path, required=True, help="server settings (TOML)")
        action.add_argument("--by", default=None, help="who asks (audited); default: OS user")
    export.add_argument("--out", type=Path, help="write here instead of standard output")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def run(args: argparse.Namespace) -> int:
    """Run the chosen action."""
    from server.config import load_settings, settings_from_mapping
    from server.errors import ConfigError

    try:
        settings = load_settings(args.config) if args.config else settings_from_mapping({})
    except ConfigError as error:
        print(f"odart privacy: {error}", file=sys.stderr)
        return 2
    if args.action == "report":
        return _report(settings, as_json=args.json)
    if not settings.database.exists():
        print(f"odart privacy: no database at {settings.database}", file=sys.stderr)
        return 2
    return _export(settings, args) if args.action == "export" else _erase(settings, args)


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from server.audit import AuditLog
    from server.privacy.rights import export
    from server.store.db import Store

    store = Store(settings.database)
    try:
        now = datetime.now(UTC)
        # The audit row comes first: if it cannot be written, nothing is exported.
        AuditLog(store.db).record(_who(args), "admin", "export.resident", args.resident)
        document = export(store.db, args.resident, now)
    finally:
        store.close()
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def _erase(settings: Settings, args: argparse.Namespace) -> int:
    from server.audit import AuditLog
    from server.privacy.rights import erase
    from server.store.consents import Consents
    from server.store.db import Store

    if not args.yes and input(f"erase {args.resident} from every table? [y/N] ").lower() != "y":
        print("nothing erased", file=sys.stderr)
        return 1
    store = Store(settings.database)
    try:
        now = datetime.now(UTC)
        removed = erase(store.db, AuditLog(store.db), args.resident, _who(args), lambda: now)
        consents = Consents(store.db, lambda: now)
        sites = consents.sites()
        site = next((s for s in sites if args.resident in consents.site_snapshot(s)), None)
        targets = [] if site is None else [(site, e) for e in consents.edges_of(site)]
        snapshot = {} if site is None else consents.site_snapshot(site)
    finally:
        store.close()
    print(f"erased {args.resident}: " + ", ".join(f"{t} {n}" for t, n in removed.items()))
    if targets and settings.mqtt.tls is not None:
        # Connecting with the server's certificate would take the server's client id (its CN).
        print(
            "the broker uses TLS: the running server tells the edges within seconds, "
            "or on their next connection",
            file=sys.stderr,
        )
    elif targets:
        import aiomqtt

        try:
            asyncio.run(_tell_edges(settings, targets, snapshot))
            print(f"told {len(targets)} edge(s): {args.resident} erased")
        except (OSError, TimeoutError, aiomqtt.MqttError) as error:
            print(
                f"could not reach the broker ({error}); the running server tells the edges "
                "within seconds, or on their next connection",
                file=sys.stderr,
            )
    return 0


async def _tell_edges(
    settings: Settings, targets: list[tuple[str, str]], snapshot: dict[str, Any]
) -> None:
    import aiomqtt

    from firmware_bridge.wire import (
        CommandBody,
        Envelope,
        IdMinter,
        MessageKind,
        encode_envelope,
    )

    minter = IdMinter()
    mqtt = settings.mqtt
    async with (
        asyncio.timeout(PUBLISH_TIMEOUT_S),
        aiomqtt.Client(mqtt.host, mqtt.port, username=mqtt.username, password=mqtt.password) as c,
    ):
        for site, edge in targets:
            now = datetime.now(UTC)
            envelope = Envelope(
                minter.mint(int(now.timestamp() * 1000), os.urandom(10)),
                MessageKind.CMD,
                site,
                edge,
                now,
                CommandBody("consent", snapshot),
            )
            await c.publish(str(envelope.topic), encode_envelope(envelope), qos=1, retain=True)


def _who(args: argparse.Namespace) -> str:
    return str(args.by or getpass.getuser())


def _report(settings: Settings, *, as_json: bool) -> int:
    from server.privacy.inventory import EDGE_MEMORY, TABLES, TOPICS

    rows: list[dict[str, Any]] = []
    for item in (*TABLES, *TOPICS, EDGE_MEMORY):
        rows.append(
            {
                "data": item.name,
                "holds": item.holds,
                "personal": item.personal,
                "fields": list(item.columns),
                "purposes": [p.value for p in item.purposes],
                "lawful_basis": item.basis,
                "retention": {
                    "class": item.record_class.value,
                    "days": settings.retention_days[item.record_class.value],
                },
                "recipients": item.recipients,
                "stored": item.stored,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    print("ODART record of processing (generated from server/privacy/inventory.py)\n")
    for row in rows:
        flag = "personal" if row["personal"] else "not personal"
        print(f"{row['data']}  [{flag}]")
        print(f"  holds:      {row['holds']}")
        print(f"  fields:     {', '.join(row['fields'])}")
        print(f"  purposes:   {', '.join(row['purposes'])}")
        print(f"  basis:      {row['lawful_basis']}")
        print(f"  retention:  {row['retention']['class']}, {row['retention']['days']:g} days")
        print(f"  recipients: {row['recipients']}")
        print(f"  stored:     {row['stored']}\n")
    return 0
