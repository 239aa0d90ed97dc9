"""Gradient norms per layer, and the plain deep nets of lesson 05."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnkit import probes


def batch(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_deep_net_structure():
    model = probes.deep_net(4, "tanh", width=16)
    assert sum(isinstance(m, nn.Linear) for m in model) == 5
    assert sum(isinstance(m, nn.Tanh) for m in model) == 4
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_gradient_norms_match_a_manual_backward_and_leave_grads_alone():
    torch.manual_seed(0)
    model = probes.deep_net(3, "relu", width=8)
    x, y = batch()
    sentinel = torch.full_like(model[1].weight, 7.0)
    model[1].weight.grad = sentinel.clone()
    norms = probes.gradient_norms(model, x, y)
    assert list(norms) == ["1", "3", "5", "7"]
    assert torch.equal(model[1].weight.grad, sentinel)
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    for name, value in norms.items():
        assert value == pytest.approx(float(dict(model.named_modules())[name].weight.grad.norm()))


def test_sigmoid_gradients_vanish_much_faster_than_relu():
    ratios = {}
    for activation in ("sigmoid", "relu"):
        norms = list(probes.gradient_profile(activation, 12).values())
        ratios[activation] = norms[0] / norms[-1]
    assert ratios["sigmoid"] < 1e-4 < ratios["relu"]


def test_gradient_profile_is_deterministic():
    assert probes.gradient_profile("tanh", 5) == probes.gradient_profile("tanh", 5)


def test_gradient_norms_works_on_conv_nets():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    assert list(probes.gradient_norms(model, *batch(8))) == ["0", "3"]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: probes.deep_net(0), ValueError, "depth must be at least 1"),
        (lambda: probes.deep_net(3, "swish"), ValueError, "activation must be one of"),
        (lambda: probes.gradient_norms("net", *batch(2)), TypeError, "nn.Module"),
        (lambda: probes.gradient_norms(nn.ReLU(), *batch(2)), ValueError, "no Linear or Conv2d"),
        (lambda: probes.gradient_norms(probes.deep_net(1), batch(4)[0], batch(3)[1]), ValueError, "same number"),
        (
            lambda: probes.gradient_norms(probes.deep_net(1, num_classes=3), *batch(4)),
            ValueError,
            "the loss cannot compare",
        ),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
