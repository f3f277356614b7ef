"""Parity, Python side: every capability of tests/parity/capabilities.txt exists in `evcs`."""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest

import evcs

MANIFEST = Path(__file__).resolve().parents[1] / "parity" / "capabilities.txt"


def capabilities() -> List[Tuple[str, str, str]]:
    rows = []
    for line in MANIFEST.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, c_name, _cpp, python_name, _lua = line.split()
        rows.append((name, c_name, python_name))
    return rows


def resolve(path: str) -> Any:
    target: Any = evcs
    for part in path.split("."):
        target = getattr(target, part)
    return target


def split_parameter(spelling: str) -> Tuple[str, Optional[str]]:
    """Splits "Session.merge(message)" into ("Session.merge", "message"); (spelling, None) when
    the spelling names no parameter."""
    match = re.fullmatch(r"([\w.]+)\((\w+)\)", spelling)
    return (match.group(1), match.group(2)) if match else (spelling, None)


def test_the_manifest_is_complete() -> None:
    assert len(capabilities()) > 50


@pytest.mark.parametrize(("name", "c_name", "python_name"), capabilities())
def test_capability_exists_in_python(name: str, c_name: str, python_name: str) -> None:
    if name.startswith("error."):
        error_class = resolve(python_name)
        assert issubclass(error_class, evcs.Error)
        assert error_class.code == c_name
    elif name.startswith("option."):
        assert python_name in inspect.signature(evcs.Engine).parameters
    else:
        path, parameter = split_parameter(python_name)
        assert resolve(path) is not None
        if parameter is not None:
            assert parameter in inspect.signature(resolve(path)).parameters, python_name
