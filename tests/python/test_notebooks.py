"""notebooks/01-quickstart.ipynb runs headless in a real Jupyter kernel (against this module's
database) and prints what its cells promise."""

from __future__ import annotations

import os
import pathlib
from typing import List

import nbclient
import nbformat

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "01-quickstart.ipynb"


def cell_text(cell: nbformat.NotebookNode) -> str:
    parts: List[str] = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
    return "".join(parts)


def test_quickstart_notebook_runs_and_prints_the_expected_outputs(database_url: str) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    environment = {
        "DATABASE_URL": database_url,
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    previous = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)  # the kernel process inherits this environment
    try:
        nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert cell_text(code_cells[0]) == "evcs 0.1.0\n"
    assert cell_text(code_cells[1]) == "after commit: 2\n"
    assert cell_text(code_cells[2]) == "inside the transaction: 3\nafter rollback: 2\n"
    assert cell_text(code_cells[3]) == (
        "rolled back to the savepoint: integrity_error 23505\nrows in the outer transaction: 3\n"
    )
    assert cell_text(code_cells[4]) == "async inserts: 10\n"
    assert cell_text(code_cells[5]) == "frame shape: (13, 3)\ntotal budget: 15760.50\n"
    html = code_cells[5].outputs[-1]["data"]["text/html"]
    assert html.startswith("<table><thead><tr><th>id</th><th>name</th><th>budget</th></tr></thead>")
    assert "<tr><td>1</td><td>apollo</td><td>1000.50</td></tr>" in html
    assert "more rows" not in html
