"""Fair experiments: the same run over several seeds, and conclusions printed from measurements.

The course's rules for every comparison:

1. **A comparison changes one thing.** Two runs that differ in the activation *and* the
   optimizer say nothing about the activation.
2. **One seed is an anecdote.** :func:`over_seeds` repeats a small experiment with seeds
   0, 1, 2, ... and reports, per metric, the mean and the range (min–max) over seeds, and
   per epoch for curves.
3. **A difference smaller than the spread over seeds is "no clear difference".**
   :func:`compare` calls a difference clear only when the seeds' ranges do not overlap:
   every seed of one beats every seed of the other. Otherwise it says so, in words.
4. **The text follows the numbers.** :func:`claim` prints the sentence that the
   measurement supports, or the opposite sentence when it does not, so prose and output
   cannot drift apart. Under test (``CNNKIT_CHECK_CLAIMS=1``, which the test suite and
   ``scripts/run_lessons.py`` set) a claim whose measurement no longer supports what the
   lesson expects fails loudly instead of printing the other sentence.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .utils import seed_everything

__all__ = ["CLAIMS_ENV", "ClaimError", "Comparison", "Seeds", "Spread", "claim", "compare", "over_seeds"]

CLAIMS_ENV = "CNNKIT_CHECK_CLAIMS"


@dataclass(frozen=True)
class Spread:
    """One metric over seeds: its values, their mean and their range."""

    name: str
    values: tuple

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def low(self) -> float:
        return float(np.min(self.values))

    @property
    def high(self) -> float:
        return float(np.max(self.values))

    @property
    def width(self) -> float:
        """The range over seeds, max − min."""
        return self.high - self.low

    def format(self, digits: int = 3) -> str:
        n = len(self.values)
        if n == 1:
            return f"{self.mean:.{digits}f} (1 seed)"
        return f"{self.mean:.{digits}f} ({self.low:.{digits}f}–{self.high:.{digits}f} over {n} seeds)"

    def __str__(self) -> str:
        return self.format()


def _metrics_of(result) -> tuple[dict, dict]:
    """(final values, per-epoch lists) of one run's result: a fit History, a dict of numbers, or a number."""
    if hasattr(result, "records") and isinstance(result.records, list):  # a cnnkit History
        curves = {}
        for key in ("train_loss", "train_acc", "val_acc", "test_acc", "seconds"):
            values = [r.get(key) for r in result.records]
            if values and all(v is not None for v in values):
                curves[key] = values
        finals = {key: values[-1] for key, values in curves.items()}
        if "seconds" in curves:
            finals["seconds"] = float(sum(curves["seconds"]))
        return finals, curves
    if isinstance(result, dict):
        finals, curves = {}, {}
        for key, value in result.items():
            if isinstance(value, (list, tuple, np.ndarray)):
                curves[key] = [float(v) for v in value]
                finals[key] = curves[key][-1]
            else:
                finals[key] = float(value)
        return finals, curves
    if isinstance(result, (int, float, np.floating, np.integer)) and not isinstance(result, bool):
        return {"value": float(result)}, {}
    raise TypeError(
        "the experiment must return a fit() History, a dict of numbers (or of per-epoch lists), or a number; "
        f"it returned {type(result).__name__}."
    )


