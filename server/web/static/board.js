// The live board: sites, rooms and wearables at a glance, open alerts on top, recent alerts below.
"use strict";

(() => {
  const { api, el, clock, ago, beep, onEvent } = Panel;
  const known = new Set();
  let first = true;
  let pending = null;

  function tile(room) {
    const card = el("div", { class: `tile status-${room.status}`, "data-room": room.id, "data-status": room.status });
    card.append(el("div", { class: "tile-room" }, room.label));
    card.append(el("div", { class: "tile-status" }, room.status_label));
    for (const alert of room.alerts) {
      const link = el("a", { href: `/alerts/${alert.id}`, class: "tile-alert" }, `${alert.kind.replaceAll("_", " ")} · ${alert.state.replaceAll("_", " ")}`);
      card.append(link);
    }
    const devices = el("ul", { class: "tile-devices" });
    for (const device of room.devices) {
      const item = el("li", { class: `status-${device.status}`, "data-device": device.id, "data-status": device.status });
      item.append(el("span", {}, device.id));
      const flags = device.flags.filter((f) => f !== device.status).map((f) => f.replaceAll("_", " "));
      const battery = device.battery_pct === null ? "" : ` · ${Math.round(device.battery_pct)} %`;
      const checkin = device.checkin === null ? "" : device.checkin ? " · check-in" : " · no check-in";
      item.append(el("small", {}, ` ${device.label}${battery}${checkin}${flags.length ? " · " + flags.join(", ") : ""}`));
      item.dataset.checkin = device.checkin === null ? "unknown" : String(device.checkin);
      devices.append(item);
    }
    card.append(devices);
    return card;
  }

  function renderSites(sites) {
    const root = document.getElementById("sites");
    root.replaceChildren();
    if (!sites.length) root.append(el("p", { class: "empty" }, "No sites configured."));
    for (const site of sites) {
      const section = el("section", { class: "site", "data-site": site.id });
      const head = el("h2", {}, site.name);
      for (const edge of site.edges) head.append(el("span", { class: `pill ${edge.state === "online" ? "pill-ok" : "pill-bad"}` }, `hub ${edge.id}: ${edge.state}`));
      section.append(head);
      const grid = el("div", { class: "tiles" });
      for (const room of site.rooms) grid.append(tile(room));
      if (site.unassigned.length) grid.append(tile({ id: "", label: "Not in a room", status: site.unassigned_status, status_label: "unassigned wearables", alerts: [], devices: site.unassigned }));
      section.append(grid);
      root.append(section);
    }
  }

  function renderOpen(alerts) {
    const root = document.getElementById("open-alerts");
    root.replaceChildren();
    const open = alerts.filter((a) => ["checking_in", "triggered", "acknowledged", "en_route", "on_scene"].includes(a.state));
    open.sort((a, b) => (a.severity === "critical" ? 0 : 1) - (b.severity === "critical" ? 0 : 1) || a.detected_at.localeCompare(b.detected_at));
    if (!open.length) root.append(el("p", { class: "all-clear" }, "No open alerts."));
    for (const alert of open) {
      const card = el("a", { href: `/alerts/${alert.id}`, class: `open-alert sev-${alert.severity} state-${alert.state}`, "data-alert-id": alert.id });
      card.append(el("strong", {}, `${alert.room_label || alert.room || "unknown room"}`));
      card.append(el("span", {}, alert.label + (alert.kind === "test" ? " (TEST)" : "")));
      card.append(el("span", { class: "pill pill-wait" }, alert.state.replaceAll("_", " ")));
      card.append(el("small", {}, `${ago(alert.detected_at)}${alert.assignee ? " · " + alert.assignee + " responding" : ""}`));
      root.append(card);
    }
  }

  function renderRecent(alerts) {
    const body = document.getElementById("alerts");
    body.replaceChildren();
    if (!alerts.length) { const row = el("tr"); row.append(el("td", { colspan: "6", class: "empty" }, "No alerts.")); body.append(row); }
    let fresh = false;
    for (const alert of alerts) {
      const row = el("tr", { "data-alert-id": alert.id, "data-kind": alert.kind });
      if (!known.has(alert.id)) { known.add(alert.id); if (!first) { row.classList.add("new"); if (alert.severity !== "info") fresh = true; } }
      row.append(el("td", {}, clock(alert.detected_at)));
      const room = el("td"); room.append(el("a", { href: `/alerts/${alert.id}` }, alert.room_label || alert.room || alert.device || "unknown")); row.append(room);
      row.append(el("td", {}, alert.label));
      const sev = el("td"); sev.append(el("span", { class: `pill pill-${alert.severity}` }, alert.severity)); row.append(sev);
      row.append(el("td", {}, alert.state.replaceAll("_", " ")));
      const n = alert.notifications || { delivered: 0, failed: 0 };
      const notified = el("td", { class: "notified" });
      if (n.delivered) notified.append(el("span", { class: "pill pill-ok" }, `delivered ${n.delivered}`));
      if (n.failed) notified.append(el("span", { class: "pill pill-bad" }, `failed ${n.failed}`));
      if (!n.delivered && !n.failed) notified.append(el("span", { class: "pill pill-wait" }, alert.state === "noted" ? "noted" : "sending…"));
      row.append(notified);
      body.append(row);
    }
    if (fresh && !beep()) document.getElementById("sound")?.classList.add("attention");
    first = false;
  }

  async function render() {
    const [board, alerts] = await Promise.all([(await api("/api/board")).json(), (await api("/api/alerts?limit=50")).json()]);
    renderSites(board.sites);
    renderOpen(alerts);
    renderRecent(alerts);
  }

  // Coalesce bursts of events into one redraw.
  function soon() { if (!pending) pending = setTimeout(() => { pending = null; render(); }, 150); }

  onEvent(soon);
  render();
  // Redraw every 30 s so "x min ago" and device states stay fresh. This also keeps an open
  // board's session alive: a board that logged itself out on a quiet night would miss the next
  // alert. The 12 h absolute limit still ends it at shift change.
  setInterval(render, 30000);
})();
