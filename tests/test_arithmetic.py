"""Tests for cnnkit.arithmetic: every size, padding and parameter count is compared with real torch layers."""

import random

import pytest
import torch
from torch import nn

from cnnkit.arithmetic import conv_output_size, conv_params, pool_output_size, receptive_field, same_padding


def torch_conv_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output (height, width) of a real nn.Conv2d, or None when torch refuses the setting."""
    height, width = size if isinstance(size, tuple) else (size, size)
    try:
        layer = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False)
        return tuple(layer(torch.zeros(1, 1, height, width)).shape[-2:])
    except (RuntimeError, ValueError):
        return None


def torch_pool_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output (height, width) of a real nn.MaxPool2d, or None when torch refuses the setting."""
    height, width = size if isinstance(size, tuple) else (size, size)
    try:
        layer = nn.MaxPool2d(kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
        return tuple(layer(torch.zeros(1, 1, height, width)).shape[-2:])
    except (RuntimeError, ValueError):
        return None


def cnnkit_size(fn, size, **kwargs):
    """cnnkit's answer as (height, width), or None when it raises ValueError."""
    try:
        out = fn(size, **kwargs)
    except ValueError:
        return None
    return out if isinstance(out, tuple) else (out, out)


def maybe_pair(rng, low, high):
    """A random int, or (a third of the time) a random (height, width) pair."""
    if rng.random() < 1 / 3:
        return (rng.randint(low, high), rng.randint(low, high))
    return rng.randint(low, high)


# ----------------------------------------------------------------------------------------------------------------
# conv_output_size


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((32, 5), {"stride": 1, "padding": 1}, 30),
        ((224, 11), {"stride": 4, "padding": 2}, 55),  # AlexNet conv1
        ((28, 5), {"padding": 2}, 28),  # LeNet conv1 on MNIST
        ((28, 3), {}, 26),
        ((7, 3), {"dilation": 2}, 3),
        ((1, 1), {}, 1),
        ((10, 3), {"stride": 3}, 3),
    ],
)
def test_conv_output_size_known_values(args, kwargs, expected):
    assert conv_output_size(*args, **kwargs) == expected
    assert torch_conv_size(*args, **kwargs) == (expected, expected)


def test_conv_output_size_pairs_in_pairs_out():
    assert conv_output_size((224, 224), 11, stride=4, padding=2) == (55, 55)
    out = conv_output_size((32, 20), (5, 3), stride=(1, 2), padding=(2, 0), dilation=(1, 2))
    assert isinstance(out, tuple)
    assert out == torch_conv_size((32, 20), (5, 3), stride=(1, 2), padding=(2, 0), dilation=(1, 2))
    assert out == (32, 8)
    # one pair anywhere is enough to get a pair back
    assert conv_output_size(32, (3, 5)) == (30, 28)
    assert conv_output_size([32, 16], 3) == (30, 14)


def assert_agrees_with_torch(rng, make_setting, torch_size, cnnkit_fn, layer, cases=300):
    """cnnkit and torch give the same size, or both refuse, on ``cases`` random settings."""
    mismatches, refused = [], 0
    for _ in range(cases):
        setting = make_setting(rng)
        expected = torch_size(**setting)
        got = cnnkit_size(cnnkit_fn, **setting)
        refused += expected is None
        if got != expected:
            mismatches.append((setting, "torch:", expected, "cnnkit:", got))
    assert not mismatches, f"{len(mismatches)} settings disagree with {layer}, e.g. {mismatches[:5]}"
    assert 10 < refused < cases - 10, "the random settings should include both valid and invalid ones"


