"""The audit log's hash chain: each entry's hash covers the previous hash and the entry (pure).

``hash_n = SHA-256(hash_{n-1} || canonical_json(entry_n))`` with the genesis ``hash_0`` all
zeros. Editing, deleting or reordering any entry breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

GENESIS: Final = "0" * 64


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The bytes an entry is hashed as: sorted keys, no spaces, UTF-8."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous: str, entry: Mapping[str, Any]) -> str:
    """The hash of ``entry`` following an entry whose hash was ``previous``."""
    return hashlib.sha256(previous.encode() + canonical(entry)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """Result of checking a chain: ``first_bad`` is the sequence number of the first broken link."""

    ok: bool
    entries: int
    first_bad: int | None = None
    head: str = GENESIS


def check_chain(rows: Iterable[tuple[int, str, str, Mapping[str, Any]]]) -> ChainCheck:
    """Check ``(seq, prev_hash, hash, entry)`` rows in order of ``seq``.

    A gap in the sequence numbers (a deleted row) is a break too.
    """
    previous, expected_seq, count = GENESIS, 1, 0
    for seq, prev_hash, digest, entry in rows:
        count += 1
        if seq != expected_seq or prev_hash != previous or chain_hash(previous, entry) != digest:
            return ChainCheck(False, count, seq, previous)
        previous, expected_seq = digest, seq + 1
    return ChainCheck(True, count, None, previous)
