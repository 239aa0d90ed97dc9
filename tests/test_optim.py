"""The from-scratch optimizers match torch.optim step for step; the 2-D race functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import cnnkit
from cnnkit import optim

PAIRS = [
    (lambda p: optim.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    (lambda p: optim.SGD(p, lr=0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    (lambda p: optim.RMSProp(p, lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01, eps=1e-8)),
    (
        lambda p: optim.RMSProp(p, lr=0.003, alpha=0.9, eps=1e-6),
        lambda p: torch.optim.RMSprop(p, lr=0.003, alpha=0.9, eps=1e-6),
    ),
    (lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    (
        lambda p: optim.Adam(p, lr=0.002, betas=(0.8, 0.99), eps=1e-6),
        lambda p: torch.optim.Adam(p, lr=0.002, betas=(0.8, 0.99), eps=1e-6),
    ),
]


def small_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 4)).double()


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=["sgd", "momentum", "rmsprop", "rmsprop-args", "adam", "adam-args"])
def test_matches_torch_optim_step_for_step(ours, theirs):
    a, b = small_net(), small_net()
    opt_a, opt_b = ours(a.parameters()), theirs(b.parameters())
    g = torch.Generator().manual_seed(1)
    for _ in range(25):
        x = torch.randn(8, 1, 6, 6, generator=g, dtype=torch.float64)
        y = torch.randint(0, 4, (8,), generator=g)
        for model, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.allclose(pa, pb, atol=1e-6, rtol=0), (pa - pb).abs().max()
    moved = sum((pa - pb).abs().sum() for pa, pb in zip(a.parameters(), small_net().parameters(), strict=True))
    assert moved > 0.01  # the comparison is not vacuous: the weights did change


def test_fit_trains_with_a_from_scratch_optimizer():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 2, generator=g)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    history = cnnkit.fit(
        model,
        (x, y),
        (x, y),
        epochs=5,
        optimizer=optim.Adam(model.parameters(), lr=0.05),
        progress=False,
        verbose=False,
        device="cpu",
    )
    assert history[-1]["test_acc"] > 0.95


def test_closure_is_supported():
    p = nn.Parameter(torch.tensor([1.0]))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == pytest.approx(1.0)
    assert p.item() == pytest.approx(0.8)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.SGD(p, lr=0), "lr must be greater than 0"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=1.5), "momentum must be in"),
        (lambda p: optim.Adam(p, betas=0.9), "betas must be a pair"),
        (lambda p: optim.RMSProp(p, eps=-1), "eps must be greater than 0"),
    ],
)
def test_bad_hyperparameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(torch.zeros(1))])


def test_functions_have_their_minimum_where_they_say():
    for fn in optim.FUNCTIONS.values():
        at_min = fn(torch.tensor(fn.minimum, dtype=torch.float64))
        assert at_min.item() == pytest.approx(0.0)
        assert fn(torch.tensor(fn.start, dtype=torch.float64)).item() > 1
        X, Y, Z = fn.grid(20)
        assert X.shape == Y.shape == Z.shape == (20, 20) and np.all(Z >= 0)


def test_optimize_path_descends_and_momentum_beats_sgd_on_the_valley():
    fn = optim.FUNCTIONS["quadratic"]
    for name in optim.OPTIMIZERS:
        path = optim.optimize_path("quadratic", name, lr=0.02, steps=200)
        assert path.shape == (201, 2)
        assert fn(torch.tensor(path[-1])) < fn(torch.tensor(path[0]))
    sgd = optim.optimize_path("rosenbrock", "sgd", lr=1e-3, steps=300)
    momentum = optim.optimize_path("rosenbrock", "momentum", lr=1e-3, steps=300)
    assert optim.distance_to_minimum("rosenbrock", momentum[-1]) < optim.distance_to_minimum("rosenbrock", sgd[-1])


def test_optimize_path_stops_when_it_diverges():
    path = optim.optimize_path("quadratic", "sgd", lr=0.1, steps=100)  # 0.1 > 2/25: unstable along y
    assert len(path) < 101 and np.all(np.isfinite(path))


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        (("bowl", "sgd"), {"lr": 0.1}, ValueError, "function must be one of"),
        (("quadratic", "lbfgs"), {"lr": 0.1}, ValueError, "optimizer must be one of"),
        (("quadratic", "sgd"), {"lr": -1}, ValueError, "lr must be greater than 0"),
        (("quadratic", "sgd"), {"lr": 0.1, "start": (1, 2, 3)}, ValueError, "start must be a point"),
        ((42, "sgd"), {"lr": 0.1}, TypeError, "TestFunction"),
    ],
)
def test_optimize_path_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        optim.optimize_path(*args, **kwargs)
