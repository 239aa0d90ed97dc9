#!/usr/bin/env python
"""Write a copy of the course for a class: the lessons without their solutions.

    python scripts/student_edition.py OUT_DIR            # write the student edition into OUT_DIR
    python scripts/student_edition.py OUT_DIR --check    # ... then run every copied lesson top to bottom
    python scripts/student_edition.py OUT_DIR --force    # OUT_DIR exists: replace the edition's files in it

In every notebook of ``lessons/`` the copy

- removes each exercise's solution (the markdown ``<details><summary><b>Solution</b>…</details>``
  block; the rest of that markdown cell — usually the next exercise's text — stays);
- removes the ``wrong_answers`` metadata of the exercise cells (the recorded mistakes and
  their hints are test data, and a list of wrong answers points at the right one);
- clears the outputs and execution counts of the ``exercise`` and ``check`` cells;

and leaves every other cell exactly as it is, outputs included, so that the copy shows the
lessons' figures and tables before a learner runs anything.

Besides the notebooks the copy holds what a learner needs to install and run them:
``cnnkit/`` and ``pyproject.toml`` (``requirements.txt`` installs cnnkit from the folder
with ``-e .``), ``requirements.txt``, ``data/`` (the bundled digits and photos),
``README.md`` (with a note on top saying what this copy is), ``LICENSE`` (the MIT licence
asks for it in every copy), the scripts that a lesson runs (found in the lessons' code:
``scripts/shootout.py`` for lesson 16, ``scripts/data_parallel.py`` for lesson 17) and
``results/`` (lesson 16 reads the shoot-out's stored results). The tests, CI files and
the other maintenance scripts stay out.

``--check`` executes every copied notebook in a fresh kernel (quick mode,
``CNNKIT_PROGRESS=0``), with the copy's own ``cnnkit`` first on the path, and reports
each lesson as ok or failed at which cell. "Runs" means what a learner sees who opens
the copy and runs every cell before answering anything: each check cell prints
"⏳ … not attempted yet" for its ``...`` or ``raise NotImplementedError`` placeholder
(cnnkit.checks never raises), and no cell ends with an error. A lesson whose later cells
needed an exercise's answer would fail here. The executed notebooks are not stored: the
copy stays as written.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
# A solution: a <details> block whose summary says "Solution", with the blank lines around it.
SOLUTION_BLOCK = re.compile(
    r"\s*<details>\s*<summary>(?:(?!</summary>).)*?solution(?:(?!</summary>).)*?</summary>.*?</details>\s*",
    re.S | re.I,
)
CLEARED_TAGS = ("exercise", "check")
# What the copy holds besides lessons/ and the scripts the lessons run (folders are copied whole).
COPIED = ("cnnkit", "data", "results", "README.md", "LICENSE", "requirements.txt", "pyproject.toml", ".gitignore")
# Build leftovers, and full mode's downloads in data/ (hundreds of MB; cnnkit fetches them again when asked).
IGNORED = shutil.ignore_patterns(
    "__pycache__",
    "*.pyc",
    ".ipynb_checkpoints",
    "*.egg-info",
    "MNIST",
    "FashionMNIST",
    "cifar-10-batches-py",
    "*.tar.gz",
)
NOTE = """> **Student edition.** This copy of the course was written for a class by
> `scripts/student_edition.py`: the exercises' solutions are not included (each exercise
> checks your answer itself), and the course's test suite and maintenance scripts are not
> part of it: `pytest` and the sections on testing and contributing do not apply here.

