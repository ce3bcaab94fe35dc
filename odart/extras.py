"""Which optional extra (``pip install "odart[EXTRA]"``) brings which import (pure).

The base install is the edge agent; a command that needs more says which extra to install
instead of ending in a traceback. Keep in step with ``[project.optional-dependencies]`` in
``pyproject.toml`` (``tests/packaging/test_extras.py`` checks both ways).
"""

from __future__ import annotations

from typing import Final

EXTRA_OF_MODULE: Final[dict[str, str]] = {
    "apprise": "server",
    "argon2": "server",
    "fastapi": "server",
    "jinja2": "server",
    "multipart": "server",
    "prometheus_client": "server",
    "pyotp": "server",
    "python_multipart": "server",
    "segno": "server",
    "sqlite_utils": "server",
    "starlette": "server",
    "uvicorn": "server",
    "matplotlib": "demo",
    "amqtt": "demo-fallback",
    "biopeaks": "bench",
    "neurokit2": "bench",
    "pyphysio": "bench",
}
"""Top-level module -> the extra that installs it."""


def missing_extra_message(command: str, module: str | None) -> str | None:
    """What to tell the user when ``command`` could not import ``module``, or None if unknown."""
    extra = EXTRA_OF_MODULE.get((module or "").split(".")[0])
    if extra is None:
        return None
    return (
        f"odart {command}: the Python package for '{module}' is not installed; it comes with "
        f'the {extra} extra: pip install "odart[{extra}]"'
    )
