"""Self-checks for the exercises.

A checker prints one line — a pass, a targeted hint, or "not attempted yet" while the
answer is still the placeholder ``...`` — and returns True, False or None accordingly.
It never raises into the notebook, whatever it is given, so a lesson always runs top
to bottom.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import nn

from .utils import evaluating, model_device

__all__ = ["PLACEHOLDER", "check_function", "check_model", "check_value"]

PLACEHOLDER = ...  # exercises start as `answer = ...`; functions start with `raise NotImplementedError`

PASS, FAIL, TODO = "✅", "❌", "⏳"


def _report(exercise: str, outcome: bool | None, message: str) -> bool | None:
    if outcome is None:
        print(f"{TODO} {exercise}: not attempted yet. {message}".rstrip())
    elif outcome:
        print(f"{PASS} {exercise}: correct! {message}".rstrip())
    else:
        print(f"{FAIL} {exercise}: not yet. {message}".rstrip())
    return outcome


def _describe(value) -> str:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _brief(value) -> str:
    """A short description of one argument: the shape of a large tensor or array, a clipped repr otherwise."""
    if (isinstance(value, torch.Tensor) and value.numel() > 8) or (isinstance(value, np.ndarray) and value.size > 8):
        return f"{type(value).__name__} of shape {tuple(value.shape)}"
    text = " ".join(repr(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _to_array(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    if isinstance(value, np.ndarray):
        return value.astype(float)
    return np.asarray(value, dtype=float)


def _numbers_only(value) -> bool:
    """Whether ``value`` is a number or a (nested) list/tuple of numbers only — not of arrays or words."""
    if isinstance(value, (list, tuple)):
        return all(_numbers_only(v) for v in value)
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _difference(answer, expected, tol: float) -> str | None:
    """None when ``answer`` matches ``expected``; else a sentence saying how it differs."""
    if isinstance(expected, bool) or isinstance(expected, str):
        if isinstance(expected, str) and isinstance(answer, str):
            same = answer.strip().lower() == expected.strip().lower()
        else:
            same = type(answer) is type(expected) and answer == expected
        return None if same else f"your answer is {_describe(answer)}."
    if isinstance(expected, numbers.Number):
        if (
            isinstance(answer, torch.Tensor)
            and answer.numel() == 1
            or (isinstance(answer, np.ndarray) and answer.size == 1)
        ):
            answer = _to_array(answer).item()
        if isinstance(answer, bool) or not isinstance(answer, numbers.Number):
            return f"expected a number, but your answer is {_describe(answer)}."
        if math.isclose(float(answer), float(expected), rel_tol=tol, abs_tol=tol):
            return None
        return f"your answer is {answer:g}; that is {'too large' if answer > expected else 'too small'}."
    if isinstance(expected, (torch.Tensor, np.ndarray, list, tuple)):
        if isinstance(expected, (list, tuple)) and not _numbers_only(expected):
            if not isinstance(answer, (list, tuple)) or len(answer) != len(expected):
                return f"expected {len(expected)} items, but your answer is {_describe(answer)}."
            for i, (a, e) in enumerate(zip(answer, expected, strict=True)):
                reason = _difference(a, e, tol)
                if reason:
                    return f"item {i}: {reason}"
            return None
        try:
            got = _to_array(answer)
        except (TypeError, ValueError):
            return f"expected numbers shaped {np.shape(_to_array(expected))}, but your answer is {_describe(answer)}."
        want = _to_array(expected)
        if got.shape != want.shape:
            return f"your answer has shape {got.shape}, expected {want.shape}."
        if not np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True):
            where = np.unravel_index(np.argmax(np.abs(got - want)), got.shape) if got.size else ()
            return f"the shape is right, but the values differ (largest difference at index {tuple(map(int, where))})."
        return None
    return None if answer == expected else f"your answer is {_describe(answer)}."


def _hint_for(answer, hints) -> str | None:
    """The first targeted hint whose wrong answer (or test) matches ``answer``."""
    for wrong, message in hints:
        try:
            hit = wrong(answer) if callable(wrong) else _difference(answer, wrong, 1e-9) is None
        except Exception:
            hit = False
        if hit:
            return message
    return None


def check_value(
    answer, expected, *, exercise: str = "Exercise", tol: float = 1e-6, hints=(), success: str = ""
) -> bool | None:
    """Compare ``answer`` with ``expected`` (a number, string, sequence, array or tensor).

    ``hints`` is a list of ``(wrong_answer_or_test, message)`` pairs: when the answer
    equals that wrong answer (or the test returns True) the message is printed.
    """
    try:
        if answer is PLACEHOLDER:
            return _report(exercise, None, "Replace the `...` with your answer and run the cell again.")
        reason = _difference(answer, expected, tol)
        if reason is None:
            return _report(exercise, True, success)
        return _report(exercise, False, _hint_for(answer, hints) or reason)
    except Exception as exc:  # a checker must never break the notebook
        return _report(exercise, False, f"could not check this answer ({type(exc).__name__}: {exc}).")


def check_function(
    fn, cases, *, exercise: str = "Exercise", tol: float = 1e-6, hints=(), success: str = ""
) -> bool | None:
    """Call the learner's function on each ``(args, expected)`` case and compare.

    ``args`` is a tuple of positional arguments (or a dict of keyword arguments). A
    function that still raises ``NotImplementedError`` counts as not attempted.
    """
    try:
        if fn is PLACEHOLDER:
            return _report(exercise, None, "Write the function and run the cell again.")
        if not callable(fn):
            return _report(exercise, False, f"expected a function, got {_describe(fn)}.")
        for args, expected in cases:
            shown = (
                ", ".join(map(_brief, args))
                if isinstance(args, tuple)
                else ", ".join(f"{k}={_brief(v)}" for k, v in args.items())
            )
            try:
                result = fn(**args) if isinstance(args, dict) else fn(*args)
            except NotImplementedError:
                return _report(exercise, None, "Replace `raise NotImplementedError` with your code.")
            except Exception as exc:
                return _report(exercise, False, f"your function raised {type(exc).__name__} on ({shown}): {exc}")
            reason = _difference(result, expected, tol)
            if reason is not None:
                hint = _hint_for(result, hints)
                return _report(exercise, False, f"on ({shown}) {hint or reason}")
        return _report(exercise, True, success or f"all {len(cases)} test cases pass.")
    except Exception as exc:
        return _report(exercise, False, f"could not check this answer ({type(exc).__name__}: {exc}).")


def check_model(
    model, input_shape, output_shape, *, exercise: str = "Exercise", max_params: int | None = None, success: str = ""
) -> bool | None:
    """Check that ``model`` is an ``nn.Module`` mapping ``input_shape`` to ``output_shape``."""
    try:
        if model is PLACEHOLDER:
            return _report(exercise, None, "Build the model and run the cell again.")
        if not isinstance(model, nn.Module):
            return _report(
                exercise, False, f"expected an nn.Module (for example nn.Sequential(...)), got {_describe(model)}."
            )
        params = sum(p.numel() for p in model.parameters())
        try:
            with evaluating(model):
                out = model(torch.zeros(*input_shape, device=model_device(model)))
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return _report(exercise, False, f"the model fails on an input of shape {tuple(input_shape)}: {first}")
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(output_shape):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else _describe(out)
            return _report(exercise, False, f"the output has shape {got}, expected {tuple(output_shape)}.")
        if max_params is not None and params > max_params:
            return _report(exercise, False, f"it has {params:,} parameters; aim for at most {max_params:,}.")
        return _report(
            exercise, True, success or f"{tuple(input_shape)} → {tuple(output_shape)}, {params:,} parameters."
        )
    except Exception as exc:
        return _report(exercise, False, f"could not check this model ({type(exc).__name__}: {exc}).")
