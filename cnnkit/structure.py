"""A network's layer table (``cnnkit.summary``), its receptive fields, and its parameter count.

``summary(model, input_size)`` runs the model once on zeros and lists, per layer, the
output shape, the number of parameters and — for a chain of layers — the receptive
field in input pixels. ``count_parameters(model)`` is the one parameter count used
across the course (lessons, checks and the shoot-out).
"""

from __future__ import annotations

import torch
from torch import nn

from ._validate import check_int
from .arithmetic import _layer_geometry
from .utils import evaluating, model_device

__all__ = ["Summary", "count_macs", "count_parameters", "summary"]


def count_macs(model: nn.Module, input_size) -> int:
    """Multiply-adds of one forward pass of ``model`` on one input of ``input_size`` (C×H×W).

    Counted for ``nn.Conv2d`` (each output value: in_channels / groups × kh × kw products)
    and ``nn.Linear`` (in_features per output value), the layers that hold almost all of a
    CNN's arithmetic; pooling, activations and normalisation are left out.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}.")
    size = tuple(input_size) if isinstance(input_size, (tuple, list, torch.Size)) else None
    if size is None or len(size) != 3 or not all(isinstance(v, int) and v > 0 for v in size):
        raise ValueError(f"input_size must be C×H×W, like (3, 224, 224), got {input_size!r}.")
    total = 0

    def hook(layer, _inputs, output):
        nonlocal total
        if isinstance(layer, nn.Conv2d):
            kh, kw = layer.kernel_size
            total += output.numel() * (layer.in_channels // layer.groups) * kh * kw
        else:
            total += output.numel() * layer.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with evaluating(model):
            model(torch.zeros(1, *size, device=model_device(model)))
    finally:
        for handle in handles:
            handle.remove()
    return total


def count_parameters(model: nn.Module, *, trainable: bool = False) -> int:
    """The number of learnable numbers in ``model`` (with ``trainable=True``, only those that will be trained)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}.")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


_POINTWISE = (
    nn.ReLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.LeakyReLU,
    nn.GELU,
    nn.BatchNorm2d,
    nn.Dropout,
    nn.LocalResponseNorm,
    nn.Identity,
)
_GLOBAL = (nn.Linear, nn.Flatten, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def _geometry(module):
    """(receptive field, stride) of a module along one side; "all" once every input pixel is seen; None if unknown."""
    from .models import Inception, Residual  # the two composite blocks whose geometry is known

    if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        k, s, d = _layer_geometry(module)
        return d * (k - 1) + 1, s
    if isinstance(module, _POINTWISE):
        return 1, 1
    if isinstance(module, _GLOBAL):
        return "all"
    if isinstance(module, nn.Sequential):
        return _compose(list(module))
    if isinstance(module, Inception):  # parallel branches of stride 1: the widest one counts
        fields = [
            _compose(list(b) if isinstance(b, nn.Sequential) else [b])
            for b in (module.branch1, module.branch2, module.branch3, module.branch4)
        ]
        if any(not isinstance(f, tuple) for f in fields):
            return None
        return max(f[0] for f in fields), 1
    if isinstance(module, Residual):  # the main path; the 1×1 shortcut sees less
        return _compose([module.conv1, module.conv2])
    return None


def _running_fields(modules):
    """After each module of a chain, the chain's (receptive field, jump) so far; from the first module that
    sees the whole image (or has an unknown geometry) on, "all" (or None)."""
    state = (1, 1)
    for module in modules:
        if isinstance(state, tuple):
            geometry = _geometry(module)
            if isinstance(geometry, tuple):
                (k, s), (field, jump) = geometry, state
                state = (field + (k - 1) * jump, jump * s)
            else:
                state = geometry
        yield state


def _compose(modules):
    """(receptive field, jump) of a whole chain of modules, or "all" / None (see :func:`_running_fields`)."""
    states = list(_running_fields(modules))
    return states[-1] if states else (1, 1)


class Summary:
    """The layer table of :func:`summary`: ``rows`` (dicts), ``total_params``, and a printable table."""

    def __init__(self, rows, input_size, total_params, trainable_params):
        self.rows, self.input_size = rows, input_size
        self.total_params, self.trainable_params = total_params, trainable_params

    def __repr__(self):
        shape = lambda s: " × ".join(map(str, s))  # noqa: E731
        header = ("layer", "type", "output shape", "parameters", "receptive field")
        lines = [
            [r["name"], r["type"], shape(r["output_shape"]), f"{r['params']:,}", str(r["receptive_field"] or "")]
            for r in self.rows
        ]
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        fmt = lambda cells: "  ".join(  # noqa: E731
            c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()
        out = [f"input: {shape(self.input_size)}", fmt(header), fmt(["-" * w for w in widths])]
        out += [fmt(line) for line in lines]
        out.append(f"total parameters: {self.total_params:,} ({self.trainable_params:,} trainable)")
        return "\n".join(out)


def summary(model: nn.Module, input_size, *, depth: int = 1) -> Summary:
    """The layer table of ``model`` for an input of ``input_size`` (C×H×W or N×C×H×W).

    One row per module ``depth`` levels down (the layers of an ``nn.Sequential``; its
    blocks for GoogLeNet and ResNet): output shape, parameters, and — for a chain of
    layers — the receptive field along one side in input pixels ("all" once a dense or
    global-pooling layer has seen the whole image). The model runs once, in eval mode,
    on zeros; nothing is trained and its weights do not change.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}.")
    depth = check_int("depth", depth, minimum=1)
    size = tuple(input_size) if isinstance(input_size, (tuple, list, torch.Size)) else None
    if size is None or len(size) not in (3, 4) or not all(isinstance(v, int) and v > 0 for v in size):
        raise ValueError(f"input_size must be C×H×W or N×C×H×W, like (3, 224, 224), got {input_size!r}.")
    size = (1, *size) if len(size) == 3 else size
    shown = [
        (name, m)
        for name, m in model.named_modules()
        if name and (name.count(".") == depth - 1 or (name.count(".") < depth - 1 and not list(m.children())))
    ]
    outputs: dict[str, tuple] = {}
    order: list[str] = []

    def hook(name):
        def record(_module, _inputs, output):
            if name not in outputs:
                order.append(name)
            outputs[name] = tuple(output.shape) if isinstance(output, torch.Tensor) else ()

        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in shown]
    try:
        device = model_device(model)
        with evaluating(model), torch.no_grad():
            try:
                model(torch.zeros(size, device=device))
            except RuntimeError as exc:
                raise ValueError(
                    f"the model does not accept an input of shape {size}: {str(exc).splitlines()[0]}. "
                    "Check the number of channels and that the image is large enough for every layer."
                ) from None
    finally:
        for h in handles:
            h.remove()
    modules = dict(shown)
    chain = isinstance(model, nn.Sequential) and depth == 1
    fields = _running_fields(modules[name] for name in order) if chain else (None for _ in order)
    rows = []
    for name, state in zip(order, fields, strict=True):
        module = modules[name]
        rf = None
        if chain:  # the field in input pixels, "all", or "?" where a layer's geometry is unknown
            rf = state[0] if isinstance(state, tuple) else "?" if state is None else state
        rows.append(
            {
                "name": name,
                "type": type(module).__name__,
                "output_shape": outputs[name],
                "params": count_parameters(module),
                "receptive_field": rf,
            }
        )
    return Summary(rows, size, count_parameters(model), count_parameters(model, trainable=True))
