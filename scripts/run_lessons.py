#!/usr/bin/env python
"""Re-execute lessons in place, top to bottom in a fresh kernel, and store their outputs.

    python scripts/run_lessons.py                 # every lesson
    python scripts/run_lessons.py 00 03_kernels   # the lessons named (number or file name)

Run it after every change to a lesson (or to cnnkit) so that the stored outputs, which
nbval compares in the test suite, are current, and the slide layout too (scripts/slides.py).
Lessons always run in quick mode here.
Prints each lesson's wall time; exits non-zero if a lesson fails or takes 60 s or more.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slides  # noqa: E402  (scripts/slides.py: the slide layout, re-derived whenever a lesson is stored)

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
LIMIT_SECONDS = 60


def find_lessons(names: list[str]) -> list[Path]:
    every = sorted(LESSONS.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        stem = Path(name).stem
        hits = [p for p in every if p.stem == stem or p.stem.startswith(stem + "_") or p.stem[:2] == stem]
        if not hits:
            sys.exit(f"run_lessons: no lesson matches {name!r}; lessons are: {', '.join(p.stem for p in every)}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def tidy(nb) -> None:
    """Drop per-run metadata (execution timestamps) so that diffs show only real changes."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)


def run(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(LESSONS)}},
        store_widget_state=True,
        record_timing=False,
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        seconds = time.perf_counter() - start
        tidy(nb)
        slides.apply(nb)
        nbformat.write(nb, path)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*", help="lesson numbers or names (default: all)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds one cell may take (default 300)")
    args = parser.parse_args()
    os.environ["CNNKIT_FULL"] = "0"  # stored outputs are always quick mode
    os.environ["CNNKIT_PROGRESS"] = "0"  # no progress bar frozen at 0/N in the stored outputs
    os.environ["CNNKIT_CHECK_CLAIMS"] = "1"  # a claim its own measurement contradicts fails the run
    failed = 0
    for path in find_lessons(args.lessons):
        try:
            seconds = run(path, args.timeout)
        except CellExecutionError as exc:
            failed += 1
            print(f"FAIL  {path.name}: {str(exc).strip().splitlines()[-1]}")
            continue
        slow = seconds >= LIMIT_SECONDS
        failed += slow
        print(
            f"{'SLOW' if slow else 'ok':4}  {path.name}  {seconds:5.1f} s"
            + (f"  (limit {LIMIT_SECONDS} s)" if slow else "")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
