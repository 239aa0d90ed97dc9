"""Every exercise's hidden solution passes its own check, every recorded wrong answer
fails it, and the stored notebooks show the exercises unattempted.

An exercise is three cells: the answer cell (tag ``exercise``, a ``...`` placeholder),
the check cell right after it (tag ``check``), and a markdown cell after the check with
the solution inside ``<details>`` as a fenced python block. The answer cell's metadata
``wrong_answers`` lists plausible mistakes (``{"code": ..., "hint": ...}``): each must
get a ❌ from the check, and the check's output must contain ``hint`` where one is given.

Solutions and wrong answers only need the lesson's setup cell (tag ``setup``), so one
fresh kernel per lesson runs: setup, then for each exercise every wrong answer followed
by the check, then the solution followed by the check (so a later exercise can build on
an earlier solution).
"""

from __future__ import annotations

import functools
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


def wrong_answers(cell) -> list[dict]:
    return cell.get("metadata", {}).get("wrong_answers", [])


def stream_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def error_of(cell) -> str | None:
    for o in cell.outputs:
        if o.output_type == "error":
            return f"{o.ename}: {o.evalue}"
    return None


@functools.cache
def run_exercises(path: Path):
    """Run every wrong answer and the solution of each exercise through its check, in one kernel.

    Returns a list, per exercise, of (kind, code, expected hint, answer cell, check cell)
    with kind "wrong" or "solution".
    """
    nb = nbformat.read(path, as_version=4)
    setup = next(c for c in nb.cells if "setup" in tags(c))
    cells, plan = [nbformat.v4.new_code_cell(setup.source)], []
    for number, (answer, check, solution) in enumerate(exercises(nb), start=1):
        trials = [("wrong", w.get("code", ""), w.get("hint")) for w in wrong_answers(answer)]
        for kind, code, hint in [*trials, ("solution", solution, None)]:
            cells += [nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell(check.source)]
            plan.append((number, kind, code, hint, len(cells) - 2))
    run = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    NotebookClient(
        run,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    assert error_of(run.cells[0]) is None, f"{path.name}: the setup cell failed: {error_of(run.cells[0])}"
    return [(n, kind, code, hint, run.cells[i], run.cells[i + 1]) for n, kind, code, hint, i in plan]


def test_every_lesson_has_exercises():
    assert LESSONS, "no lessons found"
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        assert 2 <= len(exercises(nb)) <= 4, f"{path.name}: a lesson has 2-4 exercises"
        assert sum("setup" in tags(c) for c in nb.cells) == 1, f"{path.name}: exactly one cell must be tagged setup"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_exercise_records_wrong_answers(path):
    for number, (answer, _, solution) in enumerate(exercises(nbformat.read(path, as_version=4)), start=1):
        recorded = [w for w in wrong_answers(answer) if isinstance(w, dict) and str(w.get("code", "")).strip()]
        assert len(recorded) >= 3, f"{path.name}, exercise {number}: record at least 3 wrong answers"
        assert all(w["code"].strip() != solution.strip() for w in recorded), f"{path.name}, exercise {number}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_stored_checks_show_not_attempted(path):
    for _, check, _ in exercises(nbformat.read(path, as_version=4)):
        text = stream_text(check)
        assert "not attempted yet" in text, f"{path.name}: a stored check cell shows {text!r}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_solutions_pass_their_checks(path):
    for number, kind, _, _, answer, check in run_exercises(path):
        if kind != "solution":
            continue
        assert error_of(answer) is None, f"{path.name}, exercise {number}: the solution raised {error_of(answer)}"
        text = stream_text(check)
        passed = "✅" in text and "❌" not in text and "⏳" not in text  # every check in the cell must pass
        assert passed, f"{path.name}, exercise {number}: the solution does not pass its check: {text!r}"


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_wrong_answers_fail_their_checks(path):
    problems = []
    for number, kind, code, hint, answer, check in run_exercises(path):
        if kind != "wrong":
            continue
        text, first = stream_text(check), code.strip().splitlines()[0][:60]
        if error_of(answer) is not None:
            problems.append(f"exercise {number}, wrong answer {first!r} itself raised {error_of(answer)}")
        elif error_of(check) is not None:
            problems.append(f"exercise {number}, wrong answer {first!r}: the check raised {error_of(check)}")
        elif "❌" not in text or "✅" in text:
            problems.append(f"exercise {number}, wrong answer {first!r} is not rejected: {text.strip()!r}")
        elif hint and hint not in text:
            problems.append(f"exercise {number}, wrong answer {first!r} lacks the hint {hint!r}: {text.strip()!r}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
