"""``odart bench load``: alert latency, ingest rate, loop lag and RSS of the server under load.

Starts Mosquitto, a real ``odart server`` (its responders are a local HTTP receiver) and
simulated edges (:mod:`bench.load_rig`), then runs load levels: idle, 1,000 and 5,000 wearables
at their normal rate, then 5,000 at multiples of it until the server saturates (acks fall
below 90 % of what is offered). In each level the edges send routine ``device`` reports and a
critical alert every :data:`ALERT_EVERY_S`; an alert's latency runs from its publish on the edge
to its push arriving at the receiver. Before the levels, the same run measures the server's
device-message ingest (stored and acked per second) against a bare paho publisher->subscriber
with the same payloads. Prints a table (and the targets of issue 15) and writes a PNG.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.load_rig import Edges, Server, bare_rate, rig, server_rate
from simulators.receiver import NotificationReceiver

NORMAL_PER_WEARABLE_HZ: Final = 1 / 60
"""A wearable's normal routine traffic: one device report a minute. Edges report on change
(link state, battery, signal), so this is a generous ceiling for a steady hostel."""

ALERT_EVERY_S: Final = 0.25
"""Four alerts a second: enough samples for a p99 in a 30 s level, far above any real site."""

SATURATED_BELOW: Final = 0.9
"""A level whose acks fall under this share of the offered messages is saturated."""

MULTIPLES: Final = (2, 5, 10, 30, 60, 100, 150, 200, 300)
"""Multiples of the normal rate tried with 5,000 wearables, until one saturates."""

TICK_S: Final = 0.005
"""The simulated edges publish what is due every 5 ms."""

TARGET_P99_MS: Final = 50.0
TARGET_MAX_MS: Final = 150.0
TARGET_SATURATED_MS: Final = 1000.0
TARGET_RATIO: Final = 0.5


@dataclass
class Level:
    """One load level's figures."""

    name: str
    wearables: int
    multiple: float
    offered_hz: float = 0.0
    acked_hz: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    missing: int = 0
    unacked: int = 0
    lag_ms: float = 0.0
    rss_mb: float = 0.0
    shed: int = 0

    @property
    def saturated(self) -> bool:
        """Acks fell below :data:`SATURATED_BELOW` of the offered rate."""
        return self.offered_hz > 0 and self.acked_hz < SATURATED_BELOW * self.offered_hz

    def pct(self, q: float) -> float:
        """Latency percentile ``q`` (0-100), ms; NaN with no samples."""
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[min(int(q / 100 * len(data)), len(data) - 1)]


LAG_WINDOW_S: Final = 10.5
"""The server's ``loop_lag_ms.recent`` covers 10 s (``server.loop_lag.RECENT_WINDOW_S``)."""


def _lag_ms(server: Server) -> float:
    return float(server.health().get("loop_lag_ms", {}).get("recent", 0.0))


def _shed(server: Server) -> int:
    counts = server.health().get("ingest", {})
    return int(sum(v for k, v in counts.items() if k == "shed"))


def run_level(
    level: Level,
    edges: Edges,
    receiver: NotificationReceiver,
    server: Server,
    duration_s: float,
    grace_s: float,
) -> Level:
    """Offer the level's traffic for ``duration_s`` and collect its figures."""
    rate = level.wearables * level.multiple * NORMAL_PER_WEARABLE_HZ
    level.offered_hz = rate
    shed_before = _shed(server)
    lags: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(1.0):
            lags.append(_lag_ms(server))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    routine: list[str] = []
    alerts: list[str] = []
    started = time.monotonic()
    next_alert = started
    wearable = 0
    while (now := time.monotonic()) < started + duration_s:
        due = int(rate * (now - started)) - len(routine)
        for _ in range(due):
            routine.append(edges.publish_device(wearable % max(level.wearables, 1)))
            wearable += 1
        if now >= next_alert:
            alerts.append(edges.publish_alert(len(alerts) % 1000))
            next_alert += ALERT_EVERY_S
        time.sleep(TICK_S)
    ended = time.monotonic()
    receiver.wait_for(0, 0)
    deadline = ended + grace_s
    while time.monotonic() < deadline and len(_first_pushes(receiver, alerts)) < len(alerts):
        time.sleep(0.05)
    stop.set()
    poller.join()
    with edges._lock:
        in_time = sum(1 for i in routine if edges.acked.get(i, float("inf")) <= ended + 1.0)
        level.unacked = sum(1 for i in routine if i not in edges.acked)
    level.acked_hz = in_time / duration_s
    firsts = _first_pushes(receiver, alerts)
    level.latencies_ms = [(firsts[a] - edges.alerts_sent[a]) * 1000 for a in alerts if a in firsts]
    level.missing = len(alerts) - len(level.latencies_ms)
    level.lag_ms = max([*lags, _lag_ms(server)])
    level.rss_mb = server.rss_mb()
    level.shed = _shed(server) - shed_before
    return level


