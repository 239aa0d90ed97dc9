"""Test-suite set-up shared by the unit tests and the nbval run over lessons/.

- Lessons always run in quick mode under test, whatever the caller's environment says,
  so stored outputs (recorded in quick mode) stay comparable, and with claims checked
  (``cnnkit.experiment.claim`` fails when the measurement no longer supports the text).
- The suite runs in parallel (pytest-xdist, one worker per core, whole files per worker).
  Each worker and every kernel it starts uses one thread, so workers never fight over cores.
- Each lesson's wall time under nbval is measured; a lesson that takes 60 s or more fails
  the run, because quick mode promises less than a minute per lesson. (With one thread per
  lesson this is stricter than the promise, which is for a 2-core CPU.)
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

os.environ["CNNKIT_FULL"] = "0"  # inherited by the nbval kernels started later
os.environ["CNNKIT_PROGRESS"] = "0"  # stored lesson outputs hold no progress bar (cnnkit.hooks.progress_enabled)
os.environ["CNNKIT_CHECK_CLAIMS"] = "1"  # a lesson claim its own measurement contradicts fails (cnnkit.experiment)
if os.environ.get("PYTEST_XDIST_WORKER"):  # a parallel worker: one thread here and in its kernels
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = "1"

LESSON_LIMIT_SECONDS = 60
_lesson_seconds: dict[str, float] = defaultdict(float)


def _lesson_of(nodeid: str) -> str | None:
    path = Path(nodeid.split("::", 1)[0])
    return path.name if path.suffix == ".ipynb" else None


def pytest_runtest_logreport(report):
    """Add up each lesson's cells (set-up, call and tear-down), on the controller or a lone process."""
    lesson = _lesson_of(report.nodeid)
    if lesson and not os.environ.get("PYTEST_XDIST_WORKER"):
        _lesson_seconds[lesson] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _lesson_seconds:
        return
    terminalreporter.section("lesson wall times under nbval")
    for name, seconds in sorted(_lesson_seconds.items()):
        flag = "  <-- over the limit" if seconds >= LESSON_LIMIT_SECONDS else ""
        terminalreporter.write_line(f"{name:40} {seconds:6.1f} s{flag}")


def pytest_sessionfinish(session, exitstatus):
    slow = {n: s for n, s in _lesson_seconds.items() if s >= LESSON_LIMIT_SECONDS}
    if slow and session.exitstatus == 0:
        names = ", ".join(f"{n} ({s:.0f} s)" for n, s in slow.items())
        print(f"\nFAILED: lessons must run in under {LESSON_LIMIT_SECONDS} s in quick mode: {names}")
        session.exitstatus = 1
