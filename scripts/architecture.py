#!/usr/bin/env python3
"""Regenerate the module list in ARCHITECTURE.md from each module's first docstring line.

Usage: .venv/bin/python scripts/architecture.py [--check]
With --check, exit 1 (and print the difference) when ARCHITECTURE.md is stale.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("firmware_bridge", "edge", "server", "simulators", "odart")
START, END = "<!-- modules:start -->", "<!-- modules:end -->"


def render_modules() -> str:
    """One line per module: path and the first line of its docstring."""
    lines = []
    for package in PACKAGES:
        lines.append(f"\n### `{package}`\n")
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "__init__.py":
                continue
            doc = ast.get_docstring(ast.parse(path.read_text())) or "(no docstring)"
            summary = " ".join(doc.strip().split("\n\n")[0].split())
            lines.append(f"- `{path.relative_to(ROOT)}`: {summary}")
    return "\n".join(lines) + "\n"


def render_file(current: str) -> str:
    """``current`` with the text between the markers replaced by :func:`render_modules`."""
    head, _, rest = current.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{render_modules()}{END}{tail}"


def main() -> int:
    path = ROOT / "ARCHITECTURE.md"
    current = path.read_text()
    wanted = render_file(current)
    if "--check" in sys.argv:
        if wanted != current:
            print("ARCHITECTURE.md is stale: run .venv/bin/python scripts/architecture.py")
            return 1
        return 0
    path.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
