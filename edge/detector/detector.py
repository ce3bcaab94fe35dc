"""The streaming detector: routes sample blocks to channel streams, decides each second once
every live stream has covered it, and applies the rules (pure).

One :class:`Detector` watches one person: their wearable and their room's radar and door. Time
is the samples' own clock; nothing here reads the wall clock.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from edge.detector.accel import AccStream
from edge.detector.errors import InputError
from edge.detector.events import DetectionEvent, Source
from edge.detector.filters import FloatArray
from edge.detector.fusion import Fusion, StreamKey, TickView
from edge.detector.rules import Rules
from edge.detector.settings import DetectorSettings
from edge.detector.streams import RespStream, ScalarStream, Second, Stream
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
    """Joins the three accelerometer axes, which arrive as separate blocks, into ``(3, n)``."""

    def __init__(self) -> None:
        self._parts: tuple[deque[tuple[float, float, Sequence[float]]], ...] = (
            deque(),
            deque(),
            deque(),
        )

    def add(self, axis: int, block: SampleBlock) -> list[tuple[float, float, FloatArray]]:
        """Queue one axis; return every ``(t0, fs, samples)`` now complete on all three."""
        self._parts[axis].append((block.t0_s, block.fs_hz, block.values))
        out: list[tuple[float, float, FloatArray]] = []
        while all(self._parts):
            heads = [p[0] for p in self._parts]
            n = min(len(h[2]) for h in heads)
            for part, (t0, fs, x) in zip(self._parts, heads, strict=True):
                part.popleft()
                if len(x) > n:
                    part.appendleft((t0 + n / fs, fs, x[n:]))
            t0, fs, _ = heads[0]
            # One conversion of the three axes (the common case: equal blocks) into (3, n).
            rows = [h[2] if len(h[2]) == n else h[2][:n] for h in heads]
            out.append((t0, fs, np.array(rows, dtype=np.float64)))
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
        self._horizon = -math.inf  # latest time known: data or advance()
        self._data_end = -math.inf  # latest sample time received
        self._blocking: list[Stream] = []
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
        channel = block.channel if type(block.channel) is Channel else Channel(block.channel)
        group = _GROUP[channel]
        if source is Source.WEARABLE and group in _DEFAULT_SOURCE:
            source = _DEFAULT_SOURCE[group]
        if group == "acc":
            assembler = self._acc.get(source)
            if assembler is None:
                assembler = self._acc[source] = _AccAssembler()
            for t0, fs, values in assembler.add(_ACC[channel], block):
                self._feed((source, "acc"), t0, fs, values)
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
        # Interleave the columns in pieces well under max_channel_lag_s, as devices would.
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
                stream = ScalarStream(self.settings, reduce_max=key[1] == "door")
            self._streams[key] = stream
            self._pending[key] = deque()
            if key[1] not in _NON_BLOCKING:
                self._blocking.append(stream)
        if self._next_tick is None:
            self._next_tick = math.floor(t0)
        seconds = stream.feed(t0, fs, values)
        if seconds and key[1] in _NON_BLOCKING:
            self._pending[key].extend(seconds)  # late door readings still count (next tick)
        elif seconds:
            self._pending[key].extend(s for s in seconds if s.tick >= self._next_tick)
        if stream.end_s > self._data_end:
            self._data_end = stream.end_s
            if stream.end_s > self._horizon:
                self._horizon = stream.end_s

    def _ready(self, tick: int) -> bool:
        """Every stream covered ``tick``, or the silent ones are ``max_channel_lag_s`` behind."""
        need = tick + 1
        if self._horizon - self.settings.max_channel_lag_s >= need:
            return True
        return all(stream.end_s >= need for stream in self._blocking)

    def _decide(self) -> list[DetectionEvent]:
        events: list[DetectionEvent] = []
        if self._next_tick is None:
            return events
        last = self._data_end
        if math.isfinite(self._horizon) and self._horizon > last:
            last = self._horizon
        while self._next_tick + 1 <= last and self._ready(self._next_tick):
            tick = self._next_tick
            seconds: dict[StreamKey, Second | None] = {}
            for key, queue in self._pending.items():
                if key[1] in _NON_BLOCKING:
                    # Door readings may arrive after their second was decided: apply them now
                    # rather than lose an opening (the latest reading of each second wins).
                    seconds[key] = _merge_late(queue, tick)
                    continue
                while queue and queue[0].tick < tick:
                    queue.popleft()
                seconds[key] = queue.popleft() if queue and queue[0].tick == tick else None
            view = self._fusion.view(tick, seconds)
            if self._keep_trace:
                self.trace.append(view)
            events += self._rules.apply(view)
            self._next_tick = tick + 1
        return events


def _merge_late(queue: deque[Second], tick: int) -> Second | None:
    """Fold every queued second up to ``tick`` into one: an opening anywhere counts."""
    merged: Second | None = None
    while queue and queue[0].tick <= tick:
        second = queue.popleft()
        if merged is None or (second.value is not None and (merged.value or 0.0) < second.value):
            merged = second
    return merged


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
