#!/usr/bin/env python
"""Run lessons in a real JupyterLab, in headless Chromium, the way a learner meets them.

    python scripts/browser_check.py                 # every lesson that shows a widget
    python scripts/browser_check.py --all           # every lesson
    python scripts/browser_check.py 02 03           # the lessons named (number or file name)

For each notebook it opens JupyterLab's page, runs all cells, and fails when:

- a cell ends with an error output;
- a widget does not render ("Error displaying widget", a widget stuck on "Loading widget…",
  or JupyterLab's "Click to show javascript error" box);
- a widget's picture does not change when one of its controls is moved (each widget panel
  gets its first slider nudged by the keyboard, or its first drop-down changed).

With ``--slides`` it then opens the same notebook as a live slideshow (jupyterlab-rise; the
slideshow joins the running kernel) and steps through every slide and fragment, failing on
a markdown cell that renders blank, math that MathJax left as text, a widget that does not
render in the slides, and a widget whose picture does not change when its slider is dragged
with the mouse (in a slideshow the arrow keys turn the slide). It saves one screenshot per
lesson of a slide with math and a figure.

One screenshot per notebook (PNG, scrolled to the first widget) goes to
``artifacts/browser/`` (``--screenshots`` to change). JupyterLab runs on 127.0.0.1 on a
free port with a random token, with home, config, data and runtime folders in a
throwaway directory, on a copy of the notebooks (nothing in the repo or your home is
written). Every process it starts is stopped at the end.

Needs the ``playwright`` Python package (in requirements.txt) and a Chromium browser:
Debian/Ubuntu ``apt install chromium`` (set ``CHROMIUM=/path/to/chrome`` if it lives
elsewhere). Playwright's own browser download is not needed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
BROKEN_WIDGET_TEXTS = ("Error displaying widget", "Loading widget", "Click to show javascript error")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SETTLE_SECONDS = 1.5  # the notebook counts as settled after this long idle with no DOM change


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing: say how to install them."""


@dataclass
class Outcome:
    notebook: str
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    widgets: int = 0
    moved: int = 0
    screenshot: Path | None = None
    seconds: float = 0.0
    slides: int = 0  # with --slides: the slides and sub-slides stepped through
    slide_widgets: int = 0  # widget views that rendered inside the slideshow
    slide_moved: int = 0  # of those, how many changed their picture when a slider was dragged
    slide_reruns: int = 0  # widget cells that had to be run again inside the slideshow to show
    slide_screenshot: Path | None = None

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)


def find_chromium() -> str:
    candidates = [os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")]
    candidates += [shutil.which("google-chrome"), "/usr/bin/chromium"]
    for path in candidates:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    raise BrowserUnavailable(
        "no Chromium browser found. Install it (Debian/Ubuntu: `sudo apt install chromium`) or set "
        "CHROMIUM=/path/to/chromium."
    )


def has_widget(path: Path) -> bool:
    """Whether the stored notebook displays one of the course's widgets (``widgets.…`` in the cell)."""
    nb = json.loads(path.read_text())
    return any(
        WIDGET_MIME in output.get("data", {}) and "widgets." in "".join(cell["source"])
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
    )  # (a progress bar is a widget too, but it is gone when training ends: only cnnkit.widgets count)


def find_notebooks(names: list[str], every: bool = False) -> list[Path]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from run_lessons import find_lessons

    found = find_lessons(names)
    return found if names or every else [p for p in found if has_widget(p)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(notebooks: list[Path], workdir: Path):
    """A JupyterLab server on a copy of ``notebooks``; yields (base url, token, folder)."""
    folder = workdir / "notebooks"
    folder.mkdir()
    for path in notebooks:
        shutil.copy(path, folder / path.name)
    home = workdir / "home"
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        MPLCONFIGDIR=str(home / "matplotlib"),
        CNNKIT_FULL="0",
    )
    for key in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    labconfig = home / "config" / "labconfig"  # no "get Jupyter news?" pop-up over the screenshots
    labconfig.mkdir(parents=True)
    disabled = {"@jupyterlab/apputils-extension:announcements": True}
    (labconfig / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}))
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
        "--LabApp.expose_app_in_browser=True", "--ServerApp.port_retries=0",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(workdir / "jupyterlab.log", "wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{(workdir / 'jupyterlab.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not start within 60 s")
            time.sleep(0.3)
        yield base, token, folder
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)  # the server and every kernel it started
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


# JavaScript run in the page -------------------------------------------------------------------------------

