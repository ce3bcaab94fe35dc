"""Hypothesis strategies that build every codec's messages (test helper)."""

from __future__ import annotations

from hypothesis import strategies as st

from firmware_bridge import (
    CODECS,
    AccelSamples,
    AlertLevel,
    BatteryLevel,
    ButtonEvent,
    ButtonPress,
    DeviceSensorStatus,
    GattDateTime,
    HeartRateMeasurement,
    Ld2410Command,
    Ld2410Engineering,
    Ld2410Report,
    MeasurementStatus,
    Mr60Frame,
    PlxContinuous,
    PlxSpotCheck,
    PmdCommand,
    PmdDataFrame,
    PmdFeatures,
    PmdMeasurementType,
    PmdOpCode,
    PmdResponse,
    PmdSetting,
    PmdSettingType,
    PmdStatus,
    SpO2PulseRate,
    TargetState,
    compress_blocks,
    decode_sfloat,
)
from firmware_bridge._polar_control import SETTING_WIDTH_BYTES
from firmware_bridge._polar_data import RAW_LAYOUTS

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
sfloats = st.integers(0, 0xFFFF).map(decode_sfloat)


def kind_of(message: object) -> str:
    """The codec kind that encodes ``message``."""
    for kind, codec in CODECS.items():
        if isinstance(message, codec.message_types):
            return kind
    raise AssertionError(type(message))


@st.composite
def heart_rates(draw: st.DrawFn) -> HeartRateMeasurement:
    wide = draw(st.booleans())
    return HeartRateMeasurement(
        bpm=draw(u16 if wide else u8),
        uint16_format=wide,
        contact_supported=draw(st.booleans()),
        contact_detected=draw(st.booleans()),
        energy_kj=draw(st.none() | u16),
        rr_intervals_1024=draw(st.none() | st.lists(u16, max_size=9).map(tuple)),
    )


pairs = st.builds(SpO2PulseRate, sfloats, sfloats)
measurement_status = st.none() | u16.map(MeasurementStatus)
sensor_status = st.none() | st.integers(0, 0xFFFFFF).map(DeviceSensorStatus)
date_times = st.builds(GattDateTime, u16, u8, u8, u8, u8, u8)

plx_continuous = st.builds(
    PlxContinuous,
    pairs,
    st.none() | pairs,
    st.none() | pairs,
    measurement_status,
    sensor_status,
    st.none() | sfloats,
)
plx_spot_check = st.builds(
    PlxSpotCheck,
    pairs,
    st.none() | date_times,
    measurement_status,
    sensor_status,
    st.none() | sfloats,
    st.booleans(),
)


@st.composite
def pmd_settings(draw: st.DrawFn) -> PmdSetting:
    setting = draw(st.sampled_from(PmdSettingType))
    width = SETTING_WIDTH_BYTES[setting]
    values = draw(st.lists(st.integers(0, (1 << (8 * width)) - 1), max_size=3))
    return PmdSetting(setting, tuple(values))


@st.composite
def pmd_commands(draw: st.DrawFn) -> PmdCommand:
    op = draw(st.sampled_from(PmdOpCode))
    settings = draw(st.lists(pmd_settings(), max_size=3)) if op is PmdOpCode.START else []
    return PmdCommand(
        op, draw(st.sampled_from(PmdMeasurementType)), tuple(settings), draw(st.booleans())
    )


pmd_control = st.one_of(
    pmd_commands(),
    st.builds(
        PmdResponse,
        st.sampled_from(PmdOpCode),
        st.sampled_from(PmdMeasurementType),
        st.sampled_from(PmdStatus),
        st.booleans(),
        st.binary(max_size=8),
    ),
    st.builds(PmdFeatures, st.binary(max_size=3)),
)


@st.composite
def pmd_raw_frames(draw: st.DrawFn) -> PmdDataFrame:
    measurement, frame_type = draw(st.sampled_from(sorted(RAW_LAYOUTS)))
    channels, width = RAW_LAYOUTS[(measurement, frame_type)]
    limit = 1 << (8 * width - 1)
    value = st.integers(-limit, limit - 1)
    samples = draw(st.lists(st.tuples(*[value] * channels), max_size=8))
    return PmdDataFrame(
        measurement, draw(st.integers(0, (1 << 64) - 1)), frame_type, tuple(samples)
    )


@st.composite
def pmd_compressed_frames(draw: st.DrawFn) -> PmdDataFrame:
    measurement = draw(st.sampled_from([PmdMeasurementType.ECG, PmdMeasurementType.ACC]))
    channels, resolution = (1, 14) if measurement is PmdMeasurementType.ECG else (3, 16)
    limit = 1 << (resolution - 1)
    value = st.integers(-limit, limit - 1)
    samples = tuple(draw(st.lists(st.tuples(*[value] * channels), min_size=1, max_size=20)))
    blocks = compress_blocks(samples, draw(st.integers(1, 255)))
    return PmdDataFrame(
        measurement,
        draw(st.integers(0, (1 << 64) - 1)),
        draw(st.integers(0, 127)),
        samples,
        True,
        resolution,
        blocks,
    )


accel = st.builds(
    AccelSamples,
    u16,
    st.integers(0, 0xFFFF_FFFF),
    st.integers(1, 0xFFFF),
    st.lists(st.tuples(*[st.integers(-0x8000, 0x7FFF)] * 3), max_size=40).map(tuple),
)
buttons = st.builds(ButtonEvent, u16, st.integers(0, 0xFFFF_FFFF), st.sampled_from(ButtonPress))

mr60_frames = st.builds(Mr60Frame, u8, u8, st.binary(max_size=32))

gate_energies = st.lists(u8, min_size=1, max_size=9).map(tuple)
ld2410_reports = st.builds(
    Ld2410Report,
    st.sampled_from(TargetState),
    u16,
    u8,
    u16,
    u8,
    u16,
    st.none() | st.builds(Ld2410Engineering, gate_energies, gate_energies, st.binary(max_size=4)),
)
ld2410_commands = st.builds(Ld2410Command, u16, st.binary(max_size=8))


def messages() -> st.SearchStrategy[object]:
    """Any message of any codec."""
    return st.one_of(
        heart_rates(),
        plx_continuous,
        plx_spot_check,
        st.integers(0, 100).map(BatteryLevel),
        st.sampled_from(AlertLevel),
        pmd_control,
        pmd_raw_frames(),
        pmd_compressed_frames(),
        accel,
        buttons,
        mr60_frames,
        ld2410_reports,
        ld2410_commands,
    )


def messages_of(kind: str) -> st.SearchStrategy[object]:
    """Any message of the codec named ``kind``."""
    by_kind: dict[str, st.SearchStrategy[object]] = {
        "heart_rate": heart_rates(),
        "plx_continuous": plx_continuous,
        "plx_spot_check": plx_spot_check,
        "battery_level": st.integers(0, 100).map(BatteryLevel),
        "alert_level": st.sampled_from(AlertLevel),
        "polar_pmd_control": pmd_control,
        "polar_pmd": pmd_raw_frames() | pmd_compressed_frames(),
        "odart_wearable": accel | buttons,
        "mr60bha1": mr60_frames,
        "ld2410": ld2410_reports | ld2410_commands,
    }
    assert set(by_kind) == set(CODECS), "a codec has no strategy"
    return by_kind[kind]
