"""Tests for cnnkit.models.lenet5."""

import pytest
import torch
from torch import nn

from cnnkit.arithmetic import conv_params
from cnnkit.models import lenet5


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_lenet5_has_61706_parameters_for_mnist():
    model = lenet5()
    assert count(model) == 61_706
    assert count(model) == conv_params(1, 6, 5) + conv_params(6, 16, 5) + (400 * 120 + 120) + (120 * 84 + 84) + (
        84 * 10 + 10
    )


def test_lenet5_maps_digits_to_ten_scores():
    torch.manual_seed(0)
    model = lenet5()
    out = model(torch.rand(2, 1, 28, 28))
    assert out.shape == (2, 10) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_lenet5_default_layers_are_relu_and_max_pool():
    model = lenet5()
    assert isinstance(model, nn.Sequential)
    kinds = [type(m) for m in model]
    assert kinds.count(nn.ReLU) == 4 and kinds.count(nn.MaxPool2d) == 2
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (1, 6, (5, 5), (2, 2)),
        (6, 16, (5, 5), (0, 0)),
    ]
    assert [m.out_features for m in model if isinstance(m, nn.Linear)] == [120, 84, 10]


def test_lenet5_1998_flavour_has_the_same_size():
    model = lenet5(activation="sigmoid", pool="avg")
    assert count(model) == 61_706
    kinds = [type(m) for m in model]
    assert kinds.count(nn.Sigmoid) == 4 and kinds.count(nn.AvgPool2d) == 2
    assert nn.ReLU not in kinds and nn.MaxPool2d not in kinds
    assert lenet5(activation="tanh")(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_lenet5_for_colour_32x32_images():
    model = lenet5(num_classes=10, in_channels=3, input_size=32)
    assert model(torch.rand(4, 3, 32, 32)).shape == (4, 10)
    assert count(model) == conv_params(3, 6, 5) + conv_params(6, 16, 5) + (576 * 120 + 120) + 10_164 + 850
    with pytest.raises(RuntimeError):
        model(torch.rand(4, 1, 32, 32))  # it really expects 3 channels


@pytest.mark.parametrize("input_size", [12, 13, 14, 15, 16, 21, 27, 28, 29, 31, 32, 33, 48, 64])
def test_lenet5_works_for_every_input_size(input_size):
    model = lenet5(num_classes=7, input_size=input_size)
    assert model(torch.rand(2, 1, input_size, input_size)).shape == (2, 7)


@pytest.mark.parametrize("num_classes", [1, 2, 100])
def test_lenet5_num_classes(num_classes):
    assert lenet5(num_classes)(torch.rand(1, 1, 28, 28)).shape == (1, num_classes)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"activation": "gelu"}, ValueError, "activation"),
        ({"activation": "ReLU"}, ValueError, "activation"),
        ({"pool": "min"}, ValueError, "pool"),
        ({"pool": None}, ValueError, "pool"),
        ({"num_classes": 0}, ValueError, "num_classes"),
        ({"num_classes": 2.5}, TypeError, "num_classes"),
        ({"num_classes": "10"}, TypeError, "num_classes"),
        ({"in_channels": 0}, ValueError, "in_channels"),
        ({"in_channels": True}, TypeError, "in_channels"),
        ({"input_size": 11}, ValueError, "input_size"),
        ({"input_size": 28.0}, TypeError, "input_size"),
    ],
)
def test_lenet5_bad_arguments(kwargs, error, name):
    with pytest.raises(error, match=name):
        lenet5(**kwargs)


def test_lenet5_too_small_input_hint():
    with pytest.raises(ValueError, match="12×12"):
        lenet5(input_size=8)
