"""JSON webhooks sent directly with httpx, the same request apprise's ``json://`` makes (shell).

apprise builds a fresh plugin and a ``requests`` call in a worker thread for every push, and its
first push after start pays for the thread pool and the imports (issue 15: 200-270 ms against a
median of 8-9 ms). A plain ``json://`` / ``jsons://`` URL (no user or password, no options but
the ``+Header`` ones ODART adds) is sent here instead, with the TLS context built at start-up, so
the first push costs what the hundredth does. Any other URL goes to apprise unchanged.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import ssl
import urllib.parse
from typing import Final

import httpx

from server.domain.alerts import Push

SCHEMES: Final = {"json": "http", "jsons": "https"}
"""apprise's generic JSON webhook and the scheme it posts with."""

PAYLOAD_VERSION: Final = "1.0"
"""apprise's ``json://`` payload version: receivers written for apprise read the same body."""

USER_AGENT: Final = "Apprise"
"""apprise's own user agent, so a receiver cannot tell the two paths apart."""


def direct_url(url: str) -> tuple[str, dict[str, str]] | None:
    """(HTTP URL, extra headers) if ``url`` is a plain JSON webhook sent here, else None."""
    parts = urllib.parse.urlsplit(url)
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None or parts.username or parts.password or parts.fragment:
        return None
    headers: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if not key.startswith("+") or len(key) < 2:  # any other option: apprise knows it
            return None
        headers[key[1:]] = value
    return urllib.parse.urlunsplit((scheme, parts.netloc, parts.path or "/", "", "")), headers


def payload(push: Push) -> bytes:
    """The body apprise's ``json://`` posts (no attachments; ODART pages are failures)."""
    document = {
        "version": PAYLOAD_VERSION,
        "title": push.title,
        "message": push.body,
        "attachments": [],
        "type": "failure",
    }
    return json.dumps(document).encode()


WARM_MODULES: Final = ("httpcore", "anyio._backends._asyncio", "httpcore._backends.anyio")
"""What httpx imports at its first request (measured: 58 ms, then 5 ms a push)."""


def _warm_imports() -> None:
    """Import now what the first request would otherwise import on the event loop."""
    for name in WARM_MODULES:
        with contextlib.suppress(ImportError):  # another httpx or anyio version: not needed
            importlib.import_module(name)
    "odart.invalid".encode("idna")  # loads the idna codec and stringprep


class JsonWebhooks:
    """Posts pushes to plain JSON webhooks.

    Args:
        timeout_s: the whole request's limit.
    """

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._tls = ssl.create_default_context()  # the slow part, paid at start-up
        _warm_imports()

    async def send(self, url: str, headers: dict[str, str], push: Push) -> tuple[bool, str]:
        """POST ``push``; (accepted, reason if not). Never raises for the network's sake."""
        try:
            async with httpx.AsyncClient(verify=self._tls, timeout=self._timeout_s) as client:
                answer = await client.post(
                    url,
                    content=payload(push),
                    headers={
                        "User-Agent": USER_AGENT,
                        "Content-Type": "application/json",
                        **headers,
                    },
                )
        except httpx.HTTPError as error:
            return False, type(error).__name__
        if 200 <= answer.status_code < 300:
            return True, ""
        return False, f"HTTP {answer.status_code}"
