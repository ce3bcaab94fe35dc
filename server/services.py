"""The server's running services as one typed object, built by the app's lifespan (shell, wiring).

Routes reach them through :func:`server.web.deps.services_of` rather than reading loose
``app.state`` attributes, so a missing or misspelt service is a type error, not a 500. What
``create_app`` itself is given (the settings, the clock) and the login throttle exist before the
lifespan runs: they are one :class:`AppContext`, reached through
:func:`server.web.deps.context_of`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from server.audit import AuditLog
from server.auth.ratelimit import LoginLimiter
from server.config import Settings
from server.device_lists import DeviceLists
from server.dispatch import Dispatcher
from server.drills import Drills
from server.escalation import Escalator
from server.health import Health
from server.ingest import Ingest
from server.live import LiveHub
from server.loop_lag import LoopLag
from server.metrics import Metrics
from server.privacy.gate import ConsentGate
from server.sender import Sender
from server.status import Condition, StoreCondition, loop_condition
from server.store.db import Store
from server.store.mfa import SecondFactors
from server.store.users import Users
from server.supervisor import Supervisor


@dataclass(frozen=True, slots=True)
class AppContext:
    """What an app has from ``create_app`` on, with or without its lifespan; one per app."""

    settings: Settings
    now: Callable[[], datetime]
    """The wall clock (a test's or a simulation's own clock when it passed one)."""
    login_limiter: LoginLimiter
    """Failed-login throttle; it lives as long as the app, across lifespan restarts."""


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the lifespan started; one per app."""

    settings: Settings
    store: Store
    hub: LiveHub
    audit: AuditLog
    users: Users
    dispatcher: Dispatcher
    sender: Sender
    escalator: Escalator
    health: Health
    ingest: Ingest
    drills: Drills
    consent_gate: ConsentGate
    device_lists: DeviceLists
    second_factors: SecondFactors
    supervisor: Supervisor
    store_condition: StoreCondition
    metrics: Metrics
    link_key: bytes
    loop_lag: LoopLag

    def conditions(self) -> dict[str, Condition]:
        """Each component's condition, for the health endpoints."""
        loops = self.supervisor.status
        return {
            "ingest": loop_condition(
                loops.get("ingest"), self.ingest.connected.is_set(), "not connected to the broker"
            ),
            "database": self.store_condition.condition(),
            "sender": loop_condition(
                loops.get("sender"),
                self.sender.running and not self.sender.last_error,
                self.sender.last_error or "not running",
            ),
            "timers": loop_condition(loops.get("timers"), True, ""),
        }
