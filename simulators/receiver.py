"""A local HTTP receiver standing in for a responder's phone: records every push it gets (shell).

apprise's ``json://`` (and ``ntfy://``) URLs point at it. Each request is kept with the time it
arrived and the alert id found in its link, so tests and the demo can measure delivery.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final

_ALERT_LINK: Final = re.compile(r"/alerts/([0-9A-HJKMNP-TV-Z]{26})")
PUSH_ID_HEADER: Final = "X-ODART-Push"
"""The server's stable key for a push (a resend carries the same one)."""
MAX_BODY_BYTES: Final = 64 * 1024
"""A push is a few hundred bytes; anything larger is refused (413)."""


@dataclass(frozen=True, slots=True)
class ReceivedPush:
    """One request the receiver got."""

    received_at: datetime
    path: str
    headers: dict[str, str]
    payload: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    @property
    def push_id(self) -> str | None:
        """The server's stable key for this push, if it sent one."""
        return next(
            (v for k, v in self.headers.items() if k.lower() == PUSH_ID_HEADER.lower()), None
        )

    @property
    def alert_id(self) -> str | None:
        """The alert the push links to, if any."""
        match = _ALERT_LINK.search(self.text)
        return match.group(1) if match else None


class NotificationReceiver:
    """A threaded HTTP server on loopback that answers 200 and records each POST.

    Args:
        port: 0 for any free port.
        fail_paths: paths answered with 500, to exercise channel fallback.
        hold_s: per path, how long to hold a request (recorded at once) before answering: a
            push in flight when its sender is killed.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        fail_paths: frozenset[str] = frozenset(),
        hold_s: dict[str, float] | None = None,
    ) -> None:
        self.pushes: list[ReceivedPush] = []
        self.fail_paths = set(fail_paths)
        """Paths answered with 500; tests may change it while running (a phone comes back)."""
        self.hold_s = dict(hold_s or {})
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self.send_error(413)
                    return
                raw = self.rfile.read(length)
                text = raw.decode(errors="replace")
                try:
                    payload = json.loads(text) if text else {}
                except json.JSONDecodeError:
                    payload = {}
                if not isinstance(payload, dict):
                    payload = {}
                if self.path in receiver.fail_paths:
                    self.send_error(500)
                    return
                push = ReceivedPush(
                    datetime.now(UTC), self.path, dict(self.headers.items()), payload, text
                )
                with receiver._lock:
                    receiver.pushes.append(push)
                    receiver._lock.notify_all()
                hold = receiver.hold_s.get(self.path, 0.0)
                if hold > 0:
                    time.sleep(hold)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, format: str, *args: object) -> None:
                return  # quiet: the recorded pushes are the log

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="notification-receiver"
        )

    def url(self, path: str = "/responder", scheme: str = "json") -> str:
        """An apprise URL that delivers to this receiver at ``path``."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def start(self) -> NotificationReceiver:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def shown(self) -> list[ReceivedPush]:
        """What a phone shows: a push whose key arrived before is shown once."""
        seen: set[tuple[str, str]] = set()
        shown = []
        with self._lock:
            for push in self.pushes:
                key = (push.path, push.push_id or f"unkeyed-{id(push)}")
                if key not in seen:
                    seen.add(key)
                    shown.append(push)
        return shown

    def wait_for(self, count: int, timeout_s: float) -> list[ReceivedPush]:
        """Block until at least ``count`` pushes arrived or ``timeout_s`` passed; return them."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while len(self.pushes) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            return list(self.pushes)

    def __enter__(self) -> NotificationReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
