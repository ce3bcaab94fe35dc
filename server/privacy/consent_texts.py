"""The consent texts residents are shown, versioned in the repository (shell: reads files).

Each version is ``texts/consent-v<N>.md``; a published version is never edited (a change is a new
file), so the SHA-256 a consent record carries proves which words the resident was shown.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Final

from server.privacy.consent import ConsentText, text_sha256

TEXTS_DIR: Final = Path(__file__).parent / "texts"
_NAME: Final = re.compile(r"^consent-(v\d+)\.md$")


@functools.cache
def consent_texts() -> dict[str, ConsentText]:
    """Every shipped version, by version (``v1``, ``v2``, ...)."""
    texts = {}
    for path in sorted(TEXTS_DIR.iterdir()):
        match = _NAME.match(path.name)
        if match:
            body = path.read_bytes()
            texts[match[1]] = ConsentText(match[1], text_sha256(body), body.decode("utf-8"))
    return texts


def current_text() -> ConsentText:
    """The newest version: the one the panel shows."""
    texts = consent_texts()
    return texts[max(texts, key=lambda version: int(version[1:]))]
