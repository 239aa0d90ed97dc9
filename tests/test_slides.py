"""Slide metadata (scripts/slides.py): derived from each lesson's structure, and current."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import slides  # noqa: E402

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


def _notebook():
    setup = new_code_cell("import cnnkit")
    setup.metadata["tags"] = ["setup"]
    check = new_code_cell("checks.check_value(x, 1)")
    check.metadata["tags"] = ["check"]
    long_text = "\n".join(f"line {i}" for i in range(slides.MAX_LINES))
    return new_notebook(
        cells=[
            new_markdown_cell("# 99 · Title\n\nObjectives"),
            new_markdown_cell("## Setup"),
            setup,
            new_markdown_cell("## 1. A section\n\nText."),
            new_code_cell("print(1)"),
            new_markdown_cell("More text."),
            new_markdown_cell(long_text),
            new_markdown_cell("### A part"),
            check,
            new_markdown_cell("## For instructors\n\nTiming: 10 minutes."),
            new_code_cell("# a demo knob"),
            new_markdown_cell("## Summary"),
        ]
    )


def test_slide_types_follow_the_lessons_structure():
    assert slides.slide_types(_notebook()) == [
        "slide",  # title
        "slide",  # ## Setup
        "skip",  # setup cell
        "slide",  # ## 1.
        "fragment",  # code runs one click at a time
        "-",  # text continues the slide
        "subslide",  # too long for the same screen
        "subslide",  # ### part
        "skip",  # checker
        "notes",  # For instructors
        "notes",  # ... and everything in that section
        "slide",  # the next section ends the notes
    ]


def test_apply_writes_standard_metadata_once():
    nb = _notebook()
    assert slides.apply(nb) is True
    assert nb.cells[4].metadata["slideshow"] == {"slide_type": "fragment"}
    assert nb.metadata["rise"] == {"scroll": True}  # long slides scroll in RISE
    assert slides.apply(nb) is False  # already current
    assert slides.slide_count(nb) == 6


def test_instructor_notes_at_a_lower_level_end_at_the_next_heading_as_high():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# T"),
            new_markdown_cell("## Summary"),
            new_markdown_cell("### For instructors\n\nTiming."),
            new_markdown_cell("#### Demo"),
            new_markdown_cell("### References"),
        ]
    )
    assert slides.slide_types(nb) == ["slide", "slide", "notes", "notes", "subslide"]


def test_a_heading_needs_a_space_and_hashes_in_text_are_not_headings():
    nb = new_notebook(cells=[new_markdown_cell("# T"), new_markdown_cell("#hashtag"), new_markdown_cell("a ## b")])
    assert slides.slide_types(nb) == ["slide", "-", "-"]


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_lesson_has_current_slide_metadata(path):
    nb = nbformat.read(path, as_version=4)
    assert not slides.apply(nb), f"{path.name}: slide metadata out of date; run `python scripts/slides.py`"
    assert slides.slide_count(nb) >= 8, f"{path.name}: suspiciously few slides"