"""


class EditionError(Exception):
    """The edition cannot be written as asked; the message says what to do instead."""


@dataclass
class Summary:
    notebooks: int = 0
    solutions: int = 0
    wrong_answer_lists: int = 0
    cleared_cells: int = 0
    files: list[str] = field(default_factory=list)
    megabytes: float = 0.0


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def strip_notebook(nb) -> tuple[int, int, int]:
    """Remove solutions and wrong answers, clear exercise and check outputs, in place.

    Returns (solutions removed, wrong-answer lists removed, cells cleared). A markdown
    cell that held nothing but a solution is dropped.
    """
    solutions = wrong = cleared = 0
    kept = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            source, found = SOLUTION_BLOCK.subn("\n\n", cell.source)
            if found:
                solutions += found
                cell.source = source.strip()
                if not cell.source:
                    continue
        if "wrong_answers" in cell.get("metadata", {}):
            del cell.metadata["wrong_answers"]
            wrong += 1
        if cell.cell_type == "code" and any(t in tags(cell) for t in CLEARED_TAGS):
            cell.outputs = []
            cell.execution_count = None
            cleared += 1
        kept.append(cell)
    nb.cells = kept
    return solutions, wrong, cleared


def lesson_scripts(lessons: list[Path], root: Path = ROOT) -> list[Path]:
    """The scripts in ``scripts/`` that a lesson's code names (``"shootout.py"`` or ``import shootout``)."""
    code = "\n".join(
        cell.source for path in lessons for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"
    )
    return [
        script
        for script in sorted((root / "scripts").glob("*.py"))
        if script.name in code or re.search(rf"^\s*(?:import|from)\s+{re.escape(script.stem)}\b", code, re.M)
    ]


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def check_target(out: Path, force: bool, root: Path = ROOT) -> Path:
    """The resolved output folder, or an EditionError saying why it cannot be used."""
    out = out.expanduser().resolve()
    root = root.resolve()
    if _overlaps(out, root):
        where = "inside the course" if root in out.parents or out == root else "around the course"
        raise EditionError(
            f"{out} is {where} ({root}). Write the student edition to a folder outside the course, "
            f"for example: python scripts/student_edition.py {root.parent / 'cnn-course-students'}"
        )
    if out.exists() and not out.is_dir():
        raise EditionError(f"{out} exists and is not a folder. Choose another OUT_DIR.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise EditionError(
            f"{out} exists and is not empty. Choose a new or empty folder, or add --force to replace "
            "the edition's files in it (lessons/, cnnkit/, data/, scripts/, results/, README.md, ...; "
            "nothing else in the folder is touched)."
        )
    return out


