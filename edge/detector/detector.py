"""The streaming detector: routes sample blocks to channel streams, decides each second once
every live stream has covered it, and applies the rules (pure).

One :class:`Detector` watches one person: their wearable and their room's radar and door. Time
is the samples' own clock; nothing here reads the wall clock.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from edge.detector.errors import InputError
from edge.detector.events import DetectionEvent, Source
from edge.detector.fusion import Fusion, StreamKey, TickView
from edge.detector.rules import Rules
from edge.detector.settings import DetectorSettings
from edge.detector.streams import AccStream, RespStream, ScalarStream, Second, Stream
from firmware_bridge.samples import Channel, SampleBlock

_ACC = {Channel.ACC_X: 0, Channel.ACC_Y: 1, Channel.ACC_Z: 2}
_GROUP = {
    Channel.RESP: "resp",
    Channel.ACC_X: "acc",
    Channel.ACC_Y: "acc",
    Channel.ACC_Z: "acc",
    Channel.SPO2: "spo2",
    Channel.HR: "hr",
    Channel.PRESENCE: "presence",
    Channel.MOTION: "motion",
    Channel.DOOR: "door",
}
_DEFAULT_SOURCE = {
    "presence": Source.RADAR,
    "motion": Source.RADAR,
    "door": Source.DOOR,
}
_NON_BLOCKING = frozenset({"door"})
"""Door contacts report on change, so a silent door never holds decisions back."""


class _AccAssembler:
    """Collects the three accelerometer axes, which arrive as separate blocks."""

    def __init__(self) -> None:
        self.parts: dict[int, deque[SampleBlock]] = {0: deque(), 1: deque(), 2: deque()}

    def add(self, axis: int, block: SampleBlock) -> list[SampleBlock]:
        self.parts[axis].append(block)
        out: list[SampleBlock] = []
        while all(self.parts.values()):
            heads = [self.parts[i][0] for i in range(3)]
            n = min(len(h.values) for h in heads)
            t0 = heads[0].t0_s
            rows = [h.values[:n] for h in heads]
            for i, h in enumerate(heads):
                self.parts[i].popleft()
                if len(h.values) > n:
                    rest = SampleBlock(
                        h.device_id, h.channel, h.t0_s + n / h.fs_hz, h.fs_hz, h.values[n:]
                    )
                    self.parts[i].appendleft(rest)
            out.append(
                SampleBlock(
                    heads[0].device_id,
                    Channel.ACC_X,
                    t0,
                    heads[0].fs_hz,
                    tuple(v for row in rows for v in row),
                )
            )
        return out


class Detector:
    """Streaming detector for one monitored person and their room.

    Feed it :class:`~firmware_bridge.samples.SampleBlock` values as they arrive with
    :meth:`update`; call :meth:`advance` with the sample clock now and then so that a silent
    sensor becomes ``no_signal`` instead of holding decisions back; :meth:`detect` runs a whole
    recording. Chunked updates give the same events as one batch call.
    """

    def __init__(self, settings: DetectorSettings | None = None, *, trace: bool = False) -> None:
        """Create a detector.

        Args:
            settings: validated settings; defaults when None.
            trace: keep every fused tick in :attr:`trace` (for plots and debugging).
        """
        self.settings = settings if settings is not None else DetectorSettings()
        self._streams: dict[StreamKey, Stream] = {}
        self._pending: dict[StreamKey, deque[Second]] = {}
        self._acc: dict[Source, _AccAssembler] = {}
        self._fusion = Fusion(self.settings)
        self._rules = Rules(self.settings)
        self._next_tick: int | None = None
        self._horizon = -math.inf
        self._keep_trace = trace
        self.trace: list[TickView] = []

    # --- public API ------------------------------------------------------------------------------
    def update(self, block: SampleBlock, source: Source = Source.WEARABLE) -> list[DetectionEvent]:
        """Add one block of samples and return the events decided since the last call.

        Args:
            block: samples of one channel.
            source: which device family sent it; presence and motion are taken as radar and door
                as door unless given otherwise.
        """
        channel = Channel(block.channel)
        group = _GROUP[channel]
        if source is Source.WEARABLE and group in _DEFAULT_SOURCE:
            source = _DEFAULT_SOURCE[group]
        if group == "acc":
            assembler = self._acc.setdefault(source, _AccAssembler())
            for joined in assembler.add(_ACC[channel], block):
                values = np.asarray(joined.values, dtype=np.float64).reshape(3, -1)
                self._feed((source, "acc"), joined.t0_s, joined.fs_hz, values)
        else:
            values = np.asarray(block.values, dtype=np.float64).reshape(1, -1)
            self._feed((source, group), block.t0_s, block.fs_hz, values)
        return self._decide()

    def advance(self, now_s: float) -> list[DetectionEvent]:
        """Tell the detector the sample clock reached ``now_s`` (a watchdog tick).

        Streams that have sent nothing for ``max_channel_lag_s`` stop holding decisions back and
        count as missing data, which leads to ``no_signal``.
        """
        self._horizon = max(self._horizon, now_s)
        return self._decide()

    def flush(self) -> list[DetectionEvent]:
        """Decide every whole second received so far (end of a recording)."""
        self._horizon = math.inf
        return self._decide()

    def detect(
        self,
        columns: Mapping[str, npt.ArrayLike],
        t_s: npt.ArrayLike,
        *,
        sources: Mapping[str, Source] | None = None,
    ) -> list[DetectionEvent]:
        """Run a whole recording through the streaming path and flush.

        Args:
            columns: channel name (a :class:`Channel` value) -> samples, same length as ``t_s``;
                NaN marks a missing sample.
            t_s: sample times in seconds, strictly increasing, evenly spaced apart from gaps.
            sources: channel name -> source, for channels not from the wearable (``resp`` from a
                radar, say); presence/motion default to radar and door to door.

        Raises:
            InputError: unknown columns, mismatched lengths or unusable times.
        """
        t = np.asarray(t_s, dtype=np.float64)
        cols = {name: np.asarray(v, dtype=np.float64) for name, v in columns.items()}
        fs, starts = _timeline(t)
        for name, col in cols.items():
            if name not in set(Channel):
                raise InputError(f"unknown column {name!r}")
            if col.shape != t.shape:
                raise InputError(f"column {name!r} has {col.size} samples, t has {t.size}")
        sources = dict(sources or {})
        events: list[DetectionEvent] = []
        step = max(1, int(fs * self.settings.max_channel_lag_s / 2))
        bounds = [*starts.tolist(), t.size]
        for a, b in itertools.pairwise(bounds):
            for lo in range(a, b, step):
                hi = min(b, lo + step)
                for name, col in cols.items():
                    block = SampleBlock(
                        "detect", Channel(name), float(t[lo]), fs, tuple(col[lo:hi].tolist())
                    )
                    events += self.update(block, sources.get(name, Source.WEARABLE))
        return events + self.flush()

    # --- internals -------------------------------------------------------------------------------
    def _feed(self, key: StreamKey, t0: float, fs: float, values: npt.NDArray[np.float64]) -> None:
        stream = self._streams.get(key)
        if stream is None:
            if key[1] == "acc":
                stream = AccStream(self.settings)
            elif key[1] == "resp":
                stream = RespStream(self.settings)
            else:
                stream = ScalarStream(self.settings, reduce="max" if key[1] == "door" else "median")
            self._streams[key] = stream
            self._pending[key] = deque()
        if self._next_tick is None:
            self._next_tick = math.floor(t0)
        seconds = stream.feed(t0, fs, values)
        self._pending[key].extend(s for s in seconds if s.tick >= self._next_tick)
        self._horizon = max(self._horizon, stream.end_s)

    def _ready(self, tick: int) -> bool:
        limit = self._horizon - self.settings.max_channel_lag_s
        for key, stream in self._streams.items():
            if key[1] in _NON_BLOCKING:
                continue
            covered = stream.end_s >= tick + 1
            if not covered and limit < tick + 1:
                return False
        return (
            any(
                stream.end_s >= tick + 1
                for key, stream in self._streams.items()
                if key[1] not in _NON_BLOCKING
            )
            or self._horizon >= tick + 1 + self.settings.max_channel_lag_s
        )

    def _decide(self) -> list[DetectionEvent]:
        events: list[DetectionEvent] = []
        if self._next_tick is None:
            return events
        last = max((s.end_s for s in self._streams.values()), default=-math.inf)
        if math.isfinite(self._horizon):
            last = max(last, self._horizon)
        while self._next_tick + 1 <= last and self._ready(self._next_tick):
            tick = self._next_tick
            seconds: dict[StreamKey, Second | None] = {}
            for key, queue in self._pending.items():
                while queue and queue[0].tick < tick:
                    queue.popleft()
                seconds[key] = queue.popleft() if queue and queue[0].tick == tick else None
            view = self._fusion.view(tick, seconds)
            if self._keep_trace:
                self.trace.append(view)
            events += self._rules.apply(view)
            self._next_tick = tick + 1
        return events


def _timeline(t: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.int64]]:
    """Sampling rate of ``t`` and the indices where contiguous runs start."""
    if t.ndim != 1 or t.size < 2:
        raise InputError("t needs at least two samples")
    if not np.isfinite(t).all():
        raise InputError("t has missing or infinite values")
    dt = np.diff(t)
    if (dt <= 0).any():
        raise InputError("t must be strictly increasing")
    step = float(np.median(dt))
    fs = 1.0 / step
    starts = np.concatenate([[0], np.flatnonzero(dt > 1.5 * step) + 1]).astype(np.int64)
    return fs, starts