def test_conv_output_size_agrees_with_nn_conv2d_on_random_settings():
    def setting(rng):
        return {
            "size": maybe_pair(rng, 1, 40),
            "kernel_size": maybe_pair(rng, 1, 9),
            "stride": maybe_pair(rng, 1, 5),
            "padding": maybe_pair(rng, 0, 5),
            "dilation": maybe_pair(rng, 1, 3),
        }

    assert_agrees_with_torch(random.Random(1234), setting, torch_conv_size, conv_output_size, "nn.Conv2d")


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("size", [9, 16, (9, 12)])
@pytest.mark.parametrize(("kernel_size", "dilation"), [(3, 1), (4, 1), (5, 2), ((3, 4), 1)])
def test_conv_output_size_padding_same_and_valid(size, kernel_size, dilation):
    same = conv_output_size(size, kernel_size, padding="same", dilation=dilation)
    valid = conv_output_size(size, kernel_size, padding="valid", dilation=dilation)
    as_pair = lambda v: v if isinstance(v, tuple) else (v, v)
    assert as_pair(same) == torch_conv_size(size, kernel_size, padding="same", dilation=dilation)
    assert as_pair(same) == as_pair(size)
    assert as_pair(valid) == torch_conv_size(size, kernel_size, padding="valid", dilation=dilation)
    assert valid == conv_output_size(size, kernel_size, padding=0, dilation=dilation)


def test_conv_output_size_same_with_stride_2_raises():
    assert torch_conv_size(32, 3, stride=2, padding="same") is None  # torch refuses it too
    with pytest.raises(ValueError, match="stride"):
        conv_output_size(32, 3, stride=2, padding="same")


def test_conv_output_size_unknown_padding_word_raises():
    with pytest.raises(ValueError, match="padding"):
        conv_output_size(32, 3, padding="full")
    with pytest.raises(ValueError, match="padding"):
        conv_output_size(32, 3, padding="3")


def test_conv_output_size_kernel_too_large_raises_with_actionable_message():
    assert torch_conv_size(4, 7) is None
    with pytest.raises(ValueError, match="kernel_size=7") as info:
        conv_output_size(4, 7)
    assert "padding of at least 2" in str(info.value)
    # and the suggested padding really works
    assert conv_output_size(4, 7, padding=2) == 2


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"size": 0}, "size"),
        ({"size": -3}, "size"),
        ({"kernel_size": 0}, "kernel_size"),
        ({"stride": 0}, "stride"),
        ({"padding": -1}, "padding"),
        ({"dilation": 0}, "dilation"),
        ({"kernel_size": (3, 3, 3)}, "kernel_size"),
        ({"size": (32,)}, "size"),
    ],
)
def test_conv_output_size_bad_values_raise_value_error_naming_argument(kwargs, name):
    args = {"size": 32, "kernel_size": 3, "stride": 1, "padding": 0, "dilation": 1, **kwargs}
    with pytest.raises(ValueError, match=name):
        conv_output_size(**args)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        (name, bad)
        for name in ["size", "kernel_size", "stride", "padding", "dilation"]
        for bad in [True, 3.0, 2.5, "3", None]
        if not (name == "padding" and bad == "3")  # padding takes words; "3" is the unknown-word case above
    ],
)
def test_conv_output_size_wrong_types_raise_type_error_naming_argument(name, bad):
    args = {"size": 32, "kernel_size": 3, "stride": 1, "padding": 0, "dilation": 1, name: bad}
    with pytest.raises(TypeError, match=name):
        conv_output_size(**args)


def test_conv_output_size_wrong_type_inside_a_pair_raises_type_error():
    with pytest.raises(TypeError, match="kernel_size"):
        conv_output_size(32, (3, 2.0))
    with pytest.raises(TypeError, match="stride"):
        conv_output_size((32, 32), 3, stride=(1, True))


def test_conv_output_size_accepts_numpy_and_torch_integers():
    import numpy as np

    assert conv_output_size(np.int64(32), np.int32(5), stride=1, padding=1) == 30


