"""``odart privacy report``: the record of processing, generated from the declared inventory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "print the record of processing (data, purpose, basis, retention, recipients, storage)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    sub = parser.add_subparsers(dest="action", required=True)
    report = sub.add_parser("report", help="the record of processing from the code's inventory")
    report.add_argument("--config", type=Path, help="server settings, for configured retention")
    report.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace) -> int:
    """Print the report."""
    from server.config import load_settings, settings_from_mapping
    from server.errors import ConfigError
    from server.privacy.inventory import EDGE_MEMORY, TABLES, TOPICS

    try:
        settings = load_settings(args.config) if args.config else settings_from_mapping({})
    except ConfigError as error:
        print(f"odart privacy: {error}", file=sys.stderr)
        return 2
    rows = []
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
    if args.json:
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
