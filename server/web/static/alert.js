// One alert, made for a phone: what happened, what the detector saw, every notification and tap,
// and large buttons to acknowledge, say on my way, on scene, and resolve with an outcome.
"use strict";

(() => {
  const { api, el, clock, ago, onEvent } = Panel;
  const section = document.getElementById("alert");
  const id = section.dataset.alertId;
  const OPEN = ["checking_in", "triggered", "acknowledged", "en_route", "on_scene", "noted"];
  // Which states each action may be taken from (server/domain/lifecycle.py ALLOWED_FROM).
  const ALLOWED = {
    ack: ["triggered"],
    en_route: ["triggered", "acknowledged"],
    on_scene: ["triggered", "acknowledged", "en_route"],
    cancel: ["checking_in"],
    resolve: OPEN,
  };
  const EVENT_WORDS = { ack: "acknowledged", en_route: "on the way", on_scene: "on scene", resolve: "resolved", cancel: "cancelled" };

  // "breath_rate_bpm" -> "breath rate (/min)": evidence keys carry their unit as a suffix.
  const UNITS = { _s: " (s)", _bpm: " (/min)", _pct: " (%)", _hz: " (Hz)", _m: " (m)" };
  function readable(key) {
    for (const [suffix, unit] of Object.entries(UNITS)) {
      if (key.endsWith(suffix)) return key.slice(0, -suffix.length).replaceAll("_", " ") + unit;
    }
    return key.replaceAll("_", " ");
  }

  function show(message, bad = false) {
    const box = document.getElementById("message");
    box.textContent = message;
    box.className = bad ? "message bad" : "message";
    box.hidden = !message;
  }

  function renderFacts(alert) {
    const title = document.getElementById("alert-title");
    const label = alert.label.charAt(0).toUpperCase() + alert.label.slice(1);
    title.textContent = `${label}${alert.kind === "test" ? " (TEST)" : ""}`;
    document.getElementById("alert-room").textContent = alert.room_label || alert.room || "unknown room";
    const banner = document.getElementById("alert-banner");
    banner.className = `banner sev-${alert.severity} state-${alert.state}`;
    document.getElementById("alert-state").textContent = alert.state.replaceAll("_", " ");
    const facts = document.getElementById("alert-facts");
    facts.replaceChildren();
    const rows = [
      ["Severity", alert.severity],
      ["Detected", `${clock(alert.detected_at)} (${ago(alert.detected_at)})`],
      ["Probable onset", clock(alert.onset_at)],
      ["Responding", alert.assignee || "nobody yet"],
      ["Escalation level", String(alert.level)],
      ["Site", alert.site],
    ];
    if (alert.participant) rows.push(["Resident", alert.participant]);
    if (alert.outcome) rows.push(["Outcome", alert.outcome.replaceAll("_", " ")]);
    for (const [key, value] of rows) { facts.append(el("dt", {}, key)); facts.append(el("dd", {}, value)); }
    const evidence = document.getElementById("evidence");
    evidence.replaceChildren();
    const entries = Object.entries(alert.evidence || {});
    if (!entries.length) evidence.append(el("dd", {}, "nothing recorded"));
    for (const [key, value] of entries) {
      evidence.append(el("dt", {}, readable(key)));
      evidence.append(el("dd", {}, typeof value === "number" ? String(Math.round(value * 10) / 10) : String(value)));
    }
  }

  function renderButtons(alert) {
    for (const button of document.querySelectorAll("[data-action]")) {
      const allowed = (ALLOWED[button.dataset.action] || []).includes(alert.state);
      button.hidden = !allowed;
      button.disabled = !allowed;
    }
    const closed = !OPEN.includes(alert.state);
    document.getElementById("closed-note").hidden = !closed;
    if (closed) document.getElementById("resolve-form").hidden = true;
  }

  function renderTimeline(alert) {
    const timeline = document.getElementById("timeline");
    timeline.replaceChildren();
    for (const entry of alert.timeline) {
      const cls = entry.event.endsWith("failed") || entry.event === "rejected" ? "failed" : entry.event.startsWith("notification") ? "notify" : "";
      const item = el("li", { class: cls, "data-event": entry.event });
      item.append(el("time", {}, clock(entry.at)));
      item.append(el("strong", {}, (EVENT_WORDS[entry.event] || entry.event.replaceAll("_", " ")) + " "));
      item.append(document.createTextNode(entry.detail));
      timeline.append(item);
    }
    const deliveries = document.getElementById("deliveries");
    deliveries.replaceChildren();
    for (const d of alert.deliveries) {
      const row = el("tr", { class: d.outcome === "failed" ? "failed" : "" });
      row.append(el("td", {}, clock(d.at)));
      row.append(el("td", {}, d.responder_id));
      row.append(el("td", {}, d.channel));
      const outcome = el("td"); outcome.append(el("span", { class: `pill ${d.outcome === "delivered" ? "pill-ok" : "pill-bad"}` }, d.outcome)); row.append(outcome);
      deliveries.append(row);
    }
    if (!alert.deliveries.length) { const row = el("tr"); row.append(el("td", { colspan: "4", class: "empty" }, "No notifications sent.")); deliveries.append(row); }
  }

  async function render() {
    const response = await api(`/api/alerts/${encodeURIComponent(id)}`);
    if (!response.ok) { document.getElementById("alert-title").textContent = "Alert not found"; return; }
    const alert = await response.json();
    renderFacts(alert);
    renderButtons(alert);
    renderTimeline(alert);
  }

  async function act(body) {
    show("Sending…");
    for (const b of document.querySelectorAll("button")) b.disabled = true;
    try {
      const response = await api(`/api/alerts/${encodeURIComponent(id)}/actions`, { method: "POST", body });
      const answer = await response.json();
      if (response.ok) show(`Recorded: ${EVENT_WORDS[body.action] || body.action}.`);
      else show(answer.message || (answer.detail && JSON.stringify(answer.detail)) || `refused (${response.status})`, true);
      if (response.ok && body.action === "resolve") document.getElementById("resolve-form").hidden = true;
    } finally {
      for (const b of document.querySelectorAll("button")) b.disabled = false;
      await render();
    }
  }

  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => {
      if (button.dataset.action === "resolve") {
        const form = document.getElementById("resolve-form");
        form.hidden = false;
        form.scrollIntoView({ behavior: "smooth", block: "start" });
        return;
      }
      act({ action: button.dataset.action });
    });
  }

  const form = document.getElementById("resolve-form");
  function outcomeChanged() {
    const chosen = form.querySelector('input[name="outcome"]:checked')?.value;
    document.getElementById("doses-row").hidden = chosen !== "naloxone_given";
    document.getElementById("text").required = chosen === "other";
  }
  form.addEventListener("change", outcomeChanged);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = form.querySelector('input[name="outcome"]:checked');
    if (!chosen) { show("Choose what happened.", true); return; }
    const body = { action: "resolve", outcome: chosen.value };
    if (chosen.value === "naloxone_given") body.naloxone_doses = Number(document.getElementById("doses").value);
    const text = document.getElementById("text").value.trim();
    if (text) body.text = text;
    act(body);
  });
  document.getElementById("resolve-cancel").addEventListener("click", () => { form.hidden = true; });
  outcomeChanged();

  onEvent((event) => { if (event.type === "reconnected" || event.id === id) render(); });
  render();
  setInterval(render, 30000);
})();