# ----------------------------------------------------------------------------------------------------------------
# pool_output_size


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((55, 3), {"stride": 2}, 27),  # AlexNet's overlapping pooling
        ((224, 2, 2), {}, 112),
        ((224, 2), {}, 112),  # stride=None means stride=kernel_size
        ((28, 2), {}, 14),
        ((7, 2), {}, 3),
        ((7, 2), {"ceil_mode": True}, 4),
        ((6, 3), {"stride": 2, "padding": 1}, 3),
        ((5, 2), {"stride": 2, "padding": 1, "ceil_mode": True}, 3),
    ],
)
def test_pool_output_size_known_values(args, kwargs, expected):
    assert pool_output_size(*args, **kwargs) == expected
    assert torch_pool_size(*args, **kwargs) == (expected, expected)


def test_pool_output_size_pairs_in_pairs_out():
    assert pool_output_size((224, 224), 2, 2) == (112, 112)
    out = pool_output_size((28, 15), (2, 3), stride=(2, 1), padding=(1, 0))
    assert out == torch_pool_size((28, 15), (2, 3), stride=(2, 1), padding=(1, 0)) == (15, 13)
    assert pool_output_size((9, 10), 3) == (3, 3)


def test_pool_output_size_agrees_with_nn_maxpool2d_on_random_settings():
    def setting(rng):
        return {
            "size": maybe_pair(rng, 1, 40),
            "kernel_size": maybe_pair(rng, 1, 8),
            "stride": None if rng.random() < 0.2 else maybe_pair(rng, 1, 5),
            "padding": maybe_pair(rng, 0, 4),
            "dilation": maybe_pair(rng, 1, 3),
            "ceil_mode": rng.random() < 0.5,
        }

    assert_agrees_with_torch(random.Random(4321), setting, torch_pool_size, pool_output_size, "nn.MaxPool2d")


def test_pool_output_size_padding_more_than_half_the_window_raises():
    assert torch_pool_size(10, 3, padding=2) is None
    with pytest.raises(ValueError, match="padding"):
        pool_output_size(10, 3, padding=2)
    assert pool_output_size(10, 3, padding=1) == torch_pool_size(10, 3, padding=1)[0] == 4


def test_pool_output_size_padding_limit_with_dilation_matches_torch():
    # torch limits pooling padding to kernel_size // 2 (it checks the undilated kernel too), so
    # MaxPool2d(2, stride=1, padding=2, dilation=3) is refused although its effective window is 4 wide.
    assert torch_pool_size(5, 2, stride=1, padding=2, dilation=3) is None
    with pytest.raises(ValueError, match="padding"):
        pool_output_size(5, 2, stride=1, padding=2, dilation=3)


def test_pool_output_size_ceil_mode_window_larger_than_input_matches_torch():
    # with ceil_mode=True torch keeps one window that starts inside the input even if it overhangs
    assert torch_pool_size(2, 3, stride=2, ceil_mode=True) == (1, 1)
    assert pool_output_size(2, 3, stride=2, ceil_mode=True) == 1
    assert torch_pool_size(6, 9, stride=4, padding=1, ceil_mode=True) == (1, 1)
    assert pool_output_size(6, 9, stride=4, padding=1, ceil_mode=True) == 1


def test_pool_output_size_window_larger_than_input_raises():
    assert torch_pool_size(2, 3, stride=2) is None
    with pytest.raises(ValueError, match="size=2"):
        pool_output_size(2, 3, stride=2)


@pytest.mark.parametrize("name", ["size", "kernel_size", "stride", "padding", "dilation"])
@pytest.mark.parametrize("bad", [True, 2.0, "2"])
def test_pool_output_size_wrong_types_raise_type_error_naming_argument(name, bad):
    args = {"size": 32, "kernel_size": 2, "stride": 2, "padding": 0, "dilation": 1, name: bad}
    with pytest.raises(TypeError, match=name):
        pool_output_size(**args)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"size": 0}, "size"),
        ({"kernel_size": 0}, "kernel_size"),
        ({"stride": 0}, "stride"),
        ({"padding": -1}, "padding"),
    ],
)
def test_pool_output_size_bad_values_raise_value_error_naming_argument(kwargs, name):
    args = {"size": 32, "kernel_size": 2, "stride": None, "padding": 0, **kwargs}
    with pytest.raises(ValueError, match=name):
        pool_output_size(**args)


