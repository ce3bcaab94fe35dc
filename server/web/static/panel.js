// ODART staff panel, shared by every page: API calls with the CSRF token, the live event stream,
// sound, and small DOM helpers. Page scripts (board.js, alert.js) register with Panel.onEvent.
"use strict";

const Panel = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const linkState = document.getElementById("link-state");
  const listeners = [];
  let audio = null;

  function el(tag, attrs = {}, text = "") {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value === true ? "" : value);
    }
    if (text !== "" && text !== null && text !== undefined) node.textContent = text;
    return node;
  }

  function clock(iso) {
    return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "—";
  }

  function ago(iso) {
    if (!iso) return "";
    const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  }

  function toLogin() {
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
  }

  // Every call sends the CSRF token; a 401 means the session ended: go and log in again.
  async function api(path, options = {}) {
    const headers = { "X-CSRF-Token": csrf, Accept: "application/json", ...(options.headers || {}) };
    let body = options.body;
    if (body !== undefined && typeof body !== "string") { body = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
    const response = await fetch(path, { ...options, headers, body, credentials: "same-origin" });
    if (response.status === 401) { toLogin(); throw new Error("logged out"); }
    return response;
  }

  // Browsers allow sound only after a tap: the first tap anywhere unlocks it.
  function unlockSound() {
    if (audio) return;
    try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (err) { audio = null; }
    const button = document.getElementById("sound");
    if (button && audio) { button.textContent = "Sound on"; button.classList.add("on"); button.classList.remove("attention"); }
  }

  function beep(times = 3) {
    if (!audio) return false;
    for (let i = 0; i < times; i += 1) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      const at = audio.currentTime + i * 0.35;
      osc.start(at);
      osc.stop(at + 0.25);
    }
    return true;
  }

  function setLink(text, cls) {
    if (!linkState) return;
    linkState.textContent = text;
    linkState.className = `pill ${cls}`;
  }

  function listen() {
    const source = new EventSource("/api/stream");
    source.onopen = () => { setLink("live", "pill-ok"); for (const fn of listeners) fn({ type: "reconnected" }); };
    source.onmessage = (message) => {
      let event = {};
      try { event = JSON.parse(message.data); } catch (err) { return; }
      for (const fn of listeners) fn(event);
    };
    source.onerror = async () => {
      setLink("reconnecting…", "pill-bad");
      try { await api("/api/me"); } catch (err) { source.close(); }
    };
  }

  function onEvent(fn) { listeners.push(fn); }

  document.addEventListener("click", unlockSound, { once: false });
  document.addEventListener("keydown", unlockSound, { once: true });
  if (document.querySelector('meta[name="csrf-token"]')?.content) listen();

  return { api, el, clock, ago, beep, onEvent, toLogin };
})();
