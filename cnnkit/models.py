"""Network architectures used across the course."""

from __future__ import annotations

from torch import nn

from ._validate import check_int

__all__ = ["lenet5"]

_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
_POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


def lenet5(
    num_classes: int = 10, in_channels: int = 1, *, activation: str = "relu", pool: str = "max", input_size: int = 28
) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998, "Gradient-based learning applied to document recognition").

    Two 5×5 convolutions (6 and 16 filters), each followed by 2×2 pooling, then dense
    layers of 120, 84 and ``num_classes`` units: 61,706 parameters for 28×28 digits.
    ``activation="sigmoid", pool="avg"`` gives the 1998 flavour; the defaults (ReLU and
    max pooling) are the modern one, which trains much faster.
    """
    num_classes = check_int("num_classes", num_classes, minimum=1)
    in_channels = check_int("in_channels", in_channels, minimum=1)
    input_size = check_int(
        "input_size",
        input_size,
        minimum=12,
        hint="LeNet-5 needs at least 12×12 pixels to survive two 5×5 convolutions and pooling.",
    )
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}.")
    if pool not in _POOLS:
        raise ValueError(f"pool must be one of {sorted(_POOLS)}, got {pool!r}.")
    act, pooling = _ACTIVATIONS[activation], _POOLS[pool]
    side = ((input_size + 4 - 4) // 2 - 4) // 2  # conv 5 pad 2, pool 2, conv 5, pool 2
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),
        act(),
        pooling(2, 2),
        nn.Conv2d(6, 16, kernel_size=5),
        act(),
        pooling(2, 2),
        nn.Flatten(),
        nn.Linear(16 * side * side, 120),
        act(),
        nn.Linear(120, 84),
        act(),
        nn.Linear(84, num_classes),
    )
