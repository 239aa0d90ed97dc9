"""Argument checks that turn bad input into errors a learner can act on.

Every public function of cnnkit validates what it is given with these helpers, so a
mistake is reported as "which argument, what was expected, how to fix" instead of a
traceback from deep inside torch.
"""

from __future__ import annotations

import numbers


def check_int(name: str, value, *, minimum: int | None = None, hint: str = "") -> int:
    """Return ``value`` as an int, or raise ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number (int), got {value!r} of type {type(value).__name__}.")
    value = int(value)
    if minimum is not None and value < minimum:
        extra = f" {hint}" if hint else ""
        raise ValueError(f"{name} must be at least {minimum}, got {value}.{extra}")
    return value


def check_number(name: str, value, *, positive: bool = False) -> float:
    """Return ``value`` as a float, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}.")
    if positive and not value > 0:
        raise ValueError(f"{name} must be greater than 0, got {value}.")
    return float(value)


def pair(name: str, value) -> tuple:
    """Accept ``k`` or ``(kh, kw)`` and return a 2-tuple, as nn.Conv2d does."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be a number or a pair (height, width), got {value!r}.")
        return tuple(value)
    return (value, value)
