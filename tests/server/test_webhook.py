"""Plain JSON webhooks go out directly, as apprise would send them; others go to apprise."""

from __future__ import annotations

import asyncio

from server.domain.alerts import Push
from server.notify.webhook import JsonWebhooks, direct_url
from simulators.receiver import NotificationReceiver


def test_only_plain_json_webhooks_are_sent_directly() -> None:
    assert direct_url("json://127.0.0.1:8080/night?%2BX-ODART-Push=k1") == (
        "http://127.0.0.1:8080/night",
        {"X-ODART-Push": "k1"},
    )
    assert direct_url("jsons://example.org") == ("https://example.org/", {})
    assert direct_url("json://user:pass@example.org/x") is None  # apprise does the auth
    assert direct_url("json://example.org/x?method=PUT") is None  # an apprise option
    assert direct_url("ntfy://ntfy.sh/topic") is None


def test_a_direct_push_reaches_the_receiver_with_apprises_body_and_the_push_key() -> None:
    push = Push("ALERT Room 3", "apnoea, critical", key="k-1")
    with NotificationReceiver() as receiver:
        target = direct_url(receiver.url("/night-staff") + "?%2BX-ODART-Push=k-1")
        assert target is not None
        ok, _ = asyncio.run(JsonWebhooks(5.0).send(*target, push))
        refused = asyncio.run(JsonWebhooks(5.0).send("http://127.0.0.1:1/x", {}, push))
        got = receiver.wait_for(1, 5.0)
    assert ok
    assert refused == (False, "ConnectError")
    assert got[0].path == "/night-staff"
    assert got[0].payload == {
        "version": "1.0",
        "title": "ALERT Room 3",
        "message": "apnoea, critical",
        "attachments": [],
        "type": "failure",
    }
    assert got[0].push_id == "k-1"
