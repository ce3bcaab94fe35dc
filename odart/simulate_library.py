"""The scenario library in ``scenarios/``: list it, find a scenario by name or path (shell)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from simulators.scenario import Scenario, parse_scenario_text
from simulators.scenario_fields import ScenarioError

LIBRARY_DIR: Final = Path(__file__).resolve().parent.parent / "scenarios"
"""The library: ``scenarios/*.toml`` at the top of the source tree."""


def load(path: Path) -> Scenario:
    """Read and check one scenario file."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ScenarioError(str(path), "(file)", "file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(str(path), "(file)", f"cannot read: {error}") from None
    return parse_scenario_text(text, str(path))


def library(folder: Path = LIBRARY_DIR) -> dict[str, Scenario]:
    """Every scenario in ``folder``, by name, sorted."""
    found = {}
    for path in sorted(folder.glob("*.toml")):
        scenario = load(path)
        found[scenario.name] = scenario
    return dict(sorted(found.items()))


def resolve(name_or_path: str) -> Scenario:
    """A scenario file path, or the name of a library scenario."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return load(path)
    candidate = LIBRARY_DIR / f"{name_or_path}.toml"
    if candidate.exists():
        return load(candidate)
    raise ScenarioError(name_or_path, "(file)", "no such file or library scenario (see --list)")
