"""Optimizers written out from their update rules, and 2-D functions to race them on.

``SGD``, ``RMSProp`` and ``Adam`` are the few lines of lesson 07, each wrapped as a
``torch.optim.Optimizer`` so that ``cnnkit.fit`` (or any training loop) can use them.
They follow torch's conventions exactly, and the tests check them step for step
against ``torch.optim`` (to 1e-6). With ``g`` the gradient and ``η`` the learning rate:

- SGD:       ``v ← μ·v + g``;  ``θ ← θ − η·v``  (plain SGD when the momentum μ is 0)
- RMSProp:   ``s ← α·s + (1 − α)·g²``;  ``θ ← θ − η·g / (√s + ε)``
- Adam:      ``m ← β₁·m + (1 − β₁)·g``;  ``v ← β₂·v + (1 − β₂)·g²``;
  ``θ ← θ − η·m̂ / (√v̂ + ε)`` with the bias corrections ``m̂ = m/(1 − β₁ᵗ)``, ``v̂ = v/(1 − β₂ᵗ)``
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ._validate import check_int, check_number

__all__ = [
    "FUNCTIONS",
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "RMSProp",
    "TestFunction",
    "distance_to_minimum",
    "make_optimizer",
    "optimize_path",
]


def _learning_rate(lr) -> float:
    return check_number("lr", lr, positive=True)


def _fraction(name: str, value) -> float:
    value = check_number(name, value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}.")
    return value


class _FromScratch(torch.optim.Optimizer):
    """The loop every optimizer shares: for each parameter with a gradient, apply ``update``."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p, p.grad, self.state[p], group)
        return loss

    def update(self, p, g, state, group):  # the update rule: one parameter, in place
        raise NotImplementedError


class SGD(_FromScratch):
    """Stochastic gradient descent, with optional (heavy-ball) momentum."""

    def __init__(self, params, lr: float, momentum: float = 0.0):
        super().__init__(params, {"lr": _learning_rate(lr), "momentum": _fraction("momentum", momentum)})

    def update(self, p, g, state, group):
        if group["momentum"]:
            if "velocity" not in state:
                state["velocity"] = g.clone()  # the first step starts from the gradient itself
            else:
                state["velocity"].mul_(group["momentum"]).add_(g)
            g = state["velocity"]
        p.sub_(group["lr"] * g)


class RMSProp(_FromScratch):
    """RMSProp (Hinton, 2012): divide each step by a running root-mean-square of the gradient."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8):
        eps = check_number("eps", eps, positive=True)
        super().__init__(params, {"lr": _learning_rate(lr), "alpha": _fraction("alpha", alpha), "eps": eps})

    def update(self, p, g, state, group):
        square = state.setdefault("square_avg", torch.zeros_like(p))
        square.mul_(group["alpha"]).add_((1 - group["alpha"]) * g * g)
        p.sub_(group["lr"] * g / (square.sqrt() + group["eps"]))


class Adam(_FromScratch):
    """Adam (Kingma & Ba, 2014): momentum and RMSProp together, with bias correction."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2) like (0.9, 0.999), got {betas!r}.")
        betas = (_fraction("betas[0]", betas[0]), _fraction("betas[1]", betas[1]))
        eps = check_number("eps", eps, positive=True)
        super().__init__(params, {"lr": _learning_rate(lr), "betas": betas, "eps": eps})

    def update(self, p, g, state, group):
        beta1, beta2 = group["betas"]
        if not state:
            state.update(step=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
        state["step"] += 1
        t, m, v = state["step"], state["m"], state["v"]
        m.mul_(beta1).add_((1 - beta1) * g)
        v.mul_(beta2).add_((1 - beta2) * g * g)
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))


OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")


def make_optimizer(name: str, params, *, lr: float, momentum: float = 0.9) -> torch.optim.Optimizer:
    """One of ``OPTIMIZERS`` by name: "momentum" is SGD with ``momentum`` (default 0.9)."""
    if name == "sgd":
        return SGD(params, lr=lr)
    if name == "momentum":
        return SGD(params, lr=lr, momentum=momentum)
    if name == "rmsprop":
        return RMSProp(params, lr=lr)
    if name == "adam":
        return Adam(params, lr=lr)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}.")


@dataclass(frozen=True)
class TestFunction:
    """A 2-D function to minimise, with a start point, its minimum and a good plotting window."""

    __test__ = False  # not a pytest test class

    name: str
    f: Callable[[torch.Tensor], torch.Tensor]
    start: tuple[float, float]
    minimum: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def __call__(self, xy):
        return self.f(xy)

    def grid(self, n: int = 200):
        """(X, Y, Z) arrays over the plotting window, for ``plt.contour``."""
        xs = torch.linspace(*self.xlim, n, dtype=torch.float64)
        ys = torch.linspace(*self.ylim, n, dtype=torch.float64)
        X, Y = torch.meshgrid(xs, ys, indexing="xy")
        Z = self.f(torch.stack([X, Y]))
        return X.numpy(), Y.numpy(), Z.numpy()


FUNCTIONS: dict[str, TestFunction] = {
    "quadratic": TestFunction(
        "quadratic",
        lambda xy: 0.5 * (xy[0] ** 2 + 25 * xy[1] ** 2),  # curvature 1 along x, 25 along y: ill-conditioned
        start=(-4.0, 1.5),
        minimum=(0.0, 0.0),
        xlim=(-5.0, 5.0),
        ylim=(-2.0, 2.0),
    ),
    "rosenbrock": TestFunction(
        "rosenbrock",
        lambda xy: (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2,  # a curved, flat-bottomed valley
        start=(-1.5, 2.0),
        minimum=(1.0, 1.0),
        xlim=(-2.0, 2.0),
        ylim=(-1.0, 3.0),
    ),
}


def optimize_path(
    function, optimizer: str, *, lr: float, steps: int = 100, momentum: float = 0.9, start=None
) -> np.ndarray:
    """The points an optimizer visits while minimising a 2-D test function.

    ``function``: a name in ``FUNCTIONS`` (or a ``TestFunction``); ``optimizer``: one of
    ``OPTIMIZERS``; ``momentum`` is used by "momentum" only. Returns an array of shape
    (k, 2): the start and each step's point. If the optimizer diverges (a coordinate
    becomes non-finite or larger than 1e6) the path stops there, so k ≤ steps + 1.
    """
    if isinstance(function, str):
        if function not in FUNCTIONS:
            raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}, got {function!r}.")
        function = FUNCTIONS[function]
    if not isinstance(function, TestFunction):
        raise TypeError(f"function must be a name in FUNCTIONS or a TestFunction, got {type(function).__name__}.")
    steps = check_int("steps", steps, minimum=0)
    lr = _learning_rate(lr)
    start = function.start if start is None else start
    if len(start) != 2:
        raise ValueError(f"start must be a point (x, y), got {start!r}.")
    xy = torch.tensor([float(start[0]), float(start[1])], dtype=torch.float64, requires_grad=True)
    opt = make_optimizer(optimizer, [xy], lr=lr, momentum=momentum)
    path = [xy.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        function(xy).backward()
        opt.step()
        point = xy.detach().numpy().copy()
        if not np.all(np.isfinite(point)) or np.abs(point).max() > 1e6:
            break
        path.append(point)
    return np.array(path)


def distance_to_minimum(function, point) -> float:
    """Euclidean distance from ``point`` to the function's minimum."""
    function = FUNCTIONS[function] if isinstance(function, str) else function
    return float(math.dist(point, function.minimum))
