"""The lessons in a real JupyterLab, in headless Chromium (scripts/browser_check.py).

First the checker itself, on four small fixture notebooks: it passes a working widget and
fails an error cell, a widget that cannot render, and a widget that ignores its control.
Then every lesson with a widget is run in the browser: no error, every widget rendered,
and each widget's picture changes when one of its controls is moved.

These tests need Chromium (`apt install chromium`); without it they are skipped with the
reason, unless CNNKIT_REQUIRE_BROWSER=1 (set by CI), which turns a missing browser into a failure.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import browser_check  # noqa: E402
import slides  # noqa: E402

_NICE = {"done": False}


def _require_browser():
    if not _NICE["done"]:
        # The browser tests run JupyterLab, kernels and Chromium beside the timed lessons (nbval on
        # the other worker, 60 s each): lower this worker's priority, and so of everything it
        # starts, so that the lessons' timing measures the lessons.
        _NICE["done"] = True
        with contextlib.suppress(OSError, AttributeError):
            os.nice(10)
    try:
        browser_check.find_chromium()
        import playwright.sync_api  # noqa: F401
    except (browser_check.BrowserUnavailable, ImportError) as exc:
        if os.environ.get("CNNKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser tests are required here but cannot run: {exc}")
        pytest.skip(f"no browser for the JupyterLab tests: {exc}")


SETUP = "import ipywidgets as w\nimport matplotlib.pyplot as plt\nfrom cnnkit.widgets import Panel\n"
PANEL = """
def render(n):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(range(10), [{expr} for x in range(10)])
    ax.set_title("{title}")

Panel({{"n": w.IntSlider(value=1, min=0, max=9, description="n", continuous_update=False)}}, render)
"""
FIXTURES = {
    "good": [SETUP, PANEL.format(expr="n * x", title="slope n")],
    "error": [SETUP, "1 / 0", "print('never reached')"],
    "broken": [
        "import ipywidgets as w\nfrom traitlets import Unicode\n\n\nclass Broken(w.DOMWidget):\n"
        "    _view_name = Unicode('BrokenView').tag(sync=True)\n"
        "    _view_module = Unicode('no-such-widget-module').tag(sync=True)\n"
        "    _view_module_version = Unicode('1.0.0').tag(sync=True)\n\n\nBroken()"
    ],
    "frozen": [SETUP, PANEL.format(expr="x", title="ignores n")],
}
MARKDOWN = {  # a markdown cell before the code: math that renders, and math that MathJax cannot parse
    "good": "## A slide\n\nThe slope is $n = \\frac{\\Delta y}{\\Delta x}$.",
    "broken": "## A slide\n\nUnparseable math: $\\frac{1}{$ and $x^{2$.",
}


@pytest.fixture(scope="module")
def fixture_outcomes(tmp_path_factory):
    _require_browser()
    folder = tmp_path_factory.mktemp("fixtures")
    paths = []
    for name, sources in FIXTURES.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        if name in MARKDOWN:
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(MARKDOWN[name]))
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        paths.append(folder / f"{name}.ipynb")
        nbformat.write(nb, paths[-1])
    outcomes = browser_check.run(paths, screenshots=folder / "shots", slides=True)
    return {Path(o.notebook).stem: o for o in outcomes}


def test_a_working_widget_passes_and_responds(fixture_outcomes):
    good = fixture_outcomes["good"]
    assert good.ok, good.problems
    assert (good.widgets, good.moved) == (1, 1)
    assert good.screenshot.is_file() and good.screenshot.stat().st_size > 10_000


def test_a_working_widget_renders_and_responds_in_the_slideshow_too(fixture_outcomes):
    good = fixture_outcomes["good"]
    assert good.slides == 1 and (good.slide_widgets, good.slide_moved) == (1, 1), good
    assert good.slide_screenshot.is_file()


def test_a_slideshow_with_math_mathjax_cannot_render_fails(fixture_outcomes):
    broken = fixture_outcomes["broken"]
    math = [p for p in broken.problems if p.startswith("slideshow: math left unrendered") or "MathJax error" in p]
    assert math, broken.problems
    assert any("slideshow: a widget did not render" in p for p in broken.problems), broken.problems


def test_an_error_cell_fails(fixture_outcomes):
    error = fixture_outcomes["error"]
    assert not error.ok
    assert any("ZeroDivisionError" in p for p in error.problems), error.problems


def test_a_widget_that_cannot_render_fails(fixture_outcomes):
    broken = fixture_outcomes["broken"]
    assert not broken.ok
    assert any("did not render" in p for p in broken.problems), broken.problems


def test_a_widget_that_ignores_its_control_fails(fixture_outcomes):
    frozen = fixture_outcomes["frozen"]
    assert not frozen.ok
    assert any("did not change" in p for p in frozen.problems), frozen.problems


WIDGET_LESSONS = browser_check.find_notebooks([])


def test_the_lessons_with_widgets_are_found():
    names = [p.name for p in WIDGET_LESSONS]
    assert "00_start_here.ipynb" in names and "02_convolution_arithmetic.ipynb" in names, names


@pytest.fixture(scope="module")
def lesson_outcomes():
    _require_browser()
    return {o.notebook: o for o in browser_check.run(WIDGET_LESSONS, slides=True)}


@pytest.mark.parametrize("lesson", [p.name for p in WIDGET_LESSONS])
def test_lesson_runs_and_its_widgets_respond_in_jupyterlab(lesson_outcomes, lesson):
    outcome = lesson_outcomes[lesson]
    assert outcome.ok, f"{lesson}: " + "; ".join(outcome.problems)
    assert outcome.widgets >= 1 and outcome.moved >= 1
    assert outcome.screenshot is not None and outcome.screenshot.is_file()


@pytest.mark.parametrize("lesson", [p.name for p in WIDGET_LESSONS])
def test_lesson_plays_as_slides_with_live_widgets(lesson_outcomes, lesson):
    outcome = lesson_outcomes[lesson]  # (the slideshow's problems are in outcome.problems too)
    assert outcome.slides == slides.slide_count(nbformat.read(ROOT / "lessons" / lesson, as_version=4))
    assert outcome.slide_widgets >= outcome.widgets and outcome.slide_moved >= 1, outcome
    assert outcome.slide_screenshot is not None and outcome.slide_screenshot.is_file()


OTHER_LESSONS = [p for p in sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb")) if p not in WIDGET_LESSONS]


@pytest.fixture(scope="module")
def slideshow_outcomes():
    _require_browser()
    return {o.notebook: o for o in browser_check.run(OTHER_LESSONS, slides=True, execute=False)}


@pytest.mark.parametrize("lesson", [p.name for p in OTHER_LESSONS])
def test_lesson_without_widgets_plays_as_slides(slideshow_outcomes, lesson):
    outcome = slideshow_outcomes[lesson]
    assert outcome.ok, f"{lesson}: " + "; ".join(outcome.problems)
    assert outcome.slides == slides.slide_count(nbformat.read(ROOT / "lessons" / lesson, as_version=4))
    assert outcome.slide_screenshot is not None and outcome.slide_screenshot.is_file()
