"""Virtual responders: phones that get pushes over HTTP and act on them after set delays (shell).

One loopback HTTP server stands in for every responder's phone; apprise's ``json://`` URL for
responder ``R`` ends in ``/R``. When a page (a push carrying ``Acknowledge: <url>`` and
``On my way: <url>`` lines) reaches a responder who answers, their steps are scheduled from the
moment it arrived, in simulated seconds (``delay / speed`` of wall time): acknowledge and "on my
way" by POSTing the push's signed links, as a thumb on the phone would; "on scene" and
"resolve" through the alert API, logged in as the responder (what they would do on the alert
page). Each responder acts once per alert, on its first page. Every push and every step is
recorded with its simulated time.
"""

from __future__ import annotations

import functools
import http.cookiejar
import json
import logging
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

__all__ = ["Behaviour", "Push", "ResponderStep", "VirtualResponders"]

_LOGGER = logging.getLogger(__name__)

_ALERT_LINK: Final = re.compile(r"/alerts/([0-9A-HJKMNP-TV-Z]{26})")
_ACK_LINK: Final = re.compile(r"^Acknowledge: (\S+)$", re.MULTILINE)
_EN_ROUTE_LINK: Final = re.compile(r"^On my way: (\S+)$", re.MULTILINE)
_CSRF_INPUT: Final = re.compile(r'name="csrf_token"\s+value="([^"]+)"')

MAX_BODY_BYTES: Final = 64 * 1024
"""A push is a few hundred bytes; anything larger is refused (413)."""

HTTP_TIMEOUT_S: Final = 10.0
"""A loopback request that takes longer than this means the server is stuck: give up."""


@dataclass(frozen=True, slots=True)
class Behaviour:
    """When a responder takes each step after their first page, in simulated seconds.

    ``None`` means never. ``password`` is their panel account's, for on-scene and resolve.
    """

    level: int = 0
    ack_after_s: float | None = None
    en_route_after_s: float | None = None
    on_scene_after_s: float | None = None
    resolve_after_s: float | None = None
    outcome: str = "occupant_ok"
    naloxone_doses: int | None = None
    password: str | None = None

    @property
    def answers(self) -> bool:
        """Whether the responder takes any step at all."""
        steps = (self.ack_after_s, self.en_route_after_s, self.on_scene_after_s)
        return any(s is not None for s in (*steps, self.resolve_after_s))


@dataclass(frozen=True, slots=True)
class Push:
    """One push a responder's phone got."""

    responder: str
    t_s: float
    title: str
    text: str
    links: Mapping[str, str] = field(default_factory=dict)

    @property
    def alert_id(self) -> str | None:
        """The alert the push links to, if any."""
        match = _ALERT_LINK.search(self.text)
        return match.group(1) if match else None

    @property
    def is_page(self) -> bool:
        """A page carries action links; a "someone is going" message does not."""
        return bool(self.links)


@dataclass(frozen=True, slots=True)
class ResponderStep:
    """A step a responder took and how the server answered."""

    responder: str
    alert_id: str
    action: str
    t_s: float
    status: int