_JS_READY = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.content || !panel.context.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

_JS_RUN_ALL = """async () => {
  const result = await window.jupyterapp.commands.execute('notebook:run-all-cells');
  return result === undefined ? null : result;
}"""

_JS_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {status: kernel ? kernel.status : 'none', html: panel.content.node.innerHTML.length,
          text: panel.content.node.innerText.length};
}"""

_JS_ERRORS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const errors = [];
  panel.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    const outputs = cell.model.outputs.toJSON();
    for (const out of outputs) {
      if (out.output_type === 'error') errors.push({cell: index, ename: out.ename, evalue: out.evalue});
    }
  });
  return errors;
}"""


def _settle(page, timeout: float = 120) -> None:
    """Wait until the kernel is idle and the notebook's DOM has not changed for SETTLE_SECONDS."""
    deadline = time.monotonic() + timeout
    last, stable_since = None, time.monotonic()
    while time.monotonic() < deadline:
        state = page.evaluate(_JS_STATE)
        key = (state["status"], state["html"], state["text"])
        if key != last or state["status"] != "idle":
            last, stable_since = key, time.monotonic()
        elif time.monotonic() - stable_since >= SETTLE_SECONDS:
            return
        time.sleep(0.25)
    raise TimeoutError(f"the notebook did not settle within {timeout:g} s")


def _widget_panels(notebook):
    """Top-level widget views in the notebook's outputs (a widget nested in another is skipped)."""
    views = notebook.locator(".jp-OutputArea-output > .jupyter-widgets")
    return [views.nth(i) for i in range(views.count())]


def _picture(view) -> str:
    """What the widget shows: its images and text, as one string to compare before and after."""
    return view.evaluate(
        """(node) => {
            const imgs = Array.from(node.querySelectorAll('img')).map(i => i.src.length + ':' + i.src.slice(-200));
            const out = Array.from(node.querySelectorAll('.widget-output')).map(o => o.innerText);
            return imgs.join('|') + '#' + out.join('|');
        }"""
    )


def _move_a_control(page, view) -> str | None:
    """Nudge the widget's first slider by keyboard, or change its first drop-down; describe what moved."""
    handle = view.locator(".noUi-handle, .widget-slider .ui-slider-handle").first
    if handle.count():
        handle.scroll_into_view_if_needed()
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        label = view.locator(".widget-slider .widget-label, .widget-hslider .widget-label").first
        return f"slider {label.inner_text() if label.count() else ''}".strip()
    choice = _choose_in_dropdown(view)
    return None if choice is None else f"drop-down to {choice!r}"


def check_notebook(page, base: str, token: str, name: str, screenshots: Path | None) -> Outcome:
    outcome = Outcome(name)
    start = time.monotonic()
    workspace = f"check-{secrets.token_hex(4)}"  # a fresh workspace: only this notebook is open
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{name}?token={token}", wait_until="domcontentloaded")
    page.wait_for_function(_JS_READY, timeout=90_000, polling=500)
    notebook = page.locator(f"#{page.evaluate('() => window.jupyterapp.shell.currentWidget.id')} .jp-Notebook")
    finished = page.evaluate(_JS_RUN_ALL)
    _settle(page)
    for error in page.evaluate(_JS_ERRORS):
        outcome.fail(f"cell {error['cell']} raised {error['ename']}: {error['evalue']}")
    if finished is False and outcome.ok:
        outcome.fail("run-all-cells reported a failure")
    content = notebook.inner_text()
    for text in BROKEN_WIDGET_TEXTS:
        if text in content:
            outcome.fail(f"a widget did not render: the page shows {text!r}")
    panels = _widget_panels(notebook)
    outcome.widgets = len(panels)
    for index, view in enumerate(panels):
        before = _picture(view)
        moved = _move_a_control(page, view)
        if moved is None:
            continue
        _settle(page)
        if _picture(view) == before:
            outcome.fail(f"widget {index + 1}: moving its {moved} did not change what it shows")
        else:
            outcome.moved += 1
    if outcome.widgets and not outcome.moved and outcome.ok:
        outcome.fail("no widget had a control that could be moved")
    content = notebook.inner_text()
    for text in BROKEN_WIDGET_TEXTS:
        if text in content and not any(text in p for p in outcome.problems):
            outcome.fail(f"after moving controls, the page shows {text!r}")
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
        if panels:  # the first widget at the top of the window, so the picture shows it whole
            panels[0].evaluate("(node) => node.scrollIntoView({block: 'start'})")
            time.sleep(0.5)
        outcome.screenshot = screenshots / f"{Path(name).stem}.png"
        page.screenshot(path=str(outcome.screenshot))
    outcome.seconds = time.monotonic() - start
    return outcome


