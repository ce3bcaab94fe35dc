"""Which well-formed edge messages the server refuses, and whether it acks them (pure).

A message that passed :func:`firmware_bridge.wire.decode_message` is well formed and its site
and edge match its topic (which the broker's ACL binds to the sender's identity). It may still
ask for something its sender is not allowed:

- ``unknown_site``: the site is not in the server's settings. **Not acked**: the edge keeps the
  message in its outbox and resends it (at most once a minute) until the server is configured
  for the site, so a real alert from a site set up on the edge first is delayed, never lost.
- ``server_kind``: an alert of a kind only the server raises (``edge_offline``, ...). **Acked**,
  because resending can never succeed and the edge's outbox must drain; nothing is stored.
- ``not_owner``: an update to an alert that another edge (or the server) raised. **Acked**, for
  the same reason.

Each refusal is logged and counted by the ingest (``refused.<reason>`` on ``/api/health``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from firmware_bridge.wire import SERVER_KINDS, AlertBody, Envelope, UpdateBody


class Refusal(StrEnum):
    """Why a well-formed message is refused."""

    UNKNOWN_SITE = "unknown_site"
    SERVER_KIND = "server_kind"
    NOT_OWNER = "not_owner"


ACKED_REFUSALS: Final = frozenset({Refusal.SERVER_KIND, Refusal.NOT_OWNER})
"""Refusals that resending can never cure: acked so the edge stops resending (nothing stored)."""

REFUSAL_TEXTS: Final[dict[Refusal, str]] = {
    Refusal.UNKNOWN_SITE: "the site is not in the server's settings (not acked: the edge resends)",
    Refusal.SERVER_KIND: "only the server raises alerts of this kind (acked, not stored)",
    Refusal.NOT_OWNER: "the alert was raised by another edge or the server (acked, not applied)",
}
"""What the log says for each refusal: no payload values, only the rule that was broken."""


@dataclass(frozen=True, slots=True)
class Owner:
    """Who raised a stored alert: its site and edge, and ``origin`` (``edge``, ``server``...)."""

    site_id: str
    edge_id: str
    origin: str


def refusal(envelope: Envelope, sites: Collection[str], owner: Owner | None) -> Refusal | None:
    """Why the server refuses ``envelope`` from its edge, or None to accept it.

    Args:
        envelope: a decoded message whose site and edge match its topic.
        sites: the ids of the sites in the server's settings.
        owner: for an update, who raised the alert it names (None: no such alert is stored).
    """
    if envelope.site_id not in sites:
        return Refusal.UNKNOWN_SITE
    body = envelope.body
    if isinstance(body, AlertBody) and body.alert_kind in SERVER_KINDS:
        return Refusal.SERVER_KIND
    if isinstance(body, UpdateBody) and owner is not None:
        mine = Owner(envelope.site_id, envelope.edge_id, "edge")
        if owner != mine:
            return Refusal.NOT_OWNER
    return None