class VirtualResponders:
    """A loopback HTTP server for every responder's phone, and their scheduled steps.

    Args:
        behaviours: each responder's behaviour, by responder id.
        base_url: the server's public URL (for the alert API).
        now_s: simulated seconds since the run began.
        speed: simulated seconds per wall-clock second.
    """

    def __init__(
        self,
        behaviours: Mapping[str, Behaviour],
        base_url: str,
        now_s: Callable[[], float],
        speed: float = 1.0,
    ) -> None:
        if not speed > 0:
            message = f"speed must be positive, got {speed!r}"
            raise ValueError(message)
        self.behaviours = dict(behaviours)
        self.base_url = base_url.rstrip("/")
        self.pushes: list[Push] = []
        self.steps: list[ResponderStep] = []
        self._now_s = now_s
        self._speed = speed
        self._lock = threading.Lock()
        self._handled: set[tuple[str, str]] = set()
        self._timers: list[threading.Timer] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="virtual-responders"
        )

    def url(self, responder_id: str) -> str:
        """The apprise URL that delivers ``responder_id``'s pushes here."""
        return f"json://127.0.0.1:{self.port}/{responder_id}"

    def start(self) -> VirtualResponders:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Cancel every pending step and stop serving."""
        with self._lock:
            for timer in self._timers:
                timer.cancel()
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which must be running
            self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        phones = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self.send_error(413)
                    return
                raw = self.rfile.read(length).decode(errors="replace")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')
                phones.received(self.path.strip("/"), raw)

            def log_message(self, format: str, *args: object) -> None:
                return  # quiet: the recorded pushes are the log

        return Handler

    def received(self, responder: str, raw: str) -> Push:
        """Record a push for ``responder`` (an apprise JSON body) and schedule their steps."""
        try:
            payload = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        text = str(payload.get("message", raw))
        links = {}
        for name, pattern in (("ack", _ACK_LINK), ("en_route", _EN_ROUTE_LINK)):
            match = pattern.search(text)
            if match:
                links[name] = match.group(1)
        push = Push(responder, self._now_s(), str(payload.get("title", "")), text, links)
        behaviour = self.behaviours.get(responder)
        with self._lock:
            self.pushes.append(push)
            alert_id = push.alert_id
            if behaviour is None or alert_id is None or not push.is_page:
                return push
            if (responder, alert_id) in self._handled:
                return push
            self._handled.add((responder, alert_id))
        self._schedule(push, alert_id, behaviour)
        return push

    def _schedule(self, push: Push, alert_id: str, behaviour: Behaviour) -> None:
        plan: list[tuple[float, str, Callable[[], int]]] = []
        for action, delay in (
            ("ack", behaviour.ack_after_s),
            ("en_route", behaviour.en_route_after_s),
        ):
            if delay is not None:
                plan.append((delay, action, functools.partial(self._post_link, push.links[action])))
        for action, delay in (
            ("on_scene", behaviour.on_scene_after_s),
            ("resolve", behaviour.resolve_after_s),
        ):
            if delay is not None:
                body = self._action_body(action, behaviour)
                call = functools.partial(self._post_api, push.responder, alert_id, body, behaviour)
                plan.append((delay, action, call))
        for delay, action, step in plan:
            timer = threading.Timer(
                delay / self._speed, self._take, (push.responder, alert_id, action, step)
            )
            timer.daemon = True
            with self._lock:
                self._timers.append(timer)
            timer.start()

    @staticmethod
    def _action_body(action: str, behaviour: Behaviour) -> dict[str, Any]:
        body: dict[str, Any] = {"action": action}
        if action == "resolve":
            body["outcome"] = behaviour.outcome
            if behaviour.naloxone_doses is not None:
                body["naloxone_doses"] = behaviour.naloxone_doses
            if behaviour.outcome == "other":
                body["text"] = "simulated responder"
        return body

    def _take(self, responder: str, alert_id: str, action: str, step: Callable[[], int]) -> None:
        try:
            status = step()
        except (OSError, ValueError) as error:  # a refused or broken request is a result too
            _LOGGER.warning("responder %s: %s on %s failed: %s", responder, action, alert_id, error)
            status = 0
        with self._lock:
            self.steps.append(ResponderStep(responder, alert_id, action, self._now_s(), status))

    @staticmethod
    def _post_link(url: str) -> int:
        request = urllib.request.Request(url, data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def _post_api(
        self, responder: str, alert_id: str, body: dict[str, Any], behaviour: Behaviour
    ) -> int:
        if behaviour.password is None:
            message = f"responder {responder} has no panel password"
            raise ValueError(message)
        opener = self._login(responder, behaviour.password)
        with opener.open(f"{self.base_url}/api/me", timeout=HTTP_TIMEOUT_S) as response:
            csrf = json.loads(response.read())["csrf"]
        request = urllib.request.Request(
            f"{self.base_url}/api/alerts/{alert_id}/actions",
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "X-CSRF-Token": csrf,
                "Origin": self.base_url,
            },
            method="POST",
        )
        try:
            with opener.open(request, timeout=HTTP_TIMEOUT_S) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def _login(self, username: str, password: str) -> urllib.request.OpenerDirector:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        with opener.open(f"{self.base_url}/login", timeout=HTTP_TIMEOUT_S) as response:
            page = response.read().decode()
        match = _CSRF_INPUT.search(page)
        if match is None:
            message = "the login form has no csrf_token field"
            raise ValueError(message)
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrf_token": match.group(1), "next": "/"}
        ).encode()
        request = urllib.request.Request(
            f"{self.base_url}/login", data=form, headers={"Origin": self.base_url}, method="POST"
        )
        with opener.open(request, timeout=HTTP_TIMEOUT_S):
            pass
        return opener