# The slideshow (jupyterlab-rise) --------------------------------------------------------------------------

_JS_SAVE = "async () => { await window.jupyterapp.commands.execute('docmanager:save'); }"
_JS_SLIDES_READY = """() => !!document.querySelector('.reveal .slides section')"""

# Everything in the slideshow at once (reveal.js keeps every slide in the page): markdown cells
# that rendered nothing, TeX that MathJax left as text, MathJax errors, broken widgets.
_JS_SLIDESHOW = r"""() => {
  const root = document.querySelector('.reveal .slides');
  const shown = el => !el.closest('.reveal-skip, aside.notes');
  const md = Array.from(root.querySelectorAll('.jp-MarkdownCell')).filter(shown);
  const blank = md.filter(c => {
    const r = c.querySelector('.jp-RenderedMarkdown');
    return !r || (!r.textContent.trim() && !r.querySelector('mjx-container, img'));
  });
  const rendered = Array.from(root.querySelectorAll('.jp-RenderedMarkdown')).filter(shown);
  const rawTex = rendered.filter(r => {
    const clone = r.cloneNode(true);
    clone.querySelectorAll('mjx-container, code, pre').forEach(n => n.remove());
    return /\$[^$\s][^$]*\$|\\(frac|sum|times|mathrm|hat|sqrt)\b/.test(clone.textContent);
  });
  return {markdown: md.length, blank: blank.map(c => (c.textContent || '').slice(0, 60)),
          raw_tex: rawTex.map(r => r.textContent.slice(0, 80)), math: root.querySelectorAll('mjx-container').length,
          math_errors: root.querySelectorAll('mjx-merror, [data-mjx-error]').length,
          widgets: root.querySelectorAll('.jp-OutputArea-output > .jupyter-widgets').length,
          broken: BROKEN.filter(t => root.textContent.includes(t))};
}""".replace("BROKEN", json.dumps(list(BROKEN_WIDGET_TEXTS)))

_JS_CURRENT = """() => {
  const cur = document.querySelector('.reveal .slides section.present section.present')
           || document.querySelector('.reveal .slides section.present');
  if (!cur) return null;
  const shown = el => !el.closest('.fragment:not(.visible)');  // a fragment not revealed yet is hidden
  return {id: cur.id || String(Array.from(document.querySelectorAll('.reveal .slides section')).indexOf(cur)),
          fragments: cur.querySelectorAll('.fragment.visible').length,
          widgets: Array.from(cur.querySelectorAll('.jp-OutputArea-output > .jupyter-widgets')).filter(shown).length,
          images: Array.from(cur.querySelectorAll('.jp-OutputArea-output img')).filter(shown).length,
          math: cur.querySelectorAll('mjx-container').length};
}"""

_JS_HIDDEN = "(node) => !!node.closest('.fragment:not(.visible)')"
_JS_BROKEN_CELLS = """() => {
  const cur = document.querySelector('.reveal .slides section.present section.present')
           || document.querySelector('.reveal .slides section.present');
  return Array.from(cur.querySelectorAll('.jp-CodeCell')).map((cell, i) => [cell, i])
    .filter(([cell]) => !cell.closest('.fragment:not(.visible)')
      && BROKEN.some(t => (cell.querySelector('.jp-OutputArea') || {textContent: ''}).textContent.includes(t)))
    .map(([cell, i]) => { cell.setAttribute('data-broken-widget', String(i)); return i; });
}""".replace("BROKEN", json.dumps(list(BROKEN_WIDGET_TEXTS)))
_JS_PROMPT_AT = """(index) => {
  const cell = document.querySelector(`.jp-CodeCell[data-broken-widget="${index}"]`);
  cell.scrollIntoView({block: 'center'});
  const box = (cell.querySelector('.jp-InputPrompt') || cell).getBoundingClientRect();
  return [box.x + 4, box.y + 4];
}"""
MAX_SLIDE_STEPS = 400  # steps (slides and fragments) before a slideshow counts as endless


def _stop_kernels(base: str, token: str) -> None:
    """Shut down every kernel of the server (one lesson's kernel must not run beside the next)."""
    with contextlib.suppress(OSError, ValueError):
        with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=10) as reply:
            kernels = json.loads(reply.read())
        for kernel in kernels:
            request = urllib.request.Request(f"{base}/api/kernels/{kernel['id']}?token={token}", method="DELETE")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(request, timeout=10).close()


