"""Tests for cnnkit.checks: the exercise self-checks print one line and never raise."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnkit.checks import check_function, check_model, check_that, check_value


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
    """A loss computed with torch is a 0-d tensor; it is the right answer to a numeric exercise."""
    assert check_value(answer, 3.0) is True
    assert one_line(capsys).startswith("✅")


@pytest.mark.parametrize("answer", [torch.tensor(3), torch.tensor([3]), np.array(3), np.array([3]), np.int64(3)])
def test_check_value_integer_tensor_or_array_for_a_whole_number(capsys, answer):
    """A count computed with torch (``(preds == y).sum()``) is an integer tensor: a whole number."""
    assert check_value(answer, 3) is True
    assert one_line(capsys).startswith("✅")


@pytest.mark.parametrize(
    "answer", [3.0, torch.tensor(3.0), np.float64(3.0), np.array([3.0]), 2416.0 / 805.3333333333334]
)
def test_check_value_a_float_is_not_a_whole_number(capsys, answer):
    assert check_value(answer, 3) is False
    assert "whole number (an int)" in one_line(capsys)


# ----------------------------------------------------------------------------------------------------------------
# check_value: wrong answers


@pytest.mark.parametrize(
    ("answer", "expected", "reason"),
    [
        (31, 30, "too large"),
        (29.5, 30, "whole number (an int), but your answer is float 29.5"),
        (29.5, 30.0, "too small"),
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
        ("abc", [1, 2], "expected numbers, but your answer holds words"),
        (["1", "2"], [1, 2], "holds words"),
        (np.array(["1", "2"]), [1, 2], "holds words"),
        ("15", 15, "expected a number"),
        (float("nan"), 2.0, "NaN"),
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


# ----------------------------------------------------------------------------------------------------------------
# strictness where the task is strict, generosity where it is not


@pytest.mark.parametrize(("answer", "ok"), [(1.96, True), (1.9644, True), (1.965, True), (2.0, False), (1.95, False)])
def test_check_value_decimals_accepts_every_rounding_of_the_answer(capsys, answer, ok):
    assert check_value(answer, 1.9644, decimals=2) is ok
    one_line(capsys)


def test_check_value_whole_arrays(capsys):
    assert check_value([30, 32], [30, 32], whole=True) is True
    one_line(capsys)
    assert check_value([30.0, 32.0], [30, 32], whole=True) is False
    assert "whole numbers" in one_line(capsys)


def test_check_value_whole_false_accepts_a_float_for_an_int(capsys):
    assert check_value(3.0, 3, whole=False) is True
    one_line(capsys)


def test_check_function_results_must_be_whole_when_expected_is_an_int(capsys):
    assert check_function(lambda n: n / 2 + 1, [((4,), 3)]) is False
    assert "whole number" in one_line(capsys)


def test_check_function_catches_in_place_changes(capsys):
    def in_place(v, g):
        return v.mul_(0.9).add_(g)

    def fresh(v, g):
        return 0.9 * v + g

    v, g = torch.ones(3), torch.ones(3)
    case = [((v, g), torch.full((3,), 1.9))]
    assert check_function(in_place, case) is False
    line = one_line(capsys)
    assert "changed its argument number 1 in place" in line
    assert torch.equal(v, torch.ones(3)), "the checker's own case must not be spoiled"
    assert check_function(fresh, case) is True
    one_line(capsys)
    assert check_function(in_place, case, pure=False) is True
    one_line(capsys)


def test_check_function_catches_in_place_changes_of_keyword_and_numpy_arguments(capsys):
    def clip(x):
        x[x < 0] = 0
        return x

    assert check_function(clip, [({"x": np.array([-1.0, 2.0])}, np.array([0.0, 2.0]))]) is False
    assert "argument 'x' in place" in one_line(capsys)


def test_check_function_gives_each_case_fresh_arguments(capsys):
    shared = [1, 2]

    def appends(values):
        values = list(values)
        values.append(3)
        return len(values)

    assert check_function(appends, [((shared,), 3), ((shared,), 3)]) is True
    one_line(capsys)


def conv_free():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def test_check_model_require_layers(capsys):
    assert check_model(conv_free(), (2, 1, 28, 28), (2, 10), require=[nn.Conv2d]) is False
    assert "no Conv2d layer" in one_line(capsys)
    assert check_model(small_cnn(), (2, 1, 28, 28), (2, 10), require={nn.Conv2d: 2}) is False
    assert "1 Conv2d layer(s); the task needs at least 2" in one_line(capsys)
    assert check_model(small_cnn(), (2, 1, 28, 28), (2, 10), require={(nn.ReLU, nn.Tanh): 1, nn.Conv2d: 1}) is True
    one_line(capsys)


def test_check_model_forbid_layers(capsys):
    assert check_model(small_cnn(), (2, 1, 28, 28), (2, 10), forbid=[nn.MaxPool2d]) is False
    assert "uses MaxPool2d" in one_line(capsys)


@pytest.mark.parametrize(("params", "ok"), [(7_890, True), (7_891, False), ((7_000, 8_000), True), ((1, 7_889), False)])
def test_check_model_parameter_count(capsys, params, ok):
    assert check_model(small_cnn(), (2, 1, 28, 28), (2, 10), params=params) is ok
    line = one_line(capsys)
    if not ok:
        assert "7,890 parameters; the task asks for" in line


def test_check_model_without_trainable_parameters_fails(capsys):
    frozen = small_cnn().requires_grad_(False)
    assert check_model(frozen, (2, 1, 28, 28), (2, 10)) is False
    assert "no trainable parameters" in one_line(capsys)
    assert check_model(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), (2, 10, 8, 8), (2, 10)) is False
    assert "no trainable parameters" in one_line(capsys)


def test_check_model_whose_output_ignores_the_input_fails(capsys):
    class Constant(nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(10))

        def forward(self, x):
            return self.bias.expand(len(x), 10)

    assert check_model(Constant(), (2, 1, 28, 28), (2, 10)) is False
    assert "same output for every input" in one_line(capsys)


def test_check_model_more_input_sizes(capsys):
    fixed = small_cnn()
    assert check_model(fixed, (2, 1, 28, 28), (2, 10), also=[((2, 1, 32, 32), (2, 10))]) is False
    assert "fails on an input of shape (2, 1, 32, 32)" in one_line(capsys)
    pooled = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    assert check_model(pooled, (2, 1, 28, 28), (2, 10), also=[((2, 1, 32, 32), (2, 10))]) is True
    one_line(capsys)


def test_check_model_rules(capsys):
    only_3x3 = (lambda m: all(c.kernel_size == (3, 3) for c in m.modules() if isinstance(c, nn.Conv2d)), "3×3 only")
    five = nn.Sequential(nn.Conv2d(1, 4, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 28 * 28, 10))
    assert check_model(five, (2, 1, 28, 28), (2, 10), rules=[only_3x3]) is False
    assert "3×3 only" in one_line(capsys)
    assert check_model(small_cnn(), (2, 1, 28, 28), (2, 10), rules=[only_3x3]) is True
    one_line(capsys)
    crashing = (lambda m: 1 / 0, "the rule failed")
    assert check_model(small_cnn(), (2, 1, 28, 28), (2, 10), rules=[crashing]) is False
    assert "the rule failed" in one_line(capsys)


# ----------------------------------------------------------------------------------------------------------------
# check_that: behaviour, where many answers are right


def responds_to_a_step(kernel):
    image = np.vstack([np.ones((3, 5)), np.zeros((3, 5))])  # bright above, dark below
    k = np.asarray(kernel, dtype=float)
    return float((image[1:4, 1:4] * k).sum()) > 0


CONDITIONS = [
    (lambda k: np.shape(k) == (3, 3), "the kernel must be 3×3."),
    (lambda k: abs(float(np.sum(k))) < 1e-9, "its weights must sum to 0, so a flat region gives 0."),
    (responds_to_a_step, "it must respond positively where the image gets darker going down."),
]


@pytest.mark.parametrize(
    "kernel",
    [
        [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
        [[2, 4, 2], [0, 0, 0], [-2, -4, -2]],
        np.array([[0, 1, 0], [0, 0, 0], [0, -1, 0]]),
    ],
)
def test_check_that_accepts_every_kernel_that_does_the_job(capsys, kernel):
    assert check_that(kernel, CONDITIONS, exercise="K") is True
    assert one_line(capsys).startswith("✅ K: correct!")


@pytest.mark.parametrize(
    ("kernel", "reason"),
    [
        ([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], "positively"),
        ([[1, 2, 1], [0, 1, 0], [-1, -2, -1]], "sum to 0"),
        ([[1, 2], [-1, -2]], "3×3"),
        ("sobel", "3×3"),
    ],
)
def test_check_that_rejects_kernels_that_do_not(capsys, kernel, reason):
    assert check_that(kernel, CONDITIONS) is False
    assert reason in one_line(capsys)


def test_check_that_placeholder_not_implemented_and_hints(capsys):
    assert check_that(..., CONDITIONS) is None
    assert "not attempted" in one_line(capsys)

    def todo(x):
        raise NotImplementedError

    assert check_that(todo, [(lambda f: f(1) == 1, "f(1) must be 1")]) is None
    assert "not attempted" in one_line(capsys)
    flipped = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
    assert check_that(flipped, CONDITIONS, hints=[(flipped, "that is Sobel y itself: flip its sign.")]) is False
    assert "flip its sign" in one_line(capsys)
