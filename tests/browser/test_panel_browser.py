"""The staff panel in Debian's Chromium: log in, an alert arrives live, handle it from a phone."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from firmware_bridge import wire
from server.auth.totp import code_at
from tests.browser.conftest import PHONE, SCREENSHOTS, Panel
from tests.mqtt_probe import MqttProbe
from tests.server.test_escalation import alert_envelope

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _shot(page: Any, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # the sticky bar stays at the top of a full shot
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_browser_login_live_alert_acknowledge_resolve_and_history(
    panel: Panel, browser_page: Any
) -> None:
    page = browser_page
    page.goto(panel.url + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", panel.username)
    page.fill("input[name=password]", panel.password)
    page.click("button[type=submit]")

    # An admin must set up an authenticator app before anything else: scan, type the code.
    page.wait_for_url("**/account/mfa")
    assert page.locator("img[alt^='QR code']").is_visible()
    _shot(page, "mfa-setup")
    secret = page.locator("code.secret").inner_text()
    page.fill("input[name=code]", code_at(secret, datetime.now(UTC)))
    page.click("form[action='/account/mfa'] button[type=submit]")
    page.wait_for_selector("text=No open alerts.")
    page.wait_for_selector("#link-state:text('live')")
    assert page.locator("[data-room=room-2]").get_attribute("data-status") == "low_battery"
    assert page.locator("[data-room=room-4]").get_attribute("data-status") == "not_consented"
    page.evaluate("window.__sameDocument = true")

    # Room 1's wearable cannot see its wearer's breathing: the tile says so until it can.
    with MqttProbe(panel.broker.host, panel.broker.port) as probe:
        steps = (
            (wire.AlertKind.NO_SIGNAL, wire.Severity.WARNING, 5400, {"reason": "noisy"}),
            (wire.AlertKind.RECOVERED, wire.Severity.INFO, 1800, {"cleared": "no_signal"}),
        )
        for n, (kind, severity, onset_ago_s, evidence) in enumerate(steps, start=101):
            note = alert_envelope(
                n,
                kind=kind,
                severity=severity,
                onset_ago_s=onset_ago_s,
                room="room-1",
                device="wearable-1",
                evidence={**evidence, "source": "wearable"},
            )
            probe.publish(str(note.topic), wire.encode_envelope(note))
            if kind is wire.AlertKind.NO_SIGNAL:
                page.wait_for_selector("[data-device=wearable-1][data-status=cannot_see_breathing]")
                assert (
                    "can't see breathing" in page.locator("[data-device=wearable-1]").inner_text()
                )
                _shot(page, "board-cannot-see-breathing")
    page.wait_for_selector("[data-device=wearable-1][data-status=ok]")
    page.goto(panel.url + "/residents/p-0001")
    row = page.wait_for_selector("#breathing-visibility tr[data-source=wearable]")
    assert "1 h 00 min" in row.inner_text()  # from 90 to 30 minutes ago
    assert page.locator("#visibility-advice").count() == 0  # 4 % of a day
    _shot(page, "resident-breathing-visibility")
    page.goto(panel.url + "/residents")
    listed = page.wait_for_selector("#residents tr[data-resident=p-0001] td.blind")
    assert listed.inner_text().strip() == "4.2 %"
    page.goto(panel.url + "/")
    page.wait_for_selector("#link-state:text('live')")
    page.evaluate("window.__sameDocument = true")

    # An edge publishes an apnoea for Room 3: it appears without a reload.
    plain = alert_envelope(11)
    assert isinstance(plain.body, wire.AlertBody)
    seen = {"apnoea_s": 21.4, "breath_rate_bpm": 0.0, "spo2_drop_pct": 6.5, "source": "radar"}
    envelope = dataclasses.replace(plain, body=dataclasses.replace(plain.body, evidence=seen))
    with MqttProbe(panel.broker.host, panel.broker.port) as probe:
        probe.publish(str(envelope.topic), wire.encode_envelope(envelope))
    card = page.locator(f".open-alert[data-alert-id='{envelope.msg_id}']")
    card.wait_for()
    assert page.evaluate("window.__sameDocument") is True
    assert "Room 3" in card.inner_text()
    page.wait_for_selector("[data-room=room-3][data-status=alert_critical]")
    _shot(page, "board")
    page.set_viewport_size(PHONE)
    _shot(page, "board-phone")

    # On a phone: open it, acknowledge, resolve with an outcome.
    card.click()
    page.wait_for_url(f"**/alerts/{envelope.msg_id}")
    ack = page.wait_for_selector("button[data-action=ack]:visible")
    page.wait_for_selector("#evidence dt")
    page.wait_for_selector("#timeline li[data-event=notification_delivered]")
    _shot(page, "alert-phone")
    box = ack.bounding_box()
    assert box is not None
    assert box["width"] >= 300
    assert box["height"] >= 48  # a thumb-sized target
    ack.click()
    page.wait_for_selector("#alert-state:text('acknowledged')")
    page.wait_for_selector("#timeline li[data-event=ack]")
    page.click("button[data-action=resolve]")
    page.check("input[value=naloxone_given]")
    page.fill("#doses", "2")
    page.fill("#text", "came round after the second dose")
    _shot(page, "alert-resolve-form-phone")
    page.click("#resolve-submit")
    page.wait_for_selector("#alert-state:text('resolved')")
    page.wait_for_selector("#closed-note:visible")
    assert page.locator("button[data-action=ack]").is_hidden()
    _shot(page, "alert-resolved-phone")

    # The history shows it with its outcome and response times.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(panel.url + "/history")
    row = page.wait_for_selector(f"#history tr[data-alert-id='{envelope.msg_id}']")
    assert "naloxone given" in row.inner_text()
    _shot(page, "history")
    page.goto(panel.url + "/reports")
    page.wait_for_selector("#by-outcome")
    _shot(page, "reports")
    # Read back through the API (the server's own thread owns the database connection).
    stored = page.request.get(f"{panel.url}/api/alerts/{envelope.msg_id}").json()
    assert (stored["state"], stored["outcome"], stored["assignee"]) == (
        "resolved",
        "naloxone_given",
        panel.username,
    )
    assert page.problems == []  # type: ignore[attr-defined]  # no CSP violation, no JS error