# ----------------------------------------------------------------------------------------------------------------
# same_padding


def test_same_padding_values():
    assert same_padding(1) == 0
    assert same_padding(3) == 1
    assert same_padding(5) == 2
    assert same_padding(7) == 3
    assert same_padding(3, dilation=2) == 2
    assert same_padding(5, dilation=3) == 6
    assert same_padding(4, dilation=2) == 3  # even kernel, even dilation: still symmetric
    assert same_padding((3, 5)) == (1, 2)
    assert same_padding(3, dilation=(1, 2)) == (1, 2)


@pytest.mark.parametrize(("kernel_size", "dilation"), [(1, 1), (3, 1), (5, 1), (7, 1), (3, 2), (5, 3), (4, 2), (9, 2)])
@pytest.mark.parametrize("size", [9, 16, 31])
def test_same_padding_keeps_the_size_of_a_real_conv(kernel_size, dilation, size):
    padding = same_padding(kernel_size, dilation=dilation)
    assert torch_conv_size(size, kernel_size, padding=padding, dilation=dilation) == (size, size)


@pytest.mark.parametrize(("kernel_size", "dilation"), [(2, 1), (4, 1), (6, 3), ((3, 4), 1)])
def test_same_padding_even_kernel_raises_naming_kernel_size(kernel_size, dilation):
    with pytest.raises(ValueError, match="kernel_size"):
        same_padding(kernel_size, dilation=dilation)


def test_same_padding_bad_input():
    with pytest.raises(TypeError, match="kernel_size"):
        same_padding(3.0)
    with pytest.raises(TypeError, match="kernel_size"):
        same_padding(True)
    with pytest.raises(TypeError, match="dilation"):
        same_padding(3, dilation="2")
    with pytest.raises(ValueError, match="kernel_size"):
        same_padding(0)
    with pytest.raises(ValueError, match="dilation"):
        same_padding(3, dilation=0)
    with pytest.raises(ValueError, match="kernel_size"):
        same_padding((3, 3, 3))


# ----------------------------------------------------------------------------------------------------------------
# conv_params


def test_conv_params_known_values():
    assert conv_params(3, 1, 3) == 28  # 27 weights + 1 bias
    assert conv_params(3, 1, 3, bias=False) == 27
    assert conv_params(1, 6, 5) == 156  # LeNet conv1
    assert conv_params(6, 16, 5) == 2416  # LeNet conv2
    assert conv_params(3, 64, (3, 5)) == 64 * 3 * 15 + 64
    assert conv_params(32, 32, 3, groups=32) == 32 * 9 + 32  # depthwise


def test_conv_params_equals_numel_of_real_conv2d():
    rng = random.Random(7)
    for _ in range(60):
        groups = rng.choice([1, 1, 2, 3, 4])
        in_channels = groups * rng.randint(1, 4)
        out_channels = groups * rng.randint(1, 4)
        kernel_size = maybe_pair(rng, 1, 5)
        bias = rng.random() < 0.5
        layer = nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups, bias=bias)
        expected = sum(p.numel() for p in layer.parameters())
        assert conv_params(in_channels, out_channels, kernel_size, bias=bias, groups=groups) == expected