def _choose_in_dropdown(view) -> str | None:
    """Pick another value in the widget's first drop-down; the value chosen, or None."""
    select = view.locator("select").first
    if not select.count():
        return None
    options = select.locator("option")
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    current = select.input_value()
    choice = next((v for v in values if v != current), None)
    if choice is not None:
        select.select_option(choice)
    return choice


def _drag_slider(page, view) -> bool:
    """Drag the widget's first slider with the mouse (in a slideshow the arrow keys turn the slide)."""
    handle = view.locator(".noUi-handle").first
    if not handle.count():
        return False
    box = handle.bounding_box()
    if box is None:
        return False
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 45, y, steps=5)
    page.mouse.up()
    return True


def check_slideshow(page, base: str, token: str, outcome: Outcome, screenshots: Path | None) -> None:
    """Open the notebook as a RISE slideshow (it joins the running kernel), step through every
    slide and fragment, and record problems in ``outcome``."""
    name = outcome.notebook
    page.goto(f"{base}/rise/{name}?token={token}", wait_until="domcontentloaded")
    page.wait_for_function(_JS_SLIDES_READY, timeout=90_000, polling=500)
    state, deadline = None, time.monotonic() + 60  # wait until the slides' content stops changing
    while time.monotonic() < deadline:
        time.sleep(SETTLE_SECONDS)
        now = page.evaluate(_JS_SLIDESHOW)
        if now == state:
            break
        state = now
    for text in state["blank"]:
        outcome.fail(f"slideshow: a markdown cell renders blank ({text!r}...)")
    for text in state["raw_tex"][:3]:
        outcome.fail(f"slideshow: math left unrendered: {text!r}")
    if state["math_errors"]:
        outcome.fail(f"slideshow: {state['math_errors']} MathJax error(s)")
    seen, moved_on = [], set()
    for _ in range(MAX_SLIDE_STEPS):
        current = page.evaluate(_JS_CURRENT)
        key = (current["id"], current["fragments"])
        if key in seen:
            break  # Space on the last step changes nothing: the end
        seen.append(key)
        for index in page.evaluate(_JS_BROKEN_CELLS):
            # A widget the slideshow could not attach to: do what the presenter does, run its
            # cell inside the slide (Ctrl+Enter), and let the check below judge the result.
            x, y = page.evaluate(_JS_PROMPT_AT, index)  # a click on its prompt makes it the active cell
            page.mouse.click(x, y)
            page.keyboard.press("Control+Enter")
            until = time.monotonic() + 60
            while time.monotonic() < until and index in page.evaluate(_JS_BROKEN_CELLS):
                time.sleep(0.5)
            time.sleep(3 * SETTLE_SECONDS)  # the new output finishes drawing
            outcome.slide_reruns += 1
        if current["widgets"]:
            views = page.locator(".reveal section.present .jp-OutputArea-output > .jupyter-widgets")
            for index in range(views.count()):
                view = views.nth(index)
                if (current["id"], index) in moved_on or view.evaluate(_JS_HIDDEN):
                    continue  # tried already, or in a fragment not revealed yet
                moved_on.add((current["id"], index))
                view.scroll_into_view_if_needed(timeout=10_000)
                before = _picture(view)
                if not _drag_slider(page, view) and _choose_in_dropdown(view) is None:
                    continue
                changed, until = False, time.monotonic() + 30
                while not changed and time.monotonic() < until:
                    time.sleep(0.5)
                    changed = _picture(view) != before
                if changed:
                    outcome.slide_moved += 1
                else:
                    outcome.fail(f"slideshow: dragging a slider of the widget on slide {current['id']} changed nothing")
        if screenshots is not None and outcome.slide_screenshot is None and current["images"] and current["math"]:
            figure = page.locator(".reveal section.present .jp-OutputArea-output img")
            for index in range(figure.count()):  # the first figure already revealed, scrolled into view
                if not figure.nth(index).evaluate(_JS_HIDDEN):
                    with contextlib.suppress(Exception):  # (an image in a collapsed part cannot be shown)
                        figure.nth(index).scroll_into_view_if_needed(timeout=3_000)
                    break
            screenshots.mkdir(parents=True, exist_ok=True)
            outcome.slide_screenshot = screenshots / f"{Path(name).stem}-slide.png"
            page.screenshot(path=str(outcome.slide_screenshot))
        page.locator(".reveal").first.click(position={"x": 5, "y": 5})  # the slide has the focus, not an editor
        page.keyboard.press("Space")
        until = time.monotonic() + 0.5  # the next step shows within a frame or two; at the end nothing changes
        while time.monotonic() < until and page.evaluate(_JS_CURRENT) == current:
            time.sleep(0.03)
    else:
        outcome.fail(f"slideshow: still not at the end after {MAX_SLIDE_STEPS} steps")
    outcome.slides = len({slide for slide, _ in seen})
    state = page.evaluate(_JS_SLIDESHOW)
    for text in state["broken"]:
        outcome.fail(f"slideshow: a widget did not render: the page shows {text!r}")
    outcome.slide_widgets = state["widgets"]
    if state["widgets"] < outcome.widgets:
        outcome.fail(f"slideshow: {outcome.widgets} widget(s) in the notebook, {state['widgets']} in the slides")
    if screenshots is not None and outcome.slide_screenshot is None:  # no slide with math and a figure
        screenshots.mkdir(parents=True, exist_ok=True)
        outcome.slide_screenshot = screenshots / f"{Path(name).stem}-slide.png"
        page.screenshot(path=str(outcome.slide_screenshot))