def _first_pushes(receiver: NotificationReceiver, alerts: list[str]) -> dict[str, float]:
    wanted = set(alerts)
    firsts: dict[str, float] = {}
    for push in list(receiver.pushes):
        alert = push.alert_id
        if alert in wanted and alert not in firsts:
            firsts[alert] = push.received_at.timestamp()
    return firsts


def _drain(edges: Edges, wait_s: float) -> None:
    """Let the server catch up on the last level's backlog before the next one."""
    deadline = time.monotonic() + wait_s
    last = -1
    while time.monotonic() < deadline:
        with edges._lock:
            now = len(edges.acked)
        if now == last:
            return
        last = now
        time.sleep(0.5)


def _plan(quick: bool) -> list[Level]:
    levels = [Level("idle", 0, 0), Level("1k", 1000, 1), Level("5k", 5000, 1)]
    multiples = (30,) if quick else MULTIPLES
    levels += [Level(f"5k x{m}", 5000, m) for m in multiples]
    return levels


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="odart bench load", description=__doc__)
    p.add_argument("--quick", action="store_true", help="short levels, 1,000 residents (< 60 s)")
    p.add_argument("--seconds", type=float, help="seconds per level (30; quick 4)")
    p.add_argument("--residents", type=int, help="consented residents (5,000; quick 1,000)")
    p.add_argument("--ratio-messages", type=int, help="messages for the ingest ratio (10,000)")
    p.add_argument(
        "--png", type=Path, default=Path("artifacts/bench/load.png"), help="where the plot goes"
    )
    return p


def run(argv: list[str]) -> int:
    """Entry point for ``odart bench load``."""
    args = _parser().parse_args(argv)
    seconds = args.seconds or (4.0 if args.quick else 30.0)
    residents = args.residents if args.residents is not None else (1000 if args.quick else 5000)
    messages = args.ratio_messages or (1000 if args.quick else 10000)
    grace_s = 3.0 if args.quick else 10.0

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        say(f"preparing {residents:,} consented residents and starting the server...")
        with rig(Path(tmp), residents) as (broker, receiver, server):
            edges = Edges(broker, residents)
            try:
                say(f"ingest ratio: {messages:,} device messages, bare broker then server...")
                bare = bare_rate(broker, edges, messages)
                shed_before = _shed(server)
                served = server_rate(edges, messages)
                flood_shed = _shed(server) - shed_before
                _drain(edges, 10.0)
                flood_lag_ms = _lag_ms(server)
                # The server's "recent" lag covers the last 10 s: let the flood's pass out of it,
                # so each level's lag is its own.
                time.sleep(LAG_WINDOW_S)
                done: list[Level] = []
                for level in _plan(args.quick):
                    say(f"level {level.name}: {seconds:.0f} s...")
                    done.append(run_level(level, edges, receiver, server, seconds, grace_s))
                    _drain(edges, 5.0 if args.quick else 30.0)
                    if done[-1].saturated:
                        break
                first = _first_alert_ms(done)
            finally:
                edges.close()
    _report(done, bare, served, first, flood_lag_ms, flood_shed)
    _plot(done, args.png)
    print(f"\nPNG: {args.png.resolve()}")
    return 0