def test_conv_params_bad_input():
    with pytest.raises(ValueError, match="groups"):
        conv_params(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="in_channels"):
        conv_params(0, 6, 3)
    with pytest.raises(ValueError, match="out_channels"):
        conv_params(3, 0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        conv_params(3, 6, 0)
    with pytest.raises(ValueError, match="groups"):
        conv_params(3, 6, 3, groups=0)
    with pytest.raises(TypeError, match="in_channels"):
        conv_params(3.0, 6, 3)
    with pytest.raises(TypeError, match="out_channels"):
        conv_params(3, True, 3)
    with pytest.raises(TypeError, match="kernel_size"):
        conv_params(3, 6, "3")
    with pytest.raises(TypeError, match="kernel_size"):
        conv_params(3, 6, (3, 1.5))


# ----------------------------------------------------------------------------------------------------------------
# receptive_field


def test_receptive_field_of_tuples():
    assert receptive_field([(3, 1), (3, 1)]) == 5
    assert receptive_field([(3, 1)] * 3) == 7
    assert receptive_field([(3, 1), (2, 2), (3, 1)]) == 8  # a stride-2 pool in between doubles the later step
    assert receptive_field([(3, 1), (3, 1, 2)]) == 7  # dilation 2: the 3x3 spans 5
    assert receptive_field([(11, 4), (3, 2)]) == 19
    assert receptive_field([]) == 1
    assert receptive_field(((5, 1), (2, 2))) == 6


def test_receptive_field_per_layer():
    assert receptive_field([(3, 1), (3, 1), (3, 1)], per_layer=True) == [3, 5, 7]
    assert receptive_field([(3, 1), (2, 2), (3, 1), (2, 2)], per_layer=True) == [3, 4, 8, 10]
    assert receptive_field([], per_layer=True) == []


def test_receptive_field_of_an_nn_sequential():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Sequential(nn.Conv2d(4, 4, 3), nn.ReLU()),  # nested modules are read too
        nn.AvgPool2d(2),
        nn.Flatten(),
    )
    assert receptive_field(model) == 3 + 1 + 2 * 2 + 2 * 1
    assert receptive_field(model, per_layer=True) == [3, 4, 8, 10]
    assert receptive_field(nn.Sequential(nn.ReLU(), nn.Flatten())) == 1


def test_receptive_field_of_a_module_matches_the_gradient_footprint():
    """The input pixels that one output unit depends on span exactly the receptive field."""
    model = nn.Sequential(
        nn.Conv2d(1, 1, 3),
        nn.AvgPool2d(2),
        nn.Conv2d(1, 1, 3, dilation=2),
        nn.Conv2d(1, 1, 5, stride=2),
        nn.AvgPool2d(3, stride=1),
        nn.Conv2d(1, 1, (3, 3)),
    )
    for module in model:
        if isinstance(module, nn.Conv2d):
            nn.init.constant_(module.weight, 1.0)
            nn.init.zeros_(module.bias)
    x = torch.ones(1, 1, 80, 80, requires_grad=True)
    model(x)[0, 0, 0, 0].backward()
    rows = torch.nonzero(x.grad[0, 0].sum(1)).flatten()
    footprint = int(rows.max() - rows.min() + 1)
    assert receptive_field(model) == footprint
    assert footprint > 20  # the stack really is deep enough to make this interesting


@pytest.mark.parametrize("bad", [5, "conv", None, {(3, 1)}, nn.Conv2d])
def test_receptive_field_rejects_wrong_container(bad):
    with pytest.raises(TypeError, match="layers"):
        receptive_field(bad)


@pytest.mark.parametrize("bad_layer", [5, (3,), (3, 1, 1, 1), "3x3", None])
def test_receptive_field_rejects_wrong_layers(bad_layer):
    with pytest.raises(TypeError, match="layer"):
        receptive_field([(3, 1), bad_layer])


def test_receptive_field_bad_numbers_name_the_argument():
    with pytest.raises(TypeError, match="kernel_size"):
        receptive_field([(3.0, 1)])
    with pytest.raises(TypeError, match="stride"):
        receptive_field([(3, True)])
    with pytest.raises(ValueError, match="kernel_size"):
        receptive_field([(0, 1)])
    with pytest.raises(ValueError, match="stride"):
        receptive_field([(3, 0)])
    with pytest.raises(ValueError, match="dilation"):
        receptive_field([(3, 1, 0)])
