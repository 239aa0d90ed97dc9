"""Self-checks for the exercises.

A checker prints one line — a pass, a targeted hint, or "not attempted yet" while the
answer is still the placeholder ``...`` — and returns True, False or None accordingly.
It never raises into the notebook, whatever it is given, so a lesson always runs top
to bottom.

The checkers are strict where the task is and generous where it is:

- a whole number (an ``int`` expected) must be an integer and is compared exactly:
  ``2416.0`` is not the answer to "how many parameters";
- words are never numbers: ``"15"`` or ``["1", "2"]`` do not pass for ``15`` or ``[1, 2]``;
- ``decimals=k`` accepts every answer that rounds to the expected value at ``k``
  digits ("about 1.96" passes for 1.9644 with ``decimals=2``);
- :func:`check_function` calls the function on fresh copies of its arguments and fails a
  function that changes them in place (``pure=True``, the default);
- :func:`check_model` can demand layer types, a parameter count or range, more than one
  input size, and rules of the exercise's idea; a model with no trainable parameters,
  or whose output ignores its input, never passes;
- :func:`check_that` tests what an answer *does* when many answers are right (a kernel
  that responds positively to a step edge, whatever its scale).

Every exercise in the lessons records plausible wrong answers in its cell metadata
(``wrong_answers``), and the test suite proves that its check rejects each of them.
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np
import torch
from torch import nn

from .structure import count_parameters
from .utils import evaluating, model_device

__all__ = ["PLACEHOLDER", "check_function", "check_model", "check_that", "check_value"]

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


def _has_text(value) -> bool:
    """Whether ``value`` is, or holds, words (a str, bytes, or an array of strings/objects)."""
    if isinstance(value, (str, bytes)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "USO" and (value.dtype.kind != "O" or any(_has_text(v) for v in value.flat))
    if isinstance(value, (list, tuple)):
        return any(_has_text(v) for v in value)
    return False


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


def _integer_valued(value) -> bool:
    """Whether a tensor or array holds integers (its dtype), or a list holds only ints."""
    if isinstance(value, torch.Tensor):
        return not (value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool)
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "iu"
    if isinstance(value, (list, tuple)):
        return all(_integer_valued(v) for v in value)
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _scalar(answer):
    """A one-element tensor or array as a Python number (int for integer dtypes); anything else unchanged."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        return answer.detach().cpu().reshape(()).item()
    if isinstance(answer, np.ndarray) and answer.size == 1 and answer.dtype.kind in "iufb":
        return answer.reshape(()).item()
    if isinstance(answer, np.generic) and not isinstance(answer, np.bool_):
        return answer.item()
    return answer


def _close(answer: float, expected: float, tol: float, decimals: int | None) -> bool:
    if decimals is not None:  # every answer that rounds to the expected value at `decimals` digits
        return abs(answer - expected) <= 0.5 * 10.0**-decimals + 1e-12
    return math.isclose(answer, expected, rel_tol=tol, abs_tol=tol)


def _number_difference(answer, expected, tol, whole, decimals) -> str | None:
    answer = _scalar(answer)
    if isinstance(answer, bool) or not isinstance(answer, numbers.Number):
        return f"expected a number, but your answer is {_describe(answer)}."
    if isinstance(answer, complex):
        return f"expected a real number, but your answer is {_describe(answer)}."
    whole = isinstance(expected, numbers.Integral) if whole is None else whole
    if whole and not isinstance(answer, numbers.Integral):
        if isinstance(answer, float) and answer.is_integer():
            return (
                f"the task asks for a whole number (an int), but your answer is the float {answer!r}: "
                "use // instead of /, or int(...)."
            )
        return f"the task asks for a whole number (an int), but your answer is {_describe(answer)}."
    if math.isnan(answer):
        return "your answer is NaN (not a number): something in your computation divided 0 by 0 or overflowed."
    if whole:
        same = answer == expected
    else:
        same = _close(float(answer), float(expected), tol, decimals)
    if same:
        return None
    return f"your answer is {answer:g}; that is {'too large' if answer > expected else 'too small'}."


