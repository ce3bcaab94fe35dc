"""``odart server``: run the API, the staff panel and MQTT ingest from a settings file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TypedDict

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
    from server.secret_file import read_key_file

    try:
        settings = load_settings(args.config)
        if settings.secret_key_file is not None:
            read_key_file(settings.secret_key_file)
    except ConfigError as error:
        print(f"odart server: {error}", file=sys.stderr)
        return 2
    host = args.host or settings.http.host
    port = args.port if args.port is not None else settings.http.port
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        **proxy_options(settings.http.trusted_proxies),
    )
    return 0


class ProxyOptions(TypedDict, total=False):
    """The keyword arguments of :func:`uvicorn.run` that say whom to believe about the client."""

    proxy_headers: bool
    forwarded_allow_ips: str


def proxy_options(trusted: list[str]) -> ProxyOptions:
    """Uvicorn's proxy settings: believe ``X-Forwarded-*`` only from the configured proxies.

    Uvicorn believes them from 127.0.0.1 unless told otherwise, which would let anything on the
    server itself choose the address that login throttling and the audit log see.
    """
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(trusted)}
