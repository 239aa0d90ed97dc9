"""Test-suite set-up shared by the unit tests and the nbval run over lessons/.

- Lessons always run in quick mode under test, whatever the caller's environment says,
  so stored outputs (recorded in quick mode) stay comparable.
- Each lesson's wall time under nbval is measured; a lesson that takes 60 s or more
  fails the run, because quick mode promises less than a minute per lesson.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

import pytest

os.environ["CNNKIT_FULL"] = "0"  # inherited by the nbval kernels started later

LESSON_LIMIT_SECONDS = 60
_lesson_seconds: dict[str, float] = defaultdict(float)


def _lesson_of(item) -> str | None:
    path = Path(str(item.fspath))
    return path.name if path.suffix == ".ipynb" else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    lesson = _lesson_of(item)
    start = time.perf_counter()
    yield
    if lesson:
        _lesson_seconds[lesson] += time.perf_counter() - start


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
