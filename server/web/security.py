"""Security headers on every response: CSP, nosniff, referrer, framing, caching (shell).

A pure ASGI middleware (it does not buffer, so the live event stream is untouched). ASVS 5.0
3.4.1 HSTS (behind TLS), 3.4.3 CSP, 3.4.4 nosniff, 3.4.5 Referrer-Policy, 3.4.6 frame-ancestors,
14.3.2 ``Cache-Control: no-store`` for anything that is not a static asset.
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Only our own files: no inline script or style, no third party, never framed."""

HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # Our own origin only: /act/<token> and alert ids never leak to another site, while our own
    # form posts keep a real Origin header (under no-referrer Chromium sends "Origin: null").
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors for old browsers
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

HSTS: Final = "max-age=31536000"
"""One year (ASVS 3.4.1), sent only when the public URL is https."""


class SecurityHeaders:
    """Adds :data:`HEADERS` (and HSTS behind TLS) to every HTTP response.

    Args:
        app: the wrapped ASGI app.
        https: whether the public URL is https.
    """

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self._app = app
        self._https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, adding headers to its response start."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if self._https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                if not static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self._app(scope, receive, send_with_headers)
