"""The typed-model example runs and passes mypy --strict, mypy reports the misuses of
tests/python/typing/models_misused.py, and the docs' "Typed models" snippet prints what the docs
say. Each runs on this module's own (empty) database."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from conftest import run_docs_snippet

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "typed_models.py"
MISUSED = REPO / "tests" / "python" / "typing" / "models_misused.py"


def mypy_strict(path: pathlib.Path) -> subprocess.CompletedProcess[str]:
    # MYPYPATH: the package's sources and stubs, as CI's mypy stage checks them.
    environment = dict(os.environ, MYPYPATH=str(REPO / "python"))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--no-error-summary",
         str(path.relative_to(REPO))],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
    )


def test_the_example_passes_mypy_strict() -> None:
    checked = mypy_strict(EXAMPLE)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_mypy_reports_each_misuse_of_typed_models() -> None:
    checked = mypy_strict(MISUSED)
    where = "tests/python/typing/models_misused.py"
    errors = [line for line in checked.stdout.splitlines() if ": note: " not in line]
    assert checked.returncode == 1
    assert errors == [
        f'{where}:25: error: Incompatible types in assignment (expression has type "int", '
        'variable has type "str")  [assignment]',
        f'{where}:26: error: Incompatible types in assignment (expression has type "Ref[User]", '
        'variable has type "Ref[Project]")  [assignment]',
        f'{where}:27: error: Argument 1 to "to" of "Ref" has incompatible type "User"; expected '
        '"Project"  [arg-type]',
        f'{where}:28: error: Argument 1 to "get" of "ModelRepository" has incompatible type '
        '"Ref[Project]"; expected "Union[User, Ref[User], UUID, str]"  [arg-type]',
        f'{where}:29: error: Argument 1 to "create" of "ModelRepository" has incompatible type '
        '"Project"; expected "Task"  [arg-type]',
        f'{where}:30: error: Item "None" of "Optional[Task]" has no attribute "title"  '
        "[union-attr]",
        f'{where}:31: error: Incompatible types in assignment (expression has type '
        '"ModelList[Task]", variable has type "List[User]")  [assignment]',
        f'{where}:32: error: Incompatible types in assignment (expression has type '
        '"Optional[datetime]", variable has type "int")  [assignment]',
        f'{where}:33: error: No overload variant of "field" matches argument type "str"  '
        "[call-overload]",
    ]


def test_the_example_runs_and_prints_what_it_should(database_url: str) -> None:
    environment = dict(os.environ, DATABASE_URL=database_url)
    completed = subprocess.run(
        [sys.executable, str(EXAMPLE)], env=environment, capture_output=True, text=True, timeout=120
    )
    assert (completed.returncode, completed.stderr) == (0, "")
    assert completed.stdout == EXPECTED_EXAMPLE_OUTPUT


EXPECTED_EXAMPLE_OUTPUT = """\
paint (bridge): 1 points, due no date, tags ['outside']
roof (bridge): 3 points, due 2025-05-01, tags []
roof on the estimate branch: 8
v1 by ann: 3 points, changed ['title', 'project', 'points', 'due', 'tags']
v2 by ann: 8 points, changed ['points']
roof as first planned: 3
total budget: 100.00
refused: a second live 'roof' task in the bridge project
tasks after the cascade: 0
tasks counted by the async session: 0
"""


def test_the_docs_snippet_prints_what_the_docs_say(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_docs_snippet("Typed models", database_url, monkeypatch)
