"""Tests for cnnkit.checks: the exercise self-checks print one line and never raise."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnkit.checks import check_function, check_model, check_value


def one_line(capsys) -> str:
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# ----------------------------------------------------------------------------------------------------------------
# check_value: right answers


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (30, 30),
        (0.1 + 0.2, 0.3),
        (3, 3.0),
        (np.int64(28), 28),
        (np.float32(0.1), 0.1),
        (torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])),
        (np.array([[1, 2], [3, 4]]), np.array([[1.0, 2.0], [3.0, 4.0]])),
        (torch.tensor([1, 2, 3]), [1, 2, 3]),
        ([1, 2, 3], [1, 2, 3]),
        ((55, 55), (55, 55)),
        ([1.0000001, 2.0], np.array([1.0, 2.0])),
        ("ReLU", "relu"),
        ("  Max Pooling ", "max pooling"),
        (True, True),
        (["conv", 3], ["Conv", 3]),
        ({"a": 1}, {"a": 1}),
    ],
)
def test_check_value_right_answers(capsys, answer, expected):
    assert check_value(answer, expected, exercise="Ex 1") is True
    line = one_line(capsys)
    assert line.startswith("✅ Ex 1: correct!")


def test_check_value_success_message_and_tolerance(capsys):
    assert check_value(3.14, 3.14159, tol=0.01, success="Well done.") is True
    assert one_line(capsys) == "✅ Exercise: correct! Well done."
    assert check_value(3.14, 3.14159) is False
    assert "too small" in one_line(capsys)


@pytest.mark.parametrize(
    "answer",
    [torch.tensor(3.0), torch.tensor([3.0]), torch.tensor(3.0, requires_grad=True) * 1, np.array(3.0), np.array([3])],
)
def test_check_value_single_number_tensor_or_array_for_a_number(capsys, answer):
    """A loss or a count computed with torch is a 0-d tensor; it is the right answer to a numeric exercise."""
    assert check_value(answer, 3) is True
    assert one_line(capsys).startswith("✅")


# ----------------------------------------------------------------------------------------------------------------
# check_value: wrong answers


@pytest.mark.parametrize(
    ("answer", "expected", "reason"),
    [
        (31, 30, "too large"),
        (29.5, 30, "too small"),
        (None, 30, "expected a number, but your answer is NoneType None"),
        ("30", 30, "expected a number, but your answer is str '30'"),
        (True, 1, "expected a number"),
        ([30], 30, "expected a number"),
        (torch.zeros(2, 3), torch.zeros(3, 2), "shape (2, 3), expected (3, 2)"),
        (np.ones(4), [1, 1, 1], "shape (4,), expected (3,)"),
        (torch.tensor([1.0, 2.5, 3.0]), [1, 2, 3], "values differ (largest difference at index (1,))"),
        ("max", "average", "your answer is str 'max'"),
        (1, True, "your answer is int 1"),
        (None, [1, 2], "your answer has shape (), expected (2,)"),
        ("abc", [1, 2], "expected numbers shaped (2,)"),
        (["conv", 5], ["conv", 3], "item 1: your answer is 5; that is too large"),
        (["conv"], ["conv", 3], "expected 2 items"),
        ({"a": 2}, {"a": 1}, "your answer is dict {'a': 2}"),
    ],
)
def test_check_value_wrong_answers_say_why(capsys, answer, expected, reason):
    assert check_value(answer, expected, exercise="Ex 2") is False
    line = one_line(capsys)
    assert line.startswith("❌ Ex 2: not yet.")
    assert reason in line


def test_check_value_placeholder_is_not_attempted(capsys):
    assert check_value(..., 30, exercise="Ex 3") is None
    line = one_line(capsys)
    assert line.startswith("⏳ Ex 3: not attempted yet.")
    assert "`...`" in line


def test_check_value_targeted_hints(capsys):
    hints = [(32, "You forgot that the kernel shrinks the image."), (lambda a: a > 100, "Far too large: divide?")]
    assert check_value(32, 28, hints=hints) is False
    assert "You forgot that the kernel shrinks the image." in one_line(capsys)
    assert check_value(1024, 28, hints=hints) is False
    assert "Far too large: divide?" in one_line(capsys)
    assert check_value(27, 28, hints=hints) is False
    line = one_line(capsys)
    assert "too small" in line and "forgot" not in line and "Far" not in line
    assert check_value(28, 28, hints=hints) is True  # a hint never turns a right answer wrong
    one_line(capsys)


def test_check_value_hint_that_raises_is_skipped(capsys):
    def crashing_test(answer):
        raise RuntimeError("bad hint")

    hints = [(crashing_test, "never shown"), ([2, 1], "you swapped them")]
    assert check_value([2, 1], [1, 2], hints=[(lambda a: a.shape == (2,), "x"), *hints]) is False
    line = one_line(capsys)
    assert "you swapped them" in line and "never shown" not in line


class EvilEquality:
    def __eq__(self, other):
        raise RuntimeError("no comparing me")

    __hash__ = object.__hash__

    def __repr__(self):
        raise RuntimeError("no printing me either")


def generator():
    yield from range(3)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (EvilEquality(), 3),
        (EvilEquality(), {"a": 1}),
        (EvilEquality(), torch.ones(2)),
        ({"a": 1}, 3),
        ({"a": 1}, [1, 2]),
        (generator(), [0, 1, 2]),
        (generator(), 3),
        (object, "relu"),
        (torch.ones(2, requires_grad=True) * 2, torch.ones(3)),
        (float("nan"), 1.0),
        (complex(1, 2), 1.0),
        ([[1, 2], [3]], [[1, 2], [3, 4]]),
    ],
)
def test_check_value_never_raises_for_weird_input(capsys, answer, expected):
    assert check_value(answer, expected) is False
    assert one_line(capsys).startswith("❌")


def test_check_value_tensor_with_grad_is_fine(capsys):
    weights = torch.tensor([0.5, -1.0], requires_grad=True)
    assert check_value(weights * 2, [1.0, -2.0]) is True
    assert one_line(capsys).startswith("✅")


# ----------------------------------------------------------------------------------------------------------------
# check_function


def out_size(n, k, p=0, s=1):
    return (n + 2 * p - k) // s + 1


CASES = [((32, 5), 28), ((32, 5, 2), 32), ({"n": 224, "k": 11, "p": 2, "s": 4}, 55)]


def test_check_function_passes_a_correct_function(capsys):
    assert check_function(out_size, CASES, exercise="Output size") is True
    assert one_line(capsys) == "✅ Output size: correct! all 3 test cases pass."


def test_check_function_reports_the_failing_case(capsys):
    def forgot_padding(n, k, p=0, s=1):
        return (n - k) // s + 1

    assert check_function(forgot_padding, CASES) is False
    line = one_line(capsys)
    assert line.startswith("❌")
    assert "on (32, 5, 2) your answer is 28; that is too small." in line


def test_check_function_with_keyword_case_and_hint(capsys):
    def forgot_stride(n, k, p=0, s=1):
        return n + 2 * p - k + 1

    hints = [(lambda r: r == 218, "Divide by the stride.")]
    assert check_function(forgot_stride, CASES, hints=hints) is False
    line = one_line(capsys)
    assert "on (n=224, k=11, p=2, s=4)" in line and "Divide by the stride." in line


def test_check_function_reports_an_exception_without_raising(capsys):
    def crashes(n, k, p=0, s=1):
        return n // (s - 1)

    assert check_function(crashes, CASES) is False
    line = one_line(capsys)
    assert "your function raised ZeroDivisionError on (32, 5)" in line


def test_check_function_not_implemented_is_not_attempted(capsys):
    def todo(n, k, p=0, s=1):
        raise NotImplementedError

    assert check_function(todo, CASES, exercise="Ex 4") is None
    assert one_line(capsys).startswith("⏳ Ex 4: not attempted yet.")
    assert check_function(..., CASES, exercise="Ex 4") is None
    assert one_line(capsys).startswith("⏳ Ex 4: not attempted yet.")


@pytest.mark.parametrize("not_a_function", [42, "out_size", None, [out_size]])
def test_check_function_non_callable(capsys, not_a_function):
    assert check_function(not_a_function, CASES) is False
    line = one_line(capsys)
    assert line.startswith("❌") and "expected a function" in line


def test_check_function_returning_a_tensor_is_compared_by_value(capsys):
    assert check_function(lambda t: t * 2, [((torch.tensor([1.0, 2.0]),), torch.tensor([2.0, 4.0]))]) is True
    one_line(capsys)
    assert check_function(lambda t: t * 3, [((torch.tensor([1.0, 2.0]),), torch.tensor([2.0, 4.0]))]) is False
    assert "values differ" in one_line(capsys)


def test_check_function_malformed_cases_do_not_raise(capsys):
    assert check_function(out_size, [(32, 28)]) is False
    assert one_line(capsys).startswith("❌")


# ----------------------------------------------------------------------------------------------------------------
# check_model


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 14 * 14, 10)
    )


def test_check_model_right_model(capsys):
    model = small_cnn()
    model.train()
    assert check_model(model, (2, 1, 28, 28), (2, 10), exercise="CNN") is True
    line = one_line(capsys)
    assert line.startswith("✅ CNN: correct!")
    assert "(2, 1, 28, 28) → (2, 10)" in line and "7,890 parameters" in line
    assert model.training  # the mode is put back


def test_check_model_wrong_output_shape(capsys):
    assert check_model(small_cnn(), (2, 1, 28, 28), (2, 5)) is False
    line = one_line(capsys)
    assert line.startswith("❌") and "the output has shape (2, 10), expected (2, 5)" in line


def test_check_model_output_not_a_tensor(capsys):
    class TwoOutputs(nn.Module):
        def forward(self, x):
            return x, x

    assert check_model(TwoOutputs(), (1, 3), (1, 3)) is False
    assert "the output has shape tuple" in one_line(capsys)


def test_check_model_that_crashes(capsys):
    model = nn.Sequential(nn.Flatten(), nn.Linear(100, 10))
    model.train()
    assert check_model(model, (2, 1, 28, 28), (2, 10)) is False
    line = one_line(capsys)
    assert line.startswith("❌") and "fails on an input of shape (2, 1, 28, 28)" in line
    assert "mat1 and mat2" in line
    assert model.training


def test_check_model_crash_without_message(capsys):
    class Silent(nn.Module):
        def forward(self, x):
            raise ValueError

    assert check_model(Silent(), (1, 2), (1, 2)) is False
    assert "ValueError" in one_line(capsys)


@pytest.mark.parametrize("not_a_model", [small_cnn, "model", None, lambda x: x])
def test_check_model_not_a_module(capsys, not_a_model):
    assert check_model(not_a_model, (2, 1, 28, 28), (2, 10)) is False
    line = one_line(capsys)
    assert line.startswith("❌") and "expected an nn.Module" in line


def test_check_model_placeholder(capsys):
    assert check_model(..., (2, 1, 28, 28), (2, 10), exercise="Ex 5") is None
    assert one_line(capsys).startswith("⏳ Ex 5: not attempted yet.")


def test_check_model_max_params(capsys):
    assert check_model(small_cnn(), (2, 1, 28, 28), (2, 10), max_params=7_890) is True
    one_line(capsys)
    assert check_model(small_cnn(), (2, 1, 28, 28), (2, 10), max_params=5_000) is False
    line = one_line(capsys)
    assert "it has 7,890 parameters; aim for at most 5,000." in line


def test_check_model_bad_shapes_do_not_raise(capsys):
    assert check_model(small_cnn(), "28x28", (2, 10)) is False
    assert one_line(capsys).startswith("❌")
    assert check_model(small_cnn(), (2, 1, 28, 28), None) is False
    assert one_line(capsys).startswith("❌")


def test_check_value_compares_a_tuple_of_arrays_of_different_shapes(capsys):
    W, b = np.ones((2, 3)), np.zeros(2)
    assert check_value((W.copy(), b.copy()), (W, b), exercise="E") is True
    assert check_value((W.copy(), b + 1), (W, b), exercise="E") is False
    assert "item 1" in capsys.readouterr().out
    assert check_value((W.copy(),), (W, b), exercise="E") is False


def test_check_function_describes_large_arguments_briefly(capsys):
    check_function(lambda x: x.sum(), [((torch.ones(100, 100),), 0.0)], exercise="E")
    out = capsys.readouterr().out
    assert "Tensor of shape (100, 100)" in out and len(out) < 300
