"""``odart server``: run the API, the staff panel and MQTT ingest from a settings file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "run the server (API, staff panel, MQTT ingest, notifications)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("--config", type=Path, required=True, help="server settings (TOML)")
    parser.add_argument("--host", help="listen address (overrides http.host)")
    parser.add_argument("--port", type=int, help="listen port (overrides http.port)")


def run(args: argparse.Namespace) -> int:
    """Load settings, then serve until interrupted."""
    import uvicorn

    from server.app import create_app
    from server.config import load_settings
    from server.errors import ConfigError

    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"odart server: {error}", file=sys.stderr)
        return 2
    host = args.host or settings.http.host
    port = args.port if args.port is not None else settings.http.port
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    return 0