def _replace(source: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    if source.is_dir():
        shutil.copytree(source, target, ignore=IGNORED)
    else:
        shutil.copy2(source, target)


def write_edition(out: Path, force: bool = False, root: Path = ROOT) -> Summary:
    """Write the student edition of the course at ``root`` into ``out``; return what was done."""
    out = check_target(out, force, root)
    lessons = sorted((root / "lessons").glob(LESSON_GLOB))
    if not lessons:
        raise EditionError(f"no lessons found in {root / 'lessons'}")
    out.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    for name in COPIED:
        if (root / name).exists():
            _replace(root / name, out / name)
            summary.files.append(name)
    readme = out / "README.md"
    if readme.is_file():
        readme.write_text(NOTE + readme.read_text(encoding="utf-8"), encoding="utf-8")
    scripts = lesson_scripts(lessons, root)
    if (out / "scripts").exists():
        shutil.rmtree(out / "scripts")
    if scripts:
        (out / "scripts").mkdir()
        for script in scripts:
            shutil.copy2(script, out / "scripts" / script.name)
            summary.files.append(f"scripts/{script.name}")
    if (out / "lessons").exists():
        shutil.rmtree(out / "lessons")
    (out / "lessons").mkdir()
    for path in lessons:
        nb = nbformat.read(path, as_version=4)
        solutions, wrong, cleared = strip_notebook(nb)
        nbformat.write(nb, out / "lessons" / path.name)
        summary.notebooks += 1
        summary.solutions += solutions
        summary.wrong_answer_lists += wrong
        summary.cleared_cells += cleared
    summary.files.append("lessons")
    written = [out / f for f in summary.files]
    size = sum(p.stat().st_size for top in written for p in ([top] if top.is_file() else top.rglob("*")) if p.is_file())
    summary.megabytes = size / 1e6
    return summary


# --check ---------------------------------------------------------------------------------------------------


def kernel_env(out: Path) -> dict[str, str]:
    """The environment a copied lesson runs in: quick mode, no progress bars, the copy's cnnkit first."""
    env = dict(os.environ, CNNKIT_FULL="0", CNNKIT_PROGRESS="0")
    env.pop("CNNKIT_DATA", None)  # the copy's own data/
    env["PYTHONPATH"] = os.pathsep.join([str(out), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def imported_cnnkit(out: Path) -> Path:
    """Where ``import cnnkit`` finds the package in the copy's environment (it must be the copy's)."""
    done = subprocess.run(
        [sys.executable, "-c", "import cnnkit; print(cnnkit.__file__)"],
        env=kernel_env(out),
        cwd=out / "lessons",
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip()).resolve()


def run_notebook(path: Path, out: Path, timeout: int = 300) -> str | None:
    """Execute one copied notebook top to bottom; None when it ran to the end, else what failed."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    try:
        client.execute(env=kernel_env(out))
    except CellExecutionError as exc:
        index = next(
            (i for i, c in enumerate(nb.cells) if any(o.output_type == "error" for o in c.get("outputs", []))), None
        )
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        return f"cell {index}: {last}"
    except Exception as exc:  # a timeout, a dead kernel
        return f"{type(exc).__name__}: {exc}"
    untouched = [
        i
        for i, c in enumerate(nb.cells)
        if "check" in tags(c) and "not attempted yet" not in "".join(o.get("text", "") for o in c.outputs)
    ]
    if untouched:
        return f"check cell(s) {untouched} did not say 'not attempted yet'"
    return None


def check_edition(out: Path, names: list[str] | None = None, timeout: int = 300) -> dict[str, str | None]:
    """Run the copied lessons (all, or those whose file name starts with one of ``names``); name -> failure."""
    found = imported_cnnkit(out)
    if out.resolve() not in found.parents:
        raise EditionError(f"the copy's kernel imports cnnkit from {found}, not from the copy {out}")
    paths = sorted((out / "lessons").glob(LESSON_GLOB))
    if names:
        paths = [p for p in paths if any(p.name.startswith(n) for n in names)]
    results = {}
    for path in paths:
        start = time.perf_counter()
        results[path.name] = problem = run_notebook(path, out, timeout)
        print(f"{'ok' if problem is None else 'FAIL':4}  {path.name}  {time.perf_counter() - start:5.1f} s", end="")
        print(f"  {problem}" if problem else "", flush=True)
    return results


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, metavar="OUT_DIR", help="where to write the copy (outside the course)")
    parser.add_argument("--force", action="store_true", help="OUT_DIR may exist and hold files: replace the edition's")
    parser.add_argument("--check", action="store_true", help="then execute every copied lesson top to bottom")
    parser.add_argument("--timeout", type=int, default=300, help="seconds one cell may take in --check (default 300)")
    args = parser.parse_args(argv)
    try:
        summary = write_edition(args.out, force=args.force, root=root)
    except EditionError as exc:
        print(f"student_edition: {exc}", file=sys.stderr)
        return 2
    out = args.out.expanduser().resolve()
    print(
        f"wrote the student edition to {out}: {summary.notebooks} notebooks, {summary.solutions} solutions removed, "
        f"{summary.wrong_answer_lists} wrong-answer lists removed, {summary.cleared_cells} exercise/check cells "
        f"cleared; {summary.megabytes:.1f} MB ({', '.join(summary.files)})"
    )
    if not args.check:
        return 0
    print(f"running the {summary.notebooks} copied lessons (quick mode, cnnkit from {imported_cnnkit(out).parent})")
    results = check_edition(out, timeout=args.timeout)
    failed = [name for name, problem in results.items() if problem]
    print(
        f"{len(results) - len(failed)} of {len(results)} lessons ran top to bottom"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
