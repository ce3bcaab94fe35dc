"""Import rules between the packages, checked by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("firmware_bridge", "edge", "server", "simulators", "odart")
IO_LIBRARIES = {
    "aiomqtt",
    "paho",
    "bleak",
    "bleak_retry_connector",
    "sqlite3",
    "sqlite_utils",
    "apprise",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "socket",
    "serial",
    "serial_asyncio",
    "subprocess",
    "asyncio",
    "threading",
    "os",
    "http",
    "urllib",
}
PURE_CORES = ("firmware_bridge", "edge/detector", "server/domain")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("firmware_bridge", {"edge", "server", "simulators", "odart"}),
        ("edge", {"server", "simulators", "odart"}),
        ("server", {"edge", "simulators", "odart"}),
        ("simulators", {"edge", "server", "odart"}),
    ],
)
def test_layering_package_imports_only_what_it_may(package: str, forbidden: set[str]) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(package)
        for name in _imports(path)
        if _top(name) in forbidden
    ]
    assert offenders == []


@pytest.mark.parametrize("core", PURE_CORES)
def test_layering_pure_cores_import_no_io(core: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(core)
        for name in _imports(path)
        if _top(name) in IO_LIBRARIES
    ]
    assert offenders == []


def test_layering_simulators_use_only_firmware_bridge_numpy_and_stdlib() -> None:
    import sys

    allowed = {"firmware_bridge", "simulators", "numpy", "__future__"} | set(
        sys.stdlib_module_names
    )
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules("simulators")
        for name in _imports(path)
        if _top(name) not in allowed
    ]
    assert offenders == []


def test_layering_scan_sees_every_package() -> None:
    # Guards the scan itself: a moved package would make the rules above pass vacuously.
    for package in PACKAGES:
        assert _modules(package), package
