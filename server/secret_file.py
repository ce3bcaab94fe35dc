"""The action-link key kept in a file of its own, readable by the server's user only (shell).

Keeping the key out of the database means a copied backup cannot forge acknowledge links. The
file is made with a random key when missing; one that others may read is refused, since anyone
who reads it can act on alerts as a responder.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Final

from server.errors import ConfigError

KEY_BYTES: Final = 32
"""A 256-bit HMAC key (RFC 2104: at least the hash's output length)."""
KEY_FIELD: Final = "secret_key_file"


def read_key_file(path: Path) -> str:
    """The key in ``path``, made 0600 with a random key first if the file does not exist.

    Raises:
        ConfigError: the file is readable by others, unreadable, or too short.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as error:
        raise ConfigError(KEY_FIELD, f"cannot create {path}: {error.strerror}") from None
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as error:
        raise ConfigError(KEY_FIELD, f"cannot read {path}: {error.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            KEY_FIELD, f"{path} is readable by others (mode {stat.filemode(mode)}); chmod 600 it"
        )
    if len(text) < KEY_BYTES:
        raise ConfigError(KEY_FIELD, f"{path} holds fewer than {KEY_BYTES} characters")
    return text
