"""Prometheus metrics for ``/metrics``: one registry per app, read from the live objects (shell).

Counts that already live somewhere (ingest's counters, rows in the database) are read at scrape
time by a collector, so nothing is counted twice. Push results and per-hop latencies are
recorded as they happen. A registry per app (never the global one) keeps test apps apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Final

import sqlite_utils
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from firmware_bridge.wire import EdgeState
from server.domain.alerts import Alert
from server.loop_lag import LoopLag
from server.store.pushes import PushState, QueuedPush

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

HOP_BUCKETS_S: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Latency buckets: from a LAN hop (tens of ms) to an edge that was offline for minutes."""


class _StoreCollector(Collector):
    """Gauges read from the database and counters read from ingest at each scrape."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db
        self.ingest_counts: Callable[[], Mapping[str, int]] = dict
        self.loop_lag: LoopLag | None = None

    def collect(self) -> Iterator[Metric]:
        states = GaugeMetricFamily("odart_alerts", "Stored alerts by state", labels=["state"])
        for state, n in self._db.execute("SELECT state, COUNT(*) FROM alerts GROUP BY state"):
            states.add_metric([str(state)], float(n))
        yield states
        queue = GaugeMetricFamily(
            "odart_send_queue", "Queued pushes by state (pending is the depth)", labels=["state"]
        )
        for state in PushState:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM pushes WHERE state = ?", [state.value]
            ).fetchone()
            queue.add_metric([state.value], float(n))
        yield queue
        (online,) = self._db.execute(
            "SELECT COUNT(*) FROM edges WHERE state != ?", [EdgeState.OFFLINE.value]
        ).fetchone()
        yield GaugeMetricFamily("odart_edges_online", "Edges online now", value=float(online))
        ingest = CounterMetricFamily(
            "odart_ingest_messages", "Ingest messages by outcome", labels=["outcome"]
        )
        for outcome, n in sorted(self.ingest_counts().items()):
            ingest.add_metric([outcome], float(n))
        yield ingest
        if self.loop_lag is not None:
            lag = GaugeMetricFamily(
                "odart_event_loop_lag_seconds",
                "Worst event-loop lag since start and in the last 10 s",
                labels=["window"],
            )
            lag.add_metric(["start"], self.loop_lag.worst_s)
            lag.add_metric(["recent"], self.loop_lag.recent_worst_s())
            yield lag


class Metrics:
    """The app's metrics.

    Args:
        db: the server database (alerts by state, queue depth, edges online).
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._store = _StoreCollector(db)
        self.registry.register(self._store)
        self._pushes = Counter(
            "odart_pushes",
            "Push results by purpose and result",
            ["purpose", "result"],
            registry=self.registry,
        )
        self._hops = Histogram(
            "odart_hop_latency_seconds",
            "Latency of each hop: edge (detected to published), transport (published to "
            "stored), stored (detected to stored), send (queued to delivered)",
            ["hop"],
            buckets=HOP_BUCKETS_S,
            registry=self.registry,
        )

    def read_ingest(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """Read ingest's counters (received, rejected, refused, ...) at each scrape."""
        self._store.ingest_counts = counts

    def read_loop_lag(self, loop_lag: LoopLag) -> None:
        """Show the event loop's worst lag at each scrape."""
        self._store.loop_lag = loop_lag

    def alert_stored(self, alert: Alert) -> None:
        """Time the hops of a newly stored alert: edge, transport, and detected to stored."""
        self.hop("stored", (alert.stored_at - alert.detected_at).total_seconds())
        if alert.published_at is not None:
            self.hop("edge", (alert.published_at - alert.detected_at).total_seconds())
            self.hop("transport", (alert.stored_at - alert.published_at).total_seconds())

    def push_result(self, queued: QueuedPush, state: PushState, done_at: datetime) -> None:
        """Count one finished push, and time it from queued to delivered."""
        self._pushes.labels(queued.purpose.value, state.value).inc()
        if state is PushState.SENT and queued.queued_at is not None:
            self.hop("send", (done_at - queued.queued_at).total_seconds())

    def hop(self, name: str, seconds: float) -> None:
        """Record one hop's latency (negative clock skew counts as zero)."""
        self._hops.labels(name).observe(max(seconds, 0.0))

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
