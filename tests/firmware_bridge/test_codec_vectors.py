"""Golden vectors from the specifications and vendor documents, for every codec."""

from __future__ import annotations

from typing import Any

import pytest

import firmware_bridge
from firmware_bridge import (
    KINDS,
    FrameError,
    decode_message,
    decode_sfloat,
    encode_message,
    encode_sfloat,
    message_to_json,
)
from tests.firmware_bridge._vectors import assert_subset, hex_bytes, load

MESSAGE_VECTORS = [vector for kind in KINDS for vector in load(kind)]


def _id(vector: dict[str, Any]) -> str:
    return f"{vector['codec']}: {vector['name']}"


@pytest.mark.parametrize("vector", MESSAGE_VECTORS, ids=_id)
def test_codec_decodes_golden_vector(vector: dict[str, Any]) -> None:
    data = hex_bytes(vector["hex"])
    if "error" in vector:
        error = getattr(firmware_bridge, vector["error"])
        with pytest.raises(error) as caught:
            message_to_json(decode_message(vector["codec"], data))
        assert isinstance(caught.value, FrameError)
        assert caught.value.codec in (vector["codec"], "polar_pmd")
        return
    message = decode_message(vector["codec"], data)
    assert_subset(vector["expect"], message_to_json(message))
    assert encode_message(message) == data, "golden frames re-encode byte for byte"


@pytest.mark.parametrize("vector", load("sfloat"), ids=_id)
def test_sfloat_decodes_golden_code(vector: dict[str, Any]) -> None:
    code = int(vector["code"], 16)
    value = decode_sfloat(code)
    assert value.value == vector["value"]
    special = value.special
    assert (None if special is None else special.name.lower()) == vector["special"]
    assert encode_sfloat(value) == code


def test_codec_every_kind_has_a_vector_table() -> None:
    kinds_with_vectors = {vector["codec"] for vector in MESSAGE_VECTORS}
    assert kinds_with_vectors == set(KINDS)
    for kind in KINDS:
        valid = [v for v in load(kind) if "error" not in v]
        invalid = [v for v in load(kind) if "error" in v]
        assert valid, f"{kind} has no valid vector"
        assert invalid, f"{kind} has no error vector"
