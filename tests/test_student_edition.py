"""scripts/student_edition.py: the copy of the course for a class.

On the real lessons: no solution and no wrong answer survives, the exercise and check
cells are cleared, every other cell is byte for byte the original, the files a learner
needs are there (and the tests are not), and one copied lesson runs top to bottom with
the copy's own cnnkit. On a small made-up course: the refusals and ``--force``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import student_edition as se  # noqa: E402

LESSONS = sorted((ROOT / "lessons").glob(se.LESSON_GLOB))
SOLUTION = re.compile(r"<details>.*?```python\n(.*?)```.*?</details>", re.S)  # as tests/test_solutions.py finds them
RUN_LESSON = "04"  # one of the fastest lessons to execute (about 15 s on one thread)


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def as_json(node) -> str:
    return json.dumps(node, sort_keys=True, ensure_ascii=False)


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("edition") / "students"
    summary = se.write_edition(out)
    return out, summary


def test_every_notebook_is_copied_and_counted(edition):
    out, summary = edition
    assert [p.name for p in sorted((out / "lessons").glob("*.ipynb"))] == [p.name for p in LESSONS]
    originals = [nbformat.read(p, as_version=4) for p in LESSONS]
    exercises = sum("exercise" in tags(c) for nb in originals for c in nb.cells)
    assert summary.notebooks == len(LESSONS)
    assert summary.solutions == exercises and summary.wrong_answer_lists == exercises
    assert summary.cleared_cells == 2 * exercises  # every exercise cell and its check cell
    assert 1 < summary.megabytes < 100


def test_no_solution_and_no_wrong_answer_survives(edition):
    out, _ = edition
    for path in sorted((out / "lessons").glob("*.ipynb")):
        raw = path.read_text(encoding="utf-8")
        assert "wrong_answers" not in raw, f"{path.name}: wrong answers left in the copy"
        assert "<b>Solution</b>" not in raw, f"{path.name}: a solution heading left in the copy"
        for cell in nbformat.reads(raw, as_version=4).cells:
            if cell.cell_type == "markdown":
                assert not SOLUTION.search(cell.source), f"{path.name}: a solution block left in the copy"


def test_exercise_cells_cleared_and_everything_else_unchanged(edition):
    out, _ = edition
    for path in LESSONS:
        original = nbformat.read(path, as_version=4)
        copy = nbformat.read(out / "lessons" / path.name, as_version=4)
        assert as_json(copy.metadata) == as_json(original.metadata), path.name
        assert [c.id for c in copy.cells] == [c.id for c in original.cells], f"{path.name}: cells added or dropped"
        for before, after in zip(original.cells, copy.cells, strict=True):
            where = f"{path.name}, cell {before.id}"
            if before.cell_type == "code" and ({"exercise", "check"} & set(tags(before))):
                assert after.outputs == [] and after.execution_count is None, where
                assert after.source == before.source and tags(after) == tags(before), where
                assert "wrong_answers" not in after.metadata, where
            elif before.cell_type == "markdown" and SOLUTION.search(before.source):
                expected = re.sub(r"\s*<details>.*?</details>\s*", "\n\n", before.source, flags=re.S).strip()
                assert after.source == expected and expected, where  # the next exercise's text stays
                assert as_json(after.metadata) == as_json(before.metadata), where
            else:
                assert as_json(after) == as_json(before), f"{where} changed"


def test_the_copy_holds_what_a_learner_needs_and_no_tests(edition):
    out, _ = edition
    for name in (
        "requirements.txt",
        "pyproject.toml",
        "LICENSE",
        "data/mnist_5k.csv.gz",
        "results/shootout_quick.json",
    ):
        assert (out / name).read_bytes() == (ROOT / name).read_bytes(), name
    for source in (ROOT / "cnnkit").glob("*.py"):
        assert (out / "cnnkit" / source.name).read_bytes() == source.read_bytes(), source.name
    assert sorted(p.name for p in (out / "scripts").iterdir()) == ["data_parallel.py", "shootout.py"]
    assert (out / "README.md").read_text(encoding="utf-8") == se.NOTE + (ROOT / "README.md").read_text(encoding="utf-8")
    for absent in ("tests", ".ci", "conftest.py", ".venv", "cnnkit/__pycache__", "cnnkit.egg-info"):
        assert not (out / absent).exists(), absent


def test_a_copied_lesson_runs_top_to_bottom_with_the_copys_cnnkit(edition):
    out, _ = edition
    assert out.resolve() in se.imported_cnnkit(out).parents
    results = se.check_edition(out, [RUN_LESSON])
    assert len(results) == 1 and list(results.values()) == [None], results


# The refusals, on a small made-up course --------------------------------------------------------------------


@pytest.fixture
def course(tmp_path):
    root = tmp_path / "course"
    (root / "lessons").mkdir(parents=True)
    (root / "cnnkit").mkdir()
    (root / "cnnkit" / "__init__.py").write_text("")
    (root / "README.md").write_text("# Course\n")
    exercise = nbformat.v4.new_code_cell(
        "x = ...", metadata={"tags": ["exercise"], "wrong_answers": [{"code": "x = 1"}]}
    )
    check = nbformat.v4.new_code_cell("print(x)", metadata={"tags": ["check"]}, execution_count=3)
    check.outputs = [nbformat.v4.new_output("stream", text="⏳ not attempted yet\n")]
    cells = [
        exercise,
        check,
        nbformat.v4.new_markdown_cell(
            "<details><summary><b>Solution</b></summary>\n\n```python\nx = 2\n```\n</details>"
        ),
        nbformat.v4.new_markdown_cell(
            "Before.\n\n<details><summary>Solution</summary>\n\n```python\nx = 2\n```\n</details>"
        ),
        nbformat.v4.new_markdown_cell("<details><summary>For instructors</summary>\n\nNotes.\n</details>"),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), root / "lessons" / "00_tiny.ipynb")
    return root


def test_a_small_course_is_stripped(course, tmp_path):
    summary = se.write_edition(tmp_path / "out", root=course)
    nb = nbformat.read(tmp_path / "out" / "lessons" / "00_tiny.ipynb", as_version=4)
    assert (summary.solutions, summary.wrong_answer_lists, summary.cleared_cells) == (2, 1, 2)
    assert [c.source for c in nb.cells[2:]] == [
        "Before.",  # a cell holding only a solution is dropped; other <details> (notes) stay
        "<details><summary>For instructors</summary>\n\nNotes.\n</details>",
    ]
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None


@pytest.mark.parametrize("where", ["lessons/copy", ".", ".."])
def test_refuses_a_folder_inside_or_around_the_course(course, where, capsys):
    target = course / where
    assert se.main([str(target)], root=course) == 2
    message = capsys.readouterr().err
    assert "the course" in message and "outside the course" in message
    assert not (course / "lessons" / "copy").exists()


def test_refuses_a_folder_that_is_not_empty_unless_forced(course, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "lessons").mkdir(parents=True)
    (out / "lessons" / "stale.ipynb").write_text("{}")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(se.EditionError, match="--force"):
        se.write_edition(out, root=course)
    assert se.main([str(out)], root=course) == 2 and "not empty" in capsys.readouterr().err
    se.write_edition(out, force=True, root=course)
    assert sorted(p.name for p in (out / "lessons").iterdir()) == ["00_tiny.ipynb"]  # the edition's folders replaced
    assert (out / "notes.txt").read_text() == "mine"  # anything else left alone
    (tmp_path / "file").write_text("")
    with pytest.raises(se.EditionError, match="not a folder"):
        se.write_edition(tmp_path / "file", force=True, root=course)
