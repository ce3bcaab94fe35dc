"""Ingest's routine batches: their size, how long each holds the loop, when to shed (shell).

Alerts never pass through here: they arrive on a connection of their own
(:mod:`server.ingest_link`, issue 15). Routine messages (device reports, edge status) are
written in batches (one commit for many, acks after it). When more routine messages wait than
ingest can clear within about a second, the newest are **shed**: not stored and not acked, so
the edge's outbox keeps them and sends them again; each is counted (``shed``, on
``/api/health`` and ``/metrics``) and logged.
"""

from __future__ import annotations

from typing import Final

BATCH_MAX: Final = 200
"""Routine messages taken from the queue at once. A commit with ``synchronous=FULL`` costs an
fsync (0.3-20 ms measured here); many messages share it."""

SLICE_S: Final = 0.005
"""Work on the event loop per transaction: the loop runs other tasks (an alert) between
slices, so its lag stays under the 10 ms target (issue 15)."""

SHED_ABOVE: Final = 5000
"""Routine messages allowed to wait by default (``[mqtt] routine_backlog_max``): about a second
of work (``odart bench load`` measured 5,800 stored and acked a second with shedding off; 2,000
was a second when ingest ran at 2,000/s, and it shed most of a 10,000-message burst it could
have stored). Above this, newly arrived ones are shed, so memory (about 2 KB each) and routine
latency stay bounded."""
