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
    select = view.locator("select").first
    if select.count():
        options = select.locator("option")
        values = [options.nth(i).get_attribute("value") for i in range(options.count())]
        current = select.input_value()
        choice = next((v for v in values if v != current), None)
        if choice is not None:
            select.select_option(choice)
            return f"drop-down to {choice!r}"
    return None


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


def run(notebooks: list[Path], screenshots: Path | None = ROOT / "artifacts" / "browser") -> list[Outcome]:
    """Check each notebook in one JupyterLab and one browser; return one Outcome per notebook."""
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
                        outcomes.append(check_notebook(page, base, token, path.name, screenshots))
                    except Exception as exc:  # a hang or a page that never loads is a failure, not a crash
                        outcome = Outcome(path.name)
                        outcome.fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                        outcomes.append(outcome)
                    finally:
                        with contextlib.suppress(Exception):
                            page.evaluate("() => window.jupyterapp.commands.execute('kernelmenu:shutdown')")
                        page.close()
            finally:
                browser.close()
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*", help="lesson numbers or names (default: every lesson with a widget)")
    parser.add_argument("--all", action="store_true", help="check every lesson, widgets or not")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "artifacts" / "browser", help="PNG folder")
    args = parser.parse_args()
    notebooks = find_notebooks(args.lessons, args.all)
    if not notebooks:
        print("browser_check: no lesson to check")
        return 1
    try:
        outcomes = run(notebooks, args.screenshots)
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
        for problem in o.problems:
            print(f"     - {problem}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