def _difference(answer, expected, tol: float, whole: bool | None = None, decimals: int | None = None) -> str | None:
    """None when ``answer`` matches ``expected``; else a sentence saying how it differs."""
    if isinstance(expected, bool) or isinstance(expected, str):
        if isinstance(expected, str) and isinstance(answer, str):
            same = answer.strip().lower() == expected.strip().lower()
        else:
            same = type(answer) is type(expected) and answer == expected
        return None if same else f"your answer is {_describe(answer)}."
    if isinstance(expected, numbers.Number):
        return _number_difference(answer, expected, tol, whole, decimals)
    if isinstance(expected, (torch.Tensor, np.ndarray, list, tuple)):
        if isinstance(expected, (list, tuple)) and not _numbers_only(expected):
            if not isinstance(answer, (list, tuple)) or len(answer) != len(expected):
                return f"expected {len(expected)} items, but your answer is {_describe(answer)}."
            for i, (a, e) in enumerate(zip(answer, expected, strict=True)):
                reason = _difference(a, e, tol, whole, decimals)
                if reason:
                    return f"item {i}: {reason}"
            return None
        if _has_text(answer):
            return f"expected numbers, but your answer holds words: {_describe(answer)}."
        try:
            got = _to_array(answer)
        except (TypeError, ValueError):
            return f"expected numbers shaped {np.shape(_to_array(expected))}, but your answer is {_describe(answer)}."
        want = _to_array(expected)
        if got.shape != want.shape:
            return f"your answer has shape {got.shape}, expected {want.shape}."
        if whole and not _integer_valued(answer):
            return "the task asks for whole numbers (integers), but your answer holds floats."
        if decimals is not None:
            close = np.all(np.abs(got - want) <= 0.5 * 10.0**-decimals + 1e-12)
        else:
            close = np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
        if not close:
            where = np.unravel_index(np.argmax(np.abs(got - want)), got.shape) if got.size else ()
            return f"the shape is right, but the values differ (largest difference at index {tuple(map(int, where))})."
        return None
    return None if answer == expected else f"your answer is {_describe(answer)}."


def _hint_for(answer, hints) -> str | None:
    """The first targeted hint whose wrong answer (or test) matches ``answer``."""
    for wrong, message in hints:
        try:
            hit = wrong(answer) if callable(wrong) else _difference(answer, wrong, 1e-9, whole=False) is None
        except Exception:
            hit = False
        if hit:
            return message
    return None


def check_value(
    answer,
    expected,
    *,
    exercise: str = "Exercise",
    tol: float = 1e-6,
    hints=(),
    success: str = "",
    whole: bool | None = None,
    decimals: int | None = None,
) -> bool | None:
    """Compare ``answer`` with ``expected`` (a number, string, sequence, array or tensor).

    ``whole``: the answer must be an integer and equal ``expected`` exactly; the default
    is True when ``expected`` is an ``int``. ``decimals``: accept any answer within half
    a unit of the ``decimals``-th digit (the task says "to 2 decimals"); else ``tol``
    (relative and absolute) applies to floats.
    ``hints`` is a list of ``(wrong_answer_or_test, message)`` pairs: when the answer
    equals that wrong answer (or the test returns True) the message is printed.
    """
    try:
        if answer is PLACEHOLDER:
            return _report(exercise, None, "Replace the `...` with your answer and run the cell again.")
        reason = _difference(answer, expected, tol, whole, decimals)
        if reason is None:
            return _report(exercise, True, success)
        return _report(exercise, False, _hint_for(answer, hints) or reason)
    except Exception as exc:  # a checker must never break the notebook
        return _report(exercise, False, f"could not check this answer ({type(exc).__name__}: {exc}).")


def _unchanged(before, after) -> bool:
    """Whether ``after`` still equals the copy ``before`` taken before the call (values and shapes)."""
    if isinstance(before, torch.Tensor):
        return (
            isinstance(after, torch.Tensor)
            and before.shape == after.shape
            and bool(torch.equal(before.detach().cpu(), after.detach().cpu()) or _both_nan(before, after))
        )
    if isinstance(before, np.ndarray):
        return isinstance(after, np.ndarray) and before.shape == after.shape and np.array_equal(before, after, True)
    if isinstance(before, nn.Module):
        b, a = before.state_dict(), after.state_dict()
        return b.keys() == a.keys() and all(_unchanged(b[k], a[k]) for k in b)
    if isinstance(before, (list, tuple)):
        return isinstance(after, (list, tuple)) and len(before) == len(after) and all(map(_unchanged, before, after))
    if isinstance(before, dict):
        return (
            isinstance(after, dict)
            and before.keys() == after.keys()
            and all(_unchanged(before[k], after[k]) for k in before)
        )
    try:
        return bool(before == after)
    except Exception:
        return True  # cannot compare: do not accuse the function