def run(
    notebooks: list[Path],
    screenshots: Path | None = ROOT / "artifacts" / "browser",
    *,
    slides: bool = False,
    execute: bool = True,
) -> list[Outcome]:
    """Check each notebook in one JupyterLab and one browser; return one Outcome per notebook.

    ``slides=True``: then also open it as a RISE slideshow and step through every slide
    (:func:`check_slideshow`); needs jupyterlab-rise. ``execute=False`` (with ``slides``):
    only the slideshow, with the outputs stored in the notebook (for lessons without widgets,
    whose stored outputs are what a presenter shows before running anything)."""
    if slides:
        try:
            import jupyterlab_rise  # noqa: F401
        except ImportError:
            raise BrowserUnavailable("jupyterlab-rise is missing: `pip install -r requirements.txt`.") from None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserUnavailable("the playwright package is missing: `pip install -r requirements.txt`.") from None
    chromium = find_chromium()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="cnnkit-browser-") as tmp, jupyterlab(notebooks, Path(tmp)) as server:
        base, token, _ = server
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 1400})
                for path in notebooks:
                    page = context.new_page()
                    try:
                        if execute:
                            outcome = check_notebook(page, base, token, path.name, screenshots)
                        else:
                            outcome, start = Outcome(path.name), time.monotonic()
                        if slides:
                            if execute:  # the slideshow reads the saved file: save the fresh widget outputs
                                page.evaluate(_JS_SAVE)
                            check_slideshow(page, base, token, outcome, screenshots)
                        if not execute:
                            outcome.seconds = time.monotonic() - start
                        outcomes.append(outcome)
                    except Exception as exc:  # a hang or a page that never loads is a failure, not a crash
                        outcome = Outcome(path.name)
                        outcome.fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                        outcomes.append(outcome)
                    finally:
                        page.close()
                        _stop_kernels(base, token)
            finally:
                browser.close()
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*", help="lesson numbers or names (default: every lesson with a widget)")
    parser.add_argument("--all", action="store_true", help="check every lesson, widgets or not")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "artifacts" / "browser", help="PNG folder")
    parser.add_argument("--slides", action="store_true", help="also step through each lesson as a RISE slideshow")
    args = parser.parse_args()
    notebooks = find_notebooks(args.lessons, args.all)
    if not notebooks:
        print("browser_check: no lesson to check")
        return 1
    try:
        outcomes = run(notebooks, args.screenshots, slides=args.slides)
    except BrowserUnavailable as exc:
        print(f"browser_check: {exc}")
        return 2
    for o in outcomes:
        status = "ok  " if o.ok else "FAIL"
        shot = ""
        if o.screenshot is not None:
            shown = o.screenshot.relative_to(ROOT) if o.screenshot.is_relative_to(ROOT) else o.screenshot
            shot = f", screenshot {shown}"
        print(
            f"{status} {o.notebook}: {o.widgets} widget(s), {o.moved} responded to a control, {o.seconds:.0f} s{shot}"
        )
        if args.slides:
            print(
                f"     slideshow: {o.slides} slides, {o.slide_widgets} widget(s), {o.slide_moved} moved by a drag, "
                f"{o.slide_reruns} run again in the slide"
            )
        for problem in o.problems:
            print(f"     - {problem}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
