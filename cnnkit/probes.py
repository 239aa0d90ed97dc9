"""Looking inside a network: gradient norms per layer (lesson 05) and the plain deep nets to probe.

``gradient_norms`` runs one forward and backward pass and reports, for every ``Linear``
and ``Conv2d`` layer, how large the gradient of its weights is. In a deep stack of
sigmoid layers these norms shrink layer by layer towards the input: the gradients
*vanish*, and the first layers barely learn.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validate import check_int

__all__ = ["ACTIVATIONS", "deep_net", "gradient_norms", "gradient_profile"]

ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
}


def _activation(name: str) -> type[nn.Module]:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}.")
    return ACTIVATIONS[name]


def deep_net(
    depth: int, activation: str = "sigmoid", width: int = 64, in_features: int = 784, num_classes: int = 10
) -> nn.Sequential:
    """A plain fully connected network: Flatten, ``depth`` × (Linear, activation), Linear.

    No normalisation, no shortcuts, PyTorch's default initialisation: the network in
    which vanishing gradients are easiest to see.
    """
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=1)
    in_features = check_int("in_features", in_features, minimum=1)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    act = _activation(activation)
    layers: list[nn.Module] = [nn.Flatten()]
    for i in range(depth):
        layers += [nn.Linear(in_features if i == 0 else width, width), act()]
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn=None) -> dict[str, float]:
    """L2 norm of the weight gradient of every Linear/Conv2d layer, in forward order.

    One forward and backward pass on ``(x, y)`` with ``loss_fn`` (cross-entropy by
    default). The model's weights and its existing ``.grad`` values are left as they were.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}.")
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("x and y must be tensors: a batch of inputs and their targets.")
    if len(x) != len(y):
        raise ValueError(f"x and y must hold the same number of examples, got {len(x)} and {len(y)}.")
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("the model has no Linear or Conv2d layer whose gradient could be measured.")
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    order: list[str] = []
    hooks = [m.register_forward_hook(lambda _m, _i, _o, name=name: order.append(name)) for name, m in layers]
    saved = {p: p.grad for p in model.parameters()}
    try:
        for p in model.parameters():
            p.grad = None
        out = model(x)
        try:
            loss = loss_fn(out, y)
        except (IndexError, RuntimeError) as exc:
            raise ValueError(
                f"the loss cannot compare the output of shape {tuple(out.shape)} with targets of shape "
                f"{tuple(y.shape)}: {str(exc).splitlines()[0]}"
            ) from None
        loss.backward()
        modules = dict(layers)
        norms = {}
        for name in dict.fromkeys(order):  # forward order, each layer once
            grad = modules[name].weight.grad
            norms[name] = 0.0 if grad is None else float(grad.norm())
        return norms
    finally:
        for h in hooks:
            h.remove()
        for p, g in saved.items():
            p.grad = g


def gradient_profile(
    activation: str, depth: int, *, width: int = 64, batch: int = 256, seed: int = 0
) -> dict[str, float]:
    """Gradient norm per layer of a fresh ``deep_net(depth, activation)`` on a fixed random batch.

    The pure function behind lesson 05's widget: same seed, same network weights and data
    for every activation, so the profiles can be compared.
    """
    batch = check_int("batch", batch, minimum=2)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 784, generator=generator)
    y = torch.randint(0, 10, (batch,), generator=generator)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = deep_net(depth, activation, width=width)
    return gradient_norms(model, x, y)
