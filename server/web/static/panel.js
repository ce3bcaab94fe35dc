// ODART staff panel: renders from the JSON API and re-renders on every server-sent event.
"use strict";

const linkState = document.getElementById("link-state");
const seen = new Set();
let firstLoad = true;

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

function beep() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const osc = ctx.createOscillator();
    osc.frequency.value = 880;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.25);
  } catch (err) { /* the browser may refuse sound before a user gesture */ }
}

async function renderBoard() {
  const body = document.getElementById("alerts");
  if (!body) return;
  const alerts = await (await fetch("/api/alerts")).json();
  body.replaceChildren();
  if (alerts.length === 0) {
    const row = el("tr");
    row.append(el("td", { colspan: "6", class: "empty" }, "No alerts."));
    body.append(row);
  }
  let fresh = false;
  for (const alert of alerts) {
    const row = el("tr", { "data-alert-id": alert.id, "data-kind": alert.kind });
    if (!seen.has(alert.id)) { seen.add(alert.id); if (!firstLoad) { row.classList.add("new"); fresh = true; } }
    row.append(el("td", {}, clock(alert.detected_at)));
    const room = el("td");
    room.append(el("a", { href: `/alerts/${alert.id}` }, alert.room || alert.device || "unknown"));
    row.append(room);
    row.append(el("td", {}, alert.label));
    const sev = el("td");
    sev.append(el("span", { class: `pill pill-${alert.severity}` }, alert.severity));
    row.append(sev);
    row.append(el("td", {}, alert.state.replace("_", " ")));
    const notified = el("td", { class: "notified" });
    const n = alert.notifications || { delivered: 0, failed: 0 };
    if (n.delivered) notified.append(el("span", { class: "pill pill-ok" }, `delivered ${n.delivered}`));
    if (n.failed) notified.append(el("span", { class: "pill pill-bad" }, `failed ${n.failed}`));
    if (!n.delivered && !n.failed) notified.append(el("span", { class: "pill pill-wait" }, "sending…"));
    row.append(notified);
    body.append(row);
  }
  if (fresh) beep();
  firstLoad = false;
  const edges = document.getElementById("edges");
  edges.replaceChildren();
  for (const edge of await (await fetch("/api/edges")).json()) {
    const item = el("li");
    item.append(el("span", { class: `pill ${edge.state === "online" ? "pill-ok" : "pill-bad"}` }, `${edge.site_id}/${edge.edge_id}: ${edge.state}`));
    edges.append(item);
  }
}

async function renderAlert() {
  const section = document.getElementById("alert");
  if (!section) return;
  const id = section.dataset.alertId;
  const response = await fetch(`/api/alerts/${encodeURIComponent(id)}`);
  if (!response.ok) { document.getElementById("alert-title").textContent = "Alert not found"; return; }
  const alert = await response.json();
  document.getElementById("alert-title").textContent = `${alert.label} · ${alert.room || "unknown room"}`;
  const facts = document.getElementById("alert-facts");
  facts.replaceChildren();
  const rows = [["Severity", alert.severity], ["State", alert.state.replace("_", " ")], ["Detected", clock(alert.detected_at)],
                ["Probable onset", clock(alert.onset_at)], ["Stored", clock(alert.stored_at)], ["Alert id", alert.id]];
  for (const [key, value] of rows) { facts.append(el("dt", {}, key)); facts.append(el("dd", {}, value)); }
  const timeline = document.getElementById("timeline");
  timeline.replaceChildren();
  for (const entry of alert.timeline) {
    const item = el("li", { class: entry.event.endsWith("failed") ? "failed" : "" });
    item.append(el("time", {}, clock(entry.at)));
    item.append(document.createTextNode(`${entry.event.replaceAll("_", " ")} ${entry.detail}`));
    timeline.append(item);
  }
}

function render() { return Promise.all([renderBoard(), renderAlert()]); }

function listen() {
  const source = new EventSource("/api/stream");
  source.onopen = () => { linkState.textContent = "live"; linkState.className = "pill pill-ok"; render(); };
  source.onmessage = () => render();
  source.onerror = () => { linkState.textContent = "reconnecting…"; linkState.className = "pill pill-bad"; };
}

render();
listen();
