"""The package's annotations and the stub of evcs._native pass mypy --strict."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

PYTHON_SOURCE = pathlib.Path(__file__).resolve().parents[2] / "python"


def test_package_passes_mypy_strict() -> None:
    environment = dict(os.environ, MYPYPATH=str(PYTHON_SOURCE))
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "evcs"],
        cwd=PYTHON_SOURCE,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.startswith("Success: no issues found")


def test_package_ships_py_typed_and_the_native_stub() -> None:
    assert (PYTHON_SOURCE / "evcs" / "py.typed").is_file()
    assert (PYTHON_SOURCE / "evcs" / "_native.pyi").is_file()
