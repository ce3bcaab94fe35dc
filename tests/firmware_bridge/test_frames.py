"""The resynchronising UART framer over MR60BHA1 and LD2410 streams."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import (
    LD2410_SPEC,
    MR60BHA1_SPEC,
    FrameBuffer,
    FramerStats,
    FrameSpec,
    Mr60Frame,
    encode_message,
)
from tests.firmware_bridge import strategies as fbs
from tests.firmware_bridge._vectors import hex_bytes

RESET = hex_bytes("53 59 01 02 00 01 0F BF 54 43")
REALTIME = hex_bytes("53 59 84 0F 00 01 00 40 54 43")
LD_REPORT = hex_bytes("F4 F3 F2 F1 0D 00 02 AA 02 51 00 00 00 00 00 3B 00 55 00 F8 F7 F6 F5")


def _feed_all(spec: FrameSpec, chunks: list[bytes]) -> tuple[list[bytes], FramerStats]:
    framer = FrameBuffer(spec)
    frames = [frame for chunk in chunks for frame in framer.feed(chunk)]
    return frames, framer.stats


def test_framer_skips_garbage_and_counts_it() -> None:
    frames, stats = _feed_all(MR60BHA1_SPEC, [b"\x00\xff\x53" + RESET + b"xyz" + REALTIME])
    assert frames == [RESET, REALTIME]
    assert stats == FramerStats(frames=2, garbage_bytes=6, bad_checksums=0, bad_frames=0)


def test_framer_drops_bad_checksum_and_resyncs() -> None:
    corrupt = RESET[:7] + b"\xbe" + RESET[8:]
    frames, stats = _feed_all(MR60BHA1_SPEC, [corrupt + REALTIME])
    assert frames == [REALTIME]
    assert stats.bad_checksums == 1
    assert stats.frames == 1


def test_framer_recovers_a_frame_inside_a_partial_one() -> None:
    partial = RESET[:5]  # header and half the length, then the next frame starts
    frames, stats = _feed_all(MR60BHA1_SPEC, [partial + REALTIME + RESET])
    assert frames == [REALTIME, RESET]
    assert stats.bad_frames + stats.bad_checksums == 1


def test_framer_partial_frame_with_plausible_length_resolves_once_bytes_arrive() -> None:
    partial = RESET[:4] + b"\x00\x0c"  # claims 12 data bytes, then the stream moves on
    framer = FrameBuffer(MR60BHA1_SPEC)
    assert framer.feed(partial + REALTIME) == []  # still waiting: 21 bytes are claimed
    assert framer.feed(RESET + REALTIME) == [REALTIME, RESET, REALTIME]
    assert framer.stats.bad_frames + framer.stats.bad_checksums == 1


def test_framer_rejects_absurd_length_without_waiting() -> None:
    frames, stats = _feed_all(MR60BHA1_SPEC, [b"\x53\x59\x80\x01\xff\xff" + RESET])
    assert frames == [RESET]
    assert stats.bad_frames == 1


def test_framer_keeps_a_split_sync_word() -> None:
    framer = FrameBuffer(LD2410_SPEC)
    assert framer.feed(b"junk" + LD_REPORT[:3]) == []
    assert framer.pending == 3
    assert framer.feed(LD_REPORT[3:]) == [LD_REPORT]
    assert framer.stats.garbage_bytes == 4


def test_framer_ld2410_tail_mismatch_counts_bad_frame() -> None:
    broken = LD_REPORT[:-1] + b"\x00"
    frames, stats = _feed_all(LD2410_SPEC, [broken + LD_REPORT])
    assert frames == [LD_REPORT]
    assert stats.bad_frames == 1


mr60_stream = st.lists(st.one_of(fbs.mr60_frames.map(encode_message), st.binary(max_size=12)))
ld_stream = st.lists(
    st.one_of(
        fbs.ld2410_reports.map(encode_message),
        fbs.ld2410_commands.map(encode_message),
        st.binary(max_size=12),
    )
)


@pytest.mark.parametrize(
    ("spec", "pieces"), [(MR60BHA1_SPEC, mr60_stream), (LD2410_SPEC, ld_stream)]
)
@given(data=st.data())
def test_framer_byte_by_byte_equals_whole_buffer(
    spec: FrameSpec, pieces: st.SearchStrategy[list[bytes]], data: st.DataObject
) -> None:
    stream = b"".join(data.draw(pieces))
    whole = _feed_all(spec, [stream])
    bytewise = _feed_all(spec, [stream[i : i + 1] for i in range(len(stream))])
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    bounds = [0, *cuts, len(stream)]
    chunked = _feed_all(spec, [stream[a:b] for a, b in itertools.pairwise(bounds)])
    assert whole == bytewise == chunked


@given(frames=st.lists(fbs.mr60_frames, max_size=6), noise=st.binary(max_size=16))
def test_framer_finds_every_frame_after_noise(frames: list[Mr60Frame], noise: bytes) -> None:
    # Noise without the sync byte cannot start a false frame, so every real frame is found.
    clean_noise = noise.replace(b"\x53", b"")
    encoded = [encode_message(frame) for frame in frames]
    found, stats = _feed_all(MR60BHA1_SPEC, [clean_noise + b"".join(encoded)])
    assert found == encoded
    assert stats.garbage_bytes == len(clean_noise)