def _first_alert_ms(done: list[Level]) -> float:
    return done[0].latencies_ms[0] if done and done[0].latencies_ms else float("nan")


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _report(
    done: list[Level],
    bare: float,
    served: float,
    first_ms: float,
    flood_lag_ms: float,
    flood_shed: int,
) -> None:
    print()
    print(
        f"{'level':<9}{'wearables':>10}{'x rate':>7}{'offered/s':>10}{'acked/s':>9}"
        f"{'alerts':>7}{'miss':>5}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"
        f"{'lag ms':>8}{'RSS MB':>8}{'shed':>7}"
    )
    for lv in done:
        print(
            f"{lv.name:<9}{lv.wearables:>10,}{lv.multiple:>7g}{lv.offered_hz:>10,.0f}"
            f"{lv.acked_hz:>9,.0f}{len(lv.latencies_ms) + lv.missing:>7}{lv.missing:>5}"
            f"{lv.pct(50):>8.1f}{lv.pct(99):>8.1f}{lv.pct(100):>8.1f}"
            f"{lv.lag_ms:>8.1f}{lv.rss_mb:>8.0f}{lv.shed:>7}"
            + ("  saturated" if lv.saturated else "")
        )
    ratio = served / bare if bare else 0.0
    print(
        f"\ningest, device messages: server {served:,.0f}/s stored+acked, bare broker "
        f"{bare:,.0f}/s; ratio {ratio:.3f}; loop lag during it {flood_lag_ms:.1f} ms; "
        f"shed {flood_shed:,} (not acked, not counted: an edge would resend them)"
    )
    all_ms = [ms for lv in done for ms in lv.latencies_ms]
    median = statistics.median(all_ms) if all_ms else float("nan")
    print(f"first alert after start: {first_ms:.1f} ms (median of all alerts {median:.1f} ms)")
    normal = [lv for lv in done if not lv.saturated and lv.wearables <= 5000 and lv.multiple <= 30]
    worst_p99 = max((lv.pct(99) for lv in normal), default=float("nan"))
    worst_max = max((lv.pct(100) for lv in normal), default=float("nan"))
    saturated = [lv for lv in done if lv.saturated]
    # The target covers every level up to 5k x30: one that saturated there was not met.
    saturated_early = [lv for lv in saturated if lv.wearables <= 5000 and lv.multiple <= 30]
    print("\ntargets (issue 15):")
    print(
        f"  p99 <= {TARGET_P99_MS:.0f} ms and max <= {TARGET_MAX_MS:.0f} ms up to 5k x30: "
        f"p99 {worst_p99:.1f}, max {worst_max:.1f}"
        + (f" (saturated at {saturated_early[0].name})" if saturated_early else "")
        + "  "
        + _verdict(
            not saturated_early and worst_p99 <= TARGET_P99_MS and worst_max <= TARGET_MAX_MS
        )
    )
    if saturated:
        sat = saturated[-1]
        print(
            f"  < {TARGET_SATURATED_MS:.0f} ms when saturated ({sat.name}): max "
            f"{sat.pct(100):.1f}, missing {sat.missing}  "
            f"{_verdict(sat.pct(100) < TARGET_SATURATED_MS and sat.missing == 0)}"
        )
    else:
        print("  < 1 s when saturated: the server did not saturate at the rates tried")
    print(f"  first alert <= 2x median: {_verdict(first_ms <= 2 * median)}")
    print(f"  ingest >= {TARGET_RATIO} x bare broker: {_verdict(ratio >= TARGET_RATIO)}")
    worst_lag = max((lv.lag_ms for lv in done), default=0.0)
    print(
        f"  worst loop lag < 10 ms in the levels: {worst_lag:.1f} ms  {_verdict(worst_lag < 10.0)}"
        f" (during the ingest flood: {flood_lag_ms:.1f} ms)"
    )


def _plot(done: list[Level], png: Path) -> None:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    shown = [lv for lv in done if lv.latencies_ms]  # a level whose alerts all went missing
    xs = [max(lv.offered_hz, 1.0) for lv in shown]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for q, label in ((50, "p50"), (99, "p99"), (100, "max")):
        ax.plot(xs, [max(lv.pct(q), 0.1) for lv in shown], marker="o", label=label)
    for x, lv in zip(xs, shown, strict=True):
        ax.annotate(
            lv.name, (x, lv.pct(100)), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    ax.axhline(TARGET_P99_MS, color="grey", linestyle="--", linewidth=0.8, label="p99 target")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("routine device messages offered per second (idle drawn at 1)")
    ax.set_ylabel("alert latency, edge publish -> push received (ms)")
    ax.set_title("odart bench load: alert latency against load")
    ax.legend()
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