class Seeds:
    """The results of one experiment repeated over seeds (see :func:`over_seeds`)."""

    def __init__(self, label: str, seeds: Sequence[int], results: list, seconds: float):
        self.label, self.seeds, self.results, self.seconds = label, tuple(seeds), results, seconds
        parsed = [_metrics_of(r) for r in results]
        self._finals = [f for f, _ in parsed]
        self._curves = [c for _, c in parsed]
        self.metrics = [k for k in self._finals[0] if all(k in f for f in self._finals)]

    def __getitem__(self, metric: str) -> Spread:
        """The final value of ``metric`` (the last epoch's, for a History) over seeds."""
        if metric not in self.metrics:
            raise KeyError(f"no metric {metric!r} in every run; the runs have: {', '.join(self.metrics)}.")
        return Spread(f"{self.label} {metric}".strip(), tuple(f[metric] for f in self._finals))

    def curve(self, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, min, max) of ``metric`` per epoch over seeds, for a band plot."""
        try:
            rows = np.array([c[metric] for c in self._curves], dtype=float)
        except (KeyError, ValueError):
            raise KeyError(f"no per-epoch curve {metric!r} of equal length in every run.") from None
        return rows.mean(0), rows.min(0), rows.max(0)

    def __repr__(self) -> str:
        lines = [f"{self.label or 'experiment'}: {len(self.seeds)} seeds ({', '.join(map(str, self.seeds))})"]
        lines += [f"  {m:11} {self[m].format(4)}" for m in self.metrics if m != "seconds"]
        return "\n".join(lines)


def over_seeds(experiment: Callable[[int], object], seeds: Sequence[int] = (0, 1, 2), *, label: str = "") -> Seeds:
    """Run ``experiment(seed)`` once per seed (after ``seed_everything(seed)``) and collect the spread.

    ``experiment`` builds its model *inside* (so each seed gets its own initial weights)
    and returns a ``fit`` History, a dict of numbers or per-epoch lists, or one number.
    """
    if not callable(experiment):
        raise TypeError(f"experiment must be a function of the seed, got {type(experiment).__name__}.")
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be a non-empty list of whole numbers >= 0, got {seeds!r}.")
    start, results = time.perf_counter(), []
    for seed in seeds:
        seed_everything(seed)
        results.append(experiment(seed))
    return Seeds(label, seeds, results, time.perf_counter() - start)


@dataclass(frozen=True)
class Comparison:
    """The verdict of :func:`compare`: is the difference clear, and which way?"""

    a: Spread
    b: Spread
    higher_is_better: bool

    @property
    def difference(self) -> float:
        """Mean of ``a`` minus mean of ``b``."""
        return self.a.mean - self.b.mean

    @property
    def clear(self) -> bool:
        """True when every seed of one is better than every seed of the other (the ranges do not overlap)."""
        return self.a.low > self.b.high or self.b.low > self.a.high

    @property
    def winner(self) -> Spread | None:
        if not self.clear:
            return None
        a_higher = self.a.mean > self.b.mean
        return self.a if a_higher == self.higher_is_better else self.b

    def sentence(self, digits: int = 3) -> str:
        a, b = self.a.format(digits), self.b.format(digits)
        if not self.clear:
            return f"No clear difference: {self.a.name} {a} against {self.b.name} {b}; the seeds' ranges overlap."
        loser = self.b if self.winner is self.a else self.a
        return (
            f"{self.winner.name} beats {loser.name} on every seed: {self.winner.format(digits)} "
            f"against {loser.format(digits)}."
        )

    def __str__(self) -> str:
        return self.sentence()


def compare(a: Spread, b: Spread, *, higher_is_better: bool = True) -> Comparison:
    """Compare two metrics measured over seeds (``Seeds[...]``) by the course's rule (module docstring)."""
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, Spread):
            raise TypeError(
                f"{name} must be a Spread, such as over_seeds(...)['test_acc'], got {type(value).__name__}."
            )
        if not all(math.isfinite(v) for v in value.values):
            raise ValueError(f"{value.name} has a value that is not finite: {value.values}.")
    return Comparison(a, b, higher_is_better)


class ClaimError(AssertionError):
    """A lesson's claim that its own measurement no longer supports (raised only under test)."""


def claim(statement: str, holds, *, otherwise: str, expected: bool = True) -> bool:
    """Print ``statement`` if the measurement ``holds``, else ``otherwise``; return whether it holds.

    ``expected`` is what the lesson's text around the cell assumes. Under test
    (``CNNKIT_CHECK_CLAIMS=1``) a claim that turns out the other way raises
    :class:`ClaimError`, so a stored lesson can never contradict its own numbers; for a
    learner (other settings, full mode) it prints the other sentence and a note.
    """
    if not isinstance(statement, str) or not isinstance(otherwise, str):
        raise TypeError("statement and otherwise must be sentences (str).")
    holds = bool(holds.clear if isinstance(holds, Comparison) else holds)
    print(statement if holds else otherwise)
    if holds != expected:
        if os.environ.get(CLAIMS_ENV, "").strip() not in ("", "0"):
            raise ClaimError(
                f"the lesson expects {'the first' if expected else 'the second'} sentence here, but the "
                f"measurement now says: {statement if holds else otherwise!r}. Re-read the text around this cell."
            )
        print("(Note: your run came out differently from the one the text above describes; trust your numbers.)")
    return holds
