"""Notifier over apprise: a responder's URLs in order, falling back on failure (shell).

Plain JSON webhooks are posted directly (:mod:`server.notify.webhook`); the rest go through
apprise.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import urllib.parse
from typing import Final

import apprise

from server.config import ResponderConfig
from server.domain.alerts import Push
from server.notify.base import Delivery
from server.notify.webhook import JsonWebhooks, direct_url

_LOGGER = logging.getLogger(__name__)

SEND_TIMEOUT_S: Final = 15.0
"""Whole-call limit per channel, so a hung provider moves us on to the next channel quickly."""


NTFY: Final = frozenset({"ntfy", "ntfys"})
WEBHOOKS: Final = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})
"""apprise's generic webhooks: a ``+Name=value`` URL parameter becomes a request header."""

PUSH_ID_HEADER: Final = "X-ODART-Push"
"""The header that carries a push's stable key on webhooks, so a receiver can show it once."""


def push_tag(key: str) -> str:
    """The ntfy tag carrying a push's stable key (short: ntfy shows tags under the text)."""
    return "odart-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def for_channel(url: str, push: Push) -> str:
    """``url`` with what its channel can carry: ntfy buttons, click-through and a tag with the
    push's stable key; a header with the key on generic webhooks."""
    scheme = channel_of(url)
    params: dict[str, str] = {}
    if scheme in NTFY:
        if push.actions:
            # ntfy allows three buttons: "http" POSTs to our link, "view" opens it.
            params["actions"] = "; ".join(
                f"{'http' if a.post else 'view'}, {a.label}, {a.url}"
                + (", method=POST, clear=true" if a.post else "")
                for a in push.actions[:3]
            )
        if push.click_url:
            params["click"] = push.click_url
        if push.key:
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
            # apprise reads ``xtags`` before ``tags``: keep the responder's own tags too.
            own = query.get("xtags") or query.get("tags") or ""
            params["xtags"] = ",".join([t for t in own.split(",") if t] + [push_tag(push.key)])
    elif scheme in WEBHOOKS and push.key:
        params["+" + PUSH_ID_HEADER] = push.key
    if not params:
        return url
    joiner = "&" if "?" in url else "?"
    return url + joiner + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def channel_of(url: str) -> str:
    """The scheme of an apprise URL, which is all we log or store of it (the rest is secret)."""
    return url.split("://", 1)[0].lower() if "://" in url else "invalid"


class AppriseNotifier:
    """Sends through apprise; never logs a URL, since apprise URLs carry tokens."""

    def __init__(self) -> None:
        # apprise loads its plugins at the first URL it parses (about a second on a Pi): pay
        # that at start-up, not on the first page after a restart.
        apprise.Apprise().add("json://localhost")
        self._webhooks = JsonWebhooks(SEND_TIMEOUT_S)

    async def send(self, responder: ResponderConfig, push: Push) -> list[Delivery]:
        """Try each of the responder's URLs in order; stop at the first that accepts."""
        deliveries: list[Delivery] = []
        for url in responder.urls:
            channel = channel_of(url)
            direct = direct_url(for_channel(url, push))
            if direct is not None:  # a plain JSON webhook: posted here, as fast the first time
                ok, detail = await self._webhooks.send(*direct, push)
                deliveries.append(Delivery(responder.id, channel, ok=ok, detail=detail))
                if ok:
                    break
                _LOGGER.warning("delivery to %s via %s failed; trying next", responder.id, channel)
                continue
            sender = apprise.Apprise(asset=apprise.AppriseAsset(service_timeout=SEND_TIMEOUT_S))
            if not sender.add(for_channel(url, push)):
                deliveries.append(Delivery(responder.id, channel, ok=False, detail="invalid URL"))
                continue
            try:
                async with asyncio.timeout(SEND_TIMEOUT_S + 1):
                    result = await sender.async_notify(
                        body=push.body,
                        title=push.title,
                        notify_type=apprise.NotifyType.FAILURE,
                        body_format=apprise.NotifyFormat.TEXT,
                    )
            except TimeoutError:
                ok, detail = False, "timed out"
            else:
                ok = bool(result)
                detail = "" if ok else "channel refused or unreachable"
            deliveries.append(Delivery(responder.id, channel, ok=ok, detail=detail))
            if ok:
                break
            _LOGGER.warning("delivery to %s via %s failed; trying next", responder.id, channel)
        return deliveries