def _both_nan(before: torch.Tensor, after: torch.Tensor) -> bool:
    try:
        return bool(
            torch.equal(torch.nan_to_num(before.detach().cpu(), 7.0), torch.nan_to_num(after.detach().cpu(), 7.0))
        )
    except Exception:
        return False


def _copy(value):
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


def check_function(
    fn,
    cases,
    *,
    exercise: str = "Exercise",
    tol: float = 1e-6,
    hints=(),
    success: str = "",
    pure: bool = True,
    whole: bool | None = None,
    decimals: int | None = None,
) -> bool | None:
    """Call the learner's function on each ``(args, expected)`` case and compare.

    ``args`` is a tuple of positional arguments (or a dict of keyword arguments). The
    function gets fresh copies, so one case cannot spoil the next; with ``pure=True``
    (the default) a function that changes an argument in place fails. A function that
    still raises ``NotImplementedError`` counts as not attempted. ``whole`` and
    ``decimals`` are as in :func:`check_value`, for the results.
    """
    try:
        if fn is PLACEHOLDER:
            return _report(exercise, None, "Write the function and run the cell again.")
        if not callable(fn):
            return _report(exercise, False, f"expected a function, got {_describe(fn)}.")
        for args, expected in cases:
            named = isinstance(args, dict)
            shown = ", ".join(f"{k}={_brief(v)}" for k, v in args.items()) if named else ", ".join(map(_brief, args))
            originals = dict(args) if named else dict(enumerate(args))
            given = {k: _copy(v) for k, v in originals.items()}
            try:
                result = fn(**given) if named else fn(*given.values())
            except NotImplementedError:
                return _report(exercise, None, "Replace `raise NotImplementedError` with your code.")
            except Exception as exc:
                return _report(exercise, False, f"your function raised {type(exc).__name__} on ({shown}): {exc}")
            reason = _difference(result, expected, tol, whole, decimals)
            if reason is not None:
                hint = _hint_for(result, hints)
                return _report(exercise, False, f"on ({shown}) {hint or reason}")
            if pure:
                changed = [k for k in originals if not _unchanged(originals[k], given[k])]
                if changed:
                    which = f"'{changed[0]}'" if named else f"number {changed[0] + 1}"
                    return _report(
                        exercise,
                        False,
                        f"on ({shown}) the result is right, but your function changed its argument {which} in "
                        "place. Leave the inputs as they are: compute new tensors (x = x * 2) instead of in-place "
                        "operations (x *= 2, x.mul_(2), x[...] = ...).",
                    )
        return _report(exercise, True, success or f"all {len(cases)} test cases pass.")
    except Exception as exc:
        return _report(exercise, False, f"could not check this answer ({type(exc).__name__}: {exc}).")


def _forward(model, shape, seed: int):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=generator).to(model_device(model))
    with evaluating(model):
        return model(x)


def _layer_counts(model, kinds) -> str | None:
    """None when ``model`` has the required layers; else what is missing."""
    wanted = kinds if isinstance(kinds, dict) else dict.fromkeys(kinds, 1)
    for kind, least in wanted.items():
        found = sum(isinstance(m, kind) for m in model.modules())
        if found < least:
            name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            if least == 1:
                return f"it has no {name} layer, and the task needs at least one."
            return f"it has {found} {name} layer(s); the task needs at least {least}."
    return None


def _shape(value) -> tuple:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else ()


