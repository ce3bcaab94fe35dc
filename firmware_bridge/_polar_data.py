"""Polar Measurement Data (PMD) data frames: raw and delta-compressed ECG/ACC/PPG (pure).

A data notification on ``FB005C82-02E7-F387-1CAD-8ACD2D8DF0C8`` is
``type u8 | timestamp u64 (ns since 2000-01-01T00:00:00Z) | frame type u8 | samples``. Bit 7 of
the frame type marks a delta-compressed frame: one reference sample of ``channels`` signed values
of ``ceil(resolution/8)`` bytes, then blocks ``[bit width u8][count u8][packed deltas]`` with the
deltas bit-packed LSB-first, channel-interleaved and sign-extended from ``bit width`` bits.
Source: polar-ble-sdk ``online_measurement.pdf``, ``BlePMDClient.parseDeltaFramesAll``,
``documentation/TimeSystemExplained.md``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

from firmware_bridge._polar_control import PmdMeasurementType
from firmware_bridge._reader import Reader, check_range, pack_u64
from firmware_bridge.errors import MalformedFrame, UnknownMessageType

PMD_DATA_CODEC: Final = "polar_pmd"

# The Polar epoch, 2000-01-01T00:00:00Z, in Unix seconds (TimeSystemExplained.md).
POLAR_EPOCH_UNIX_S: Final = 946_684_800
_NS_PER_S: Final = 1_000_000_000
_COMPRESSED_BIT: Final = 0x80
# Widest delta we accept; Polar sensors use at most their 24-bit resolution.
MAX_DELTA_WIDTH_BITS: Final = 32

# Raw (uncompressed) layouts: (measurement, frame type) -> (channels, bytes per value).
# ECG type 0 = 1 x int24 µV (H10); ACC types 0/1/2 = 3 x int8/int16/int24 mG;
# PPG type 0 = 4 x int24.
RAW_LAYOUTS: Final = {
    (PmdMeasurementType.ECG, 0): (1, 3),
    (PmdMeasurementType.ACC, 0): (3, 1),
    (PmdMeasurementType.ACC, 1): (3, 2),
    (PmdMeasurementType.ACC, 2): (3, 3),
    (PmdMeasurementType.PPG, 0): (4, 3),
}
# Stream settings a compressed frame needs but does not carry: (channels, resolution bits).
# H10 ECG starts at 130 Hz / 14 bits (start command 02 00 00 01 82 00 01 01 0E 00), ACC at 16.
DEFAULT_COMPRESSED_LAYOUTS: Final = {
    PmdMeasurementType.ECG: (1, 14),
    PmdMeasurementType.ACC: (3, 16),
    PmdMeasurementType.PPG: (4, 22),
}


@dataclass(frozen=True, slots=True)
class PmdDataFrame:
    """One PMD data notification, lossless.

    Attributes:
        measurement: what the samples are.
        timestamp_ns: sensor time of the last sample, ns since the Polar epoch.
        frame_type: the frame type without the compression bit (0..127).
        samples: one tuple of channel values per sample (µV for ECG, mG for ACC).
        compressed: the frame was delta-compressed.
        resolution_bits: bits per reference value of a compressed frame (``None`` when raw).
        delta_blocks: ``(bit width, sample count)`` per block of a compressed frame.
    """

    measurement: PmdMeasurementType
    timestamp_ns: int
    frame_type: int
    samples: tuple[tuple[int, ...], ...]
    compressed: bool = False
    resolution_bits: int | None = None
    delta_blocks: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        check_range("timestamp_ns", self.timestamp_ns, 0, (1 << 64) - 1)
        check_range("frame_type", self.frame_type, 0, 0x7F)
        if self.compressed:
            self._check_compressed()
            return
        channels, width = _raw_layout(self.measurement, self.frame_type)
        limit = 1 << (8 * width - 1)
        for sample in self.samples:
            if len(sample) != channels or not all(-limit <= v < limit for v in sample):
                message = f"each sample needs {channels} values fitting {width} bytes"
                raise ValueError(message)

    def _check_compressed(self) -> None:
        if self.resolution_bits is None or not self.samples:
            message = "a compressed frame needs resolution_bits and a reference sample"
            raise ValueError(message)
        check_range("resolution_bits", self.resolution_bits, 1, 64)
        channels = len(self.samples[0])
        check_range("channels", channels, 1, 0xFF)
        ref_limit = 1 << (8 * _ceil_div(self.resolution_bits, 8) - 1)
        if not all(-ref_limit <= v < ref_limit for v in self.samples[0]):
            message = "reference sample does not fit resolution_bits"
            raise ValueError(message)
        if sum(count for _, count in self.delta_blocks) != len(self.samples) - 1:
            message = "delta_blocks must cover every sample after the reference"
            raise ValueError(message)
        index = 1
        for width, count in self.delta_blocks:
            check_range("delta bit width", width, 0, MAX_DELTA_WIDTH_BITS)
            check_range("delta sample count", count, 0, 0xFF)
            for previous, current in zip(
                self.samples[index - 1 : index - 1 + count],
                self.samples[index : index + count],
                strict=True,
            ):
                if len(current) != channels or not all(
                    _fits(c - p, width) for p, c in zip(previous, current, strict=True)
                ):
                    message = f"a delta does not fit {width} bits"
                    raise ValueError(message)
            index += count

    @property
    def unix_time_s(self) -> float:
        """The frame timestamp as Unix seconds."""
        return polar_ns_to_unix_s(self.timestamp_ns)


def polar_ns_to_unix_s(timestamp_ns: int) -> float:
    """Convert nanoseconds since the Polar epoch (2000-01-01Z) to Unix seconds."""
    return POLAR_EPOCH_UNIX_S + timestamp_ns / _NS_PER_S


def unix_s_to_polar_ns(unix_s: float) -> int:
    """Convert Unix seconds to nanoseconds since the Polar epoch."""
    return round((unix_s - POLAR_EPOCH_UNIX_S) * _NS_PER_S)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _fits(delta: int, width: int) -> bool:
    if width == 0:
        return delta == 0
    return -(1 << (width - 1)) <= delta < (1 << (width - 1))


def _raw_layout(measurement: PmdMeasurementType, frame_type: int) -> tuple[int, int]:
    layout = RAW_LAYOUTS.get((measurement, frame_type))
    if layout is None:
        raise UnknownMessageType(PMD_DATA_CODEC, frame_type)
    return layout


def compress_blocks(
    samples: tuple[tuple[int, ...], ...], block_size: int = 0xFF
) -> tuple[tuple[int, int], ...]:
    """Choose the narrowest bit width per block of ``block_size`` deltas (what a sensor does).

    Args:
        samples: every sample, the first being the reference.
        block_size: deltas per block, 1..255.

    Returns:
        ``(bit width, count)`` per block, for :class:`PmdDataFrame.delta_blocks`.
    """
    check_range("block_size", block_size, 1, 0xFF)
    deltas = [
        max((abs(2 * (c - p) + 1) for p, c in zip(prev, cur, strict=True)), default=1)
        for prev, cur in itertools.pairwise(samples)
    ]
    blocks = []
    for start in range(0, len(deltas), block_size):
        chunk = deltas[start : start + block_size]
        # Bits for a two's-complement d: bit_length of (2d+1 or -(2d+1)) covers sign and magnitude.
        blocks.append((max(d.bit_length() for d in chunk), len(chunk)))
    return tuple(blocks)


def _unpack_deltas(packed: bytes, width: int, count: int) -> list[int]:
    bits = int.from_bytes(packed, "little")
    mask = (1 << width) - 1
    sign = 1 << (width - 1) if width else 0
    out = []
    for index in range(count):
        raw = (bits >> (index * width)) & mask
        out.append(raw - (raw & sign) * 2)
    return out


def _pack_deltas(deltas: list[int], width: int) -> bytes:
    bits = 0
    mask = (1 << width) - 1
    for index, delta in enumerate(deltas):
        bits |= (delta & mask) << (index * width)
    return bits.to_bytes(_ceil_div(width * len(deltas), 8), "little")


def decode_pmd_data(
    data: bytes, *, channels: int | None = None, resolution_bits: int | None = None
) -> PmdDataFrame:
    """Decode a PMD data notification.

    Args:
        data: the notification value.
        channels: channels of a compressed stream (default from ``DEFAULT_COMPRESSED_LAYOUTS``).
        resolution_bits: resolution of a compressed stream (same default).

    Raises:
        TruncatedFrame: the header or a delta block is cut short.
        UnknownMessageType: an unknown measurement or raw frame type.
        MalformedFrame: samples that do not fill the frame, or a delta width above 32 bits.
    """
    reader = Reader(data, PMD_DATA_CODEC)
    type_id = reader.u8()
    try:
        measurement = PmdMeasurementType(type_id)
    except ValueError:
        raise UnknownMessageType(PMD_DATA_CODEC, type_id) from None
    timestamp = reader.u64()
    frame_byte = reader.u8()
    frame_type = frame_byte & ~_COMPRESSED_BIT
    if not frame_byte & _COMPRESSED_BIT:
        count, width = _raw_layout(measurement, frame_type)
        if reader.remaining % (count * width):
            message = f"{reader.remaining} sample bytes are not whole {count}x{width}-byte samples"
            raise MalformedFrame(PMD_DATA_CODEC, message)
        samples = tuple(
            tuple(reader.signed(width) for _ in range(count))
            for _ in range(reader.remaining // (count * width))
        )
        return PmdDataFrame(measurement, timestamp, frame_type, samples)
    default = DEFAULT_COMPRESSED_LAYOUTS.get(measurement)
    if default is None and (channels is None or resolution_bits is None):
        raise UnknownMessageType(PMD_DATA_CODEC, frame_byte)
    channels = channels or (default[0] if default else 1)
    resolution = resolution_bits or (default[1] if default else 8)
    ref = tuple(reader.signed(_ceil_div(resolution, 8)) for _ in range(channels))
    rows = [ref]
    blocks = []
    while reader.remaining:
        width = reader.u8()
        count = reader.u8()
        if width > MAX_DELTA_WIDTH_BITS:
            message = f"delta width {width} bits is above {MAX_DELTA_WIDTH_BITS}"
            raise MalformedFrame(PMD_DATA_CODEC, message)
        deltas = _unpack_deltas(
            reader.take(_ceil_div(width * count * channels, 8)), width, count * channels
        )
        for index in range(count):
            step = deltas[index * channels : (index + 1) * channels]
            rows.append(tuple(p + d for p, d in zip(rows[-1], step, strict=True)))
        blocks.append((width, count))
    return PmdDataFrame(
        measurement, timestamp, frame_type, tuple(rows), True, resolution, tuple(blocks)
    )


def encode_pmd_data(frame: PmdDataFrame) -> bytes:
    """Encode a PMD data notification, byte-exact with :func:`decode_pmd_data`."""
    frame_byte = frame.frame_type | (_COMPRESSED_BIT if frame.compressed else 0)
    out = bytearray([frame.measurement]) + pack_u64(frame.timestamp_ns) + bytes([frame_byte])
    if not frame.compressed:
        _, width = _raw_layout(frame.measurement, frame.frame_type)
        for sample in frame.samples:
            for value in sample:
                out += value.to_bytes(width, "little", signed=True)
        return bytes(out)
    assert frame.resolution_bits is not None  # checked in __post_init__
    ref_width = _ceil_div(frame.resolution_bits, 8)
    for value in frame.samples[0]:
        out += value.to_bytes(ref_width, "little", signed=True)
    index = 1
    for width, count in frame.delta_blocks:
        deltas = [
            c - p
            for row in range(index, index + count)
            for p, c in zip(frame.samples[row - 1], frame.samples[row], strict=True)
        ]
        out += bytes([width, count]) + _pack_deltas(deltas, width)
        index += count
    return bytes(out)
