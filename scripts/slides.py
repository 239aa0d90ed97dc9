#!/usr/bin/env python
"""Give every lesson its slide layout, so that it plays as a slideshow in JupyterLab.

    python scripts/slides.py            # write the slide metadata of every lesson
    python scripts/slides.py 08 12      # only these lessons
    python scripts/slides.py --check    # exit non-zero if a lesson's metadata is not what the rules give

The layout is derived from the lesson's structure, never written by hand, so that it stays
right when a lesson changes (``scripts/run_lessons.py`` applies it every time it stores a
lesson, and the test suite runs ``--check``). The rules, in ``slide_types``:

- the title cell and every ``##`` section start a new slide; a ``###`` part starts a
  sub-slide (below its section, in RISE's two-dimensional layout);
- a slide that grows past about ``MAX_LINES`` lines of source continues on a sub-slide
  at the next markdown cell, so that nothing runs off the bottom of a projected screen;
- inside a slide, code cells are fragments: they appear one click at a time, so the
  presenter runs each in front of the class;
- the setup cell and the exercise checkers (tags ``setup``, ``check``) are skipped: run the
  setup cell before you start the slideshow;
- a "For instructors" section (a heading of any level) is speaker notes (``notes``), up to
  the next heading of the same or a higher level: shown in the presenter's view, not on the
  projected slides.

The metadata is the standard ``cell.metadata.slideshow.slide_type`` (``slide``,
``subslide``, ``fragment``, ``-``, ``skip``, ``notes``) that RISE and ``jupyter nbconvert --to
slides`` read, plus the notebook option ``rise.scroll`` (``RISE_OPTIONS``): without it a
slide longer than the screen cannot be scrolled in RISE.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
MAX_LINES = 28  # source lines (plus a few per output) on one slide before it continues below
SKIPPED_TAGS = {"setup", "check"}
NOTES_HEADING = "for instructors"
RISE_OPTIONS = {"scroll": True}


def _heading(cell) -> tuple[int, str] | None:
    """(level, text) of a markdown cell that starts with a heading, else None."""
    if cell.cell_type != "markdown":
        return None
    first = cell.source.lstrip().split("\n", 1)[0]
    level = len(first) - len(first.lstrip("#"))
    if 1 <= level <= 6 and first[level : level + 1] == " ":
        return level, first[level:].strip()
    return None


def _height(cell) -> int:
    """A rough height in lines: the source, and a few lines for each output (a figure: 12)."""
    lines = cell.source.count("\n") + 1
    for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
        data = output.get("data", {})
        if "image/png" in data or "application/vnd.jupyter.widget-view+json" in data:
            lines += 12
        else:
            text = output.get("text", "") or "".join(data.get("text/plain", ""))
            lines += min(12, str(text).count("\n") + 1)
    return lines


def slide_types(nb) -> list[str]:
    """The slide type of every cell of ``nb`` by the rules in this module's docstring."""
    types, notes_level, used = [], None, MAX_LINES + 1
    for index, cell in enumerate(nb.cells):
        heading = _heading(cell)
        if heading and notes_level is not None and heading[0] <= notes_level:
            notes_level = None  # a heading as high as "For instructors" ends the notes
        if heading and heading[1].lower().startswith(NOTES_HEADING):
            notes_level = heading[0]
        tags = set(cell.metadata.get("tags", []))
        if notes_level is not None:
            kind = "notes"
        elif tags & SKIPPED_TAGS:
            kind = "skip"
        elif index == 0 or (heading and heading[0] <= 2):
            kind, used = "slide", 0
        elif heading or (cell.cell_type == "markdown" and used + _height(cell) > MAX_LINES):
            kind, used = "subslide", 0
        else:
            kind = "fragment" if cell.cell_type == "code" else "-"
        if kind not in ("notes", "skip"):
            used += _height(cell)
        types.append(kind)
    return types


def apply(nb) -> bool:
    """Write the slide types into ``nb``'s cells (and RISE's options into its metadata); True if anything changed."""
    changed = nb.metadata.get("rise") != RISE_OPTIONS
    nb.metadata["rise"] = dict(RISE_OPTIONS)
    for cell, kind in zip(nb.cells, slide_types(nb), strict=True):
        if cell.metadata.get("slideshow", {}).get("slide_type") != kind:
            cell.metadata["slideshow"] = {"slide_type": kind}
            changed = True
    return changed


def slide_count(nb) -> int:
    """Slides and sub-slides: the screens a presenter steps through (fragments not counted)."""
    return sum(kind in ("slide", "subslide") for kind in slide_types(nb))


def lessons(names) -> list[Path]:
    every = sorted(LESSONS.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = [p for p in every if any(p.stem == n or p.stem[:2] == n for n in names)]
    if len(chosen) < len(names):
        sys.exit(f"slides: not every name matches a lesson; lessons are: {', '.join(p.stem for p in every)}")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*", help="lesson numbers or names (default: all)")
    parser.add_argument("--check", action="store_true", help="only report lessons whose metadata is out of date")
    args = parser.parse_args()
    stale = []
    for path in lessons(args.lessons):
        nb = nbformat.read(path, as_version=4)
        if apply(nb):
            stale.append(path.name)
            if not args.check:
                nbformat.write(nb, path)
        print(f"{path.name}: {slide_count(nb)} slides")
    if args.check and stale:
        print(f"slide metadata out of date in: {', '.join(stale)}. Run `python scripts/slides.py`.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