def check_model(
    model,
    input_shape,
    output_shape,
    *,
    exercise: str = "Exercise",
    max_params: int | None = None,
    params=None,
    require=(),
    forbid=(),
    also=(),
    rules=(),
    success: str = "",
) -> bool | None:
    """Check that ``model`` is an ``nn.Module`` mapping ``input_shape`` to ``output_shape``.

    Always: the model has trainable parameters, and its output depends on its input.
    ``max_params``: a ceiling; ``params``: an exact count or an inclusive range ``(low, high)``.
    ``require``: layer types it must contain, a sequence (at least one of each) or a dict
    ``{nn.Conv2d: 2}`` of minimum counts (a tuple of types as a key counts any of them).
    ``forbid``: layer types it must not contain. ``also``: more ``(input_shape,
    output_shape)`` pairs it must handle (another image size, say). ``rules``: pairs
    ``(test, message)``; ``test(model)`` must return True, else the message is shown.
    """
    try:
        if model is PLACEHOLDER:
            return _report(exercise, None, "Build the model and run the cell again.")
        if not isinstance(model, nn.Module):
            return _report(
                exercise, False, f"expected an nn.Module (for example nn.Sequential(...)), got {_describe(model)}."
            )
        count = count_parameters(model)
        for number, (shape_in, shape_out) in enumerate([(input_shape, output_shape), *also]):
            try:
                out = _forward(model, shape_in, number)
            except Exception as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                return _report(exercise, False, f"the model fails on an input of shape {tuple(shape_in)}: {first}")
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(shape_out):
                got = tuple(out.shape) if isinstance(out, torch.Tensor) else _describe(out)
                return _report(
                    exercise,
                    False,
                    f"on an input of shape {tuple(shape_in)} the output has shape {got}, expected {tuple(shape_out)}.",
                )
        if not any(p.requires_grad for p in model.parameters()):
            return _report(exercise, False, "the model has no trainable parameters: there is nothing to learn.")
        other = _forward(model, input_shape, 99)
        if _shape(other) == _shape(out) and torch.allclose(_forward(model, input_shape, 0), other):
            return _report(
                exercise, False, "the model gives the same output for every input: its output ignores the image."
            )
        for kinds, verdict in ((require, True), (forbid, False)):
            if verdict:
                missing = _layer_counts(model, kinds)
                if missing:
                    return _report(exercise, False, missing)
            else:
                banned = [k.__name__ for k in kinds if any(isinstance(m, k) for m in model.modules())]
                if banned:
                    return _report(exercise, False, f"it uses {banned[0]}, which this task asks you to do without.")
        if max_params is not None and count > max_params:
            return _report(exercise, False, f"it has {count:,} parameters; aim for at most {max_params:,}.")
        if params is not None:
            low, high = (params, params) if isinstance(params, numbers.Integral) else params
            if not low <= count <= high:
                wanted = f"exactly {low:,}" if low == high else f"between {low:,} and {high:,}"
                return _report(exercise, False, f"it has {count:,} parameters; the task asks for {wanted}.")
        for test, message in rules:
            try:
                ok = bool(test(model))
            except Exception:
                ok = False
            if not ok:
                return _report(exercise, False, message)
        return _report(
            exercise, True, success or f"{tuple(input_shape)} → {tuple(output_shape)}, {count:,} parameters."
        )
    except Exception as exc:
        return _report(exercise, False, f"could not check this model ({type(exc).__name__}: {exc}).")


def check_that(answer, conditions, *, exercise: str = "Exercise", hints=(), success: str = "") -> bool | None:
    """Check what ``answer`` does, where many answers are right.

    ``conditions`` is a list of ``(test, message)`` pairs; ``test(answer)`` must return
    True, else the first failing pair's message is printed (after a matching targeted
    hint from ``hints``, which works as in :func:`check_value`). A test that raises
    counts as failed, with the error named; one that meets ``NotImplementedError`` (the
    learner's function is not written yet) means not attempted.
    """
    try:
        if answer is PLACEHOLDER:
            return _report(exercise, None, "Replace the `...` with your answer and run the cell again.")
        for test, message in conditions:
            try:
                ok = test(answer)
            except NotImplementedError:
                return _report(exercise, None, "Replace `raise NotImplementedError` with your code.")
            except Exception as exc:
                detail = str(exc).splitlines()[0] if str(exc) else ""
                return _report(exercise, False, f"{message} (checking it raised {type(exc).__name__}: {detail})")
            if not (ok is True or (isinstance(ok, (np.bool_, torch.Tensor)) and bool(ok))):
                return _report(exercise, False, _hint_for(answer, hints) or message)
        return _report(exercise, True, success)
    except Exception as exc:
        return _report(exercise, False, f"could not check this answer ({type(exc).__name__}: {exc}).")
