"""Every exercise's hidden solution passes its own check, and the stored notebooks
show the exercises unattempted.

An exercise is three cells: the answer cell (tag ``exercise``, a ``...`` placeholder),
the check cell right after it (tag ``check``), and a markdown cell after the check with
the solution inside ``<details>`` as a fenced python block. Solutions only need the
lesson's setup cell (tag ``setup``), so this test runs just those cells in a fresh
kernel: setup, then each solution followed by its check.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

LESSONS = sorted((Path(__file__).resolve().parent.parent / "lessons").glob("[0-9][0-9]_*.ipynb"))
SOLUTION = re.compile(r"<details>.*?```python\n(.*?)```.*?</details>", re.S)


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def exercises(nb):
    """(answer cell, check cell, solution source) for each exercise of a notebook."""
    found = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        if "exercise" not in tags(cell):
            continue
        check = cells[i + 1] if i + 1 < len(cells) else None
        assert check is not None and "check" in tags(check), f"cell {i}: an exercise must be followed by a check cell"
        solution = next((c for c in cells[i + 2 :] if c.cell_type == "markdown" and "<details>" in c.source), None)
        match = SOLUTION.search(solution.source) if solution is not None else None
        assert match, f"cell {i}: no <details> block with a python solution after the check cell"
        found.append((cell, check, match.group(1)))
    return found


def test_every_lesson_has_exercises():
    assert LESSONS, "no lessons found"
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        assert 2 <= len(exercises(nb)) <= 4, f"{path.name}: a lesson has 2-4 exercises"
        assert sum("setup" in tags(c) for c in nb.cells) == 1, f"{path.name}: exactly one cell must be tagged setup"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_stored_checks_show_not_attempted(path):
    for _, check, _ in exercises(nbformat.read(path, as_version=4)):
        text = "".join(o.get("text", "") for o in check.outputs if o.output_type == "stream")
        assert "not attempted yet" in text, f"{path.name}: a stored check cell shows {text!r}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_solutions_pass_their_checks(path):
    nb = nbformat.read(path, as_version=4)
    setup = next(c for c in nb.cells if "setup" in tags(c))
    cells = [nbformat.v4.new_code_cell(setup.source)]
    for _, check, solution in exercises(nb):
        cells += [nbformat.v4.new_code_cell(solution), nbformat.v4.new_code_cell(check.source)]
    run = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    NotebookClient(
        run, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    for number, cell in enumerate(run.cells[2::2], start=1):
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        passed = "✅" in text and "❌" not in text and "⏳" not in text  # every check in the cell must pass
        assert passed, f"{path.name}, exercise {number}: the solution does not pass its check: {text!r}"
