"""Convolution and pooling arithmetic: output sizes, padding, parameters, receptive fields.

The formulas are exactly those of ``nn.Conv2d`` and ``nn.MaxPool2d``::

    out = floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1

Pooling with ``ceil_mode=True`` rounds up instead, but (like torch) drops a last window
that would start in the right-hand padding. Every argument may be an int or a pair
``(height, width)``; give a pair anywhere and you get a pair back.
"""

from __future__ import annotations

import math

from torch import nn

from ._validate import check_int, pair

__all__ = [
    "window_geometry",
    "conv_window",
    "conv_output_size",
    "pool_output_size",
    "same_padding",
    "conv_params",
    "receptive_field",
]


def _per_dim(fn, **kwargs):
    """Apply ``fn`` per dimension when any argument is a pair; else call it directly."""
    if not any(isinstance(v, (tuple, list)) for v in kwargs.values()):
        return fn(**kwargs)
    pairs = {k: pair(k, v) if v is not None and not isinstance(v, str) else (v, v) for k, v in kwargs.items()}
    return tuple(fn(**{k: v[i] for k, v in pairs.items()}) for i in range(2))


def _conv_1d(size, kernel_size, stride, padding, dilation):
    size = check_int("size", size, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    dilation = check_int("dilation", dilation, minimum=1)
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if stride != 1:
                raise ValueError(
                    f"padding='same' only works with stride=1 (torch refuses it too), got stride={stride}. "
                    "Use stride=1, or give padding as a number."
                )
            return size
        else:
            raise ValueError(f"padding must be a number, 'same' or 'valid', got {padding!r}.")
    padding = check_int("padding", padding, minimum=0)
    effective = dilation * (kernel_size - 1) + 1
    out = (size + 2 * padding - effective) // stride + 1
    if out < 1:
        raise ValueError(
            f"kernel_size={kernel_size} (effective size {effective} with dilation={dilation}) does not fit "
            f"in size={size} with padding={padding}: the padded input is {size + 2 * padding} wide. "
            f"Use a smaller kernel_size or dilation, or a padding of at least {math.ceil((effective - size) / 2)}."
        )
    return out


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    """Output size of ``nn.Conv2d`` along one or two dimensions.

    >>> conv_output_size(32, 5, stride=1, padding=1)
    30
    >>> conv_output_size((224, 224), 11, stride=4, padding=2)
    (55, 55)
    """
    return _per_dim(_conv_1d, size=size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)


def _pool_1d(size, kernel_size, stride, padding, dilation, ceil_mode):
    size = check_int("size", size, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    stride = kernel_size if stride is None else check_int("stride", stride, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    dilation = check_int("dilation", dilation, minimum=1)
    effective = dilation * (kernel_size - 1) + 1
    if padding > kernel_size // 2:
        raise ValueError(
            f"padding={padding} is more than half of kernel_size={kernel_size}; torch allows at most "
            f"padding={kernel_size // 2} here. Use a smaller padding or a larger kernel_size."
        )
    span = size + 2 * padding - effective
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # torch's rule: the last window must start inside the input or the left padding
    if out < 1:
        raise ValueError(
            f"the pooling window ({effective} wide) does not fit in size={size} with padding={padding}. "
            "Use a smaller kernel_size, pool earlier in the network (where the map is larger), or take the whole "
            "map at once with global pooling (nn.AdaptiveMaxPool2d(1))."
        )
    return out


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output size of ``nn.MaxPool2d`` (and ``nn.AvgPool2d`` with dilation 1).

    ``stride=None`` means "same as kernel_size", as in torch.

    >>> pool_output_size(224, 2, 2)
    112
    >>> pool_output_size(55, 3, stride=2)      # AlexNet's overlapping pooling
    27
    """
    return _per_dim(
        _pool_1d,
        size=size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
    )


def same_padding(kernel_size, dilation=1):
    """Padding that keeps the size unchanged at stride 1: ``dilation * (kernel_size - 1) / 2``.

    >>> same_padding(3)
    1
    >>> same_padding(3, dilation=2)
    2
    """
    if isinstance(kernel_size, (tuple, list)) or isinstance(dilation, (tuple, list)):
        ks, ds = pair("kernel_size", kernel_size), pair("dilation", dilation)
        return tuple(same_padding(k, d) for k, d in zip(ks, ds, strict=True))
    kernel_size = check_int("kernel_size", kernel_size, minimum=1)
    dilation = check_int("dilation", dilation, minimum=1)
    total = dilation * (kernel_size - 1)
    if total % 2:
        raise ValueError(
            f"kernel_size={kernel_size} with dilation={dilation} has no symmetric 'same' padding: it would need "
            f"{total / 2} pixels on each side. Use an odd kernel_size (3, 5, 7), or pad unevenly with F.pad."
        )
    return total // 2


def conv_params(in_channels, out_channels, kernel_size, bias=True, groups=1):
    """Number of learnable parameters of ``nn.Conv2d(in_channels, out_channels, kernel_size)``.

    Each of the ``out_channels`` filters has ``in_channels/groups * kh * kw`` weights, plus one bias.

    >>> conv_params(3, 1, 3)      # one 3x3 filter over RGB: 27 weights + 1 bias
    28
    """
    in_channels = check_int("in_channels", in_channels, minimum=1)
    out_channels = check_int("out_channels", out_channels, minimum=1)
    groups = check_int("groups", groups, minimum=1)
    kh, kw = (check_int("kernel_size", k, minimum=1) for k in pair("kernel_size", kernel_size))
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide both in_channels={in_channels} and out_channels={out_channels}.")
    return out_channels * (in_channels // groups) * kh * kw + (out_channels if bias else 0)


def window_geometry(kernel_size, stride=1, padding=0, dilation=1):
    """The one geometry helper: validated ``(kh, kw), (sh, sw), (ph, pw), (dh, dw)`` of a sliding window.

    Each argument is a number or a pair (height, width), as ``nn.Conv2d`` takes them.
    Used by the layer geometry below and by :mod:`cnnkit.reference`.
    """
    ks = tuple(check_int("kernel_size", k, minimum=1) for k in pair("kernel_size", kernel_size))
    st = tuple(check_int("stride", s, minimum=1) for s in pair("stride", stride))
    pd = tuple(check_int("padding", p, minimum=0) for p in pair("padding", padding))
    dl = tuple(check_int("dilation", d, minimum=1) for d in pair("dilation", dilation))
    return ks, st, pd, dl


def _layer_geometry(layer):
    """(kernel, stride, dilation) along the height of a layer given as a module or a tuple; None for
    size-neutral layers."""
    if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        stride = layer.stride if layer.stride is not None else layer.kernel_size
        padding = layer.padding if isinstance(layer.padding, (int, tuple)) else 0  # padding='same' keeps the size
        ks, st, _, dl = window_geometry(layer.kernel_size, stride, padding, getattr(layer, "dilation", 1))
        return ks[0], st[0], dl[0]
    if isinstance(layer, nn.Module):
        return None
    if isinstance(layer, (tuple, list)) and len(layer) in (2, 3):
        k, s, d = (*layer, 1) if len(layer) == 2 else layer
        ks, st, _, dl = window_geometry(k, s, 0, d)
        return ks[0], st[0], dl[0]
    raise TypeError(f"each layer must be an nn.Module or a tuple (kernel_size, stride[, dilation]), got {layer!r}.")


def receptive_field(layers, per_layer=False):
    """Receptive field (in input pixels, along one side) of a stack of conv/pool layers.

    ``layers`` is an ``nn.Module`` (its Conv2d and pooling layers are read in order) or a
    list of ``(kernel_size, stride)`` / ``(kernel_size, stride, dilation)`` tuples. With
    ``per_layer=True`` you get the field after each conv/pool layer.

    >>> receptive_field([(3, 1), (3, 1)])          # two 3x3 convolutions see 5x5
    5
    """
    if isinstance(layers, nn.Module):
        layers = [m for m in layers.modules() if _layer_geometry(m) is not None]
    elif not isinstance(layers, (list, tuple)):
        raise TypeError(f"layers must be an nn.Module or a list of (kernel_size, stride) tuples, got {layers!r}.")
    field, jump, fields = 1, 1, []
    for layer in layers:
        geometry = _layer_geometry(layer)
        if geometry is None:
            continue
        k, s, d = geometry
        field += d * (k - 1) * jump
        jump *= s
        fields.append(field)
    return fields if per_layer else field


def conv_window(size, kernel_size, stride=1, padding=0, dilation=1, row=0, col=0) -> dict:
    """Where the kernel sits for one output cell, and the output-size formula filled in.

    Returns ``out`` (output size), ``row``/``col`` (the output cell, clamped to the
    output), ``cells`` (the padded-input coordinates under the kernel there), ``formula``
    (text) and ``unused`` (input rows at the bottom/right that no window reaches when the
    stride does not divide evenly). Raises ValueError for a setting that does not fit.
    """
    out = conv_output_size(size, kernel_size, stride, padding, dilation)
    effective = dilation * (kernel_size - 1) + 1
    row, col = min(max(int(row), 0), out - 1), min(max(int(col), 0), out - 1)
    offsets = [(u * dilation, v * dilation) for u in range(kernel_size) for v in range(kernel_size)]
    cells = [(row * stride + du, col * stride + dv) for du, dv in offsets]
    span = size + 2 * padding - effective
    formula = (
        f"H₂ = ⌊(H + 2P − D(F − 1) − 1) / S⌋ + 1 = ⌊({size} + 2·{padding} − {dilation}·({kernel_size} − 1) − 1)"
        f" / {stride}⌋ + 1 = {out}"
    )
    return {"out": out, "row": row, "col": col, "cells": cells, "formula": formula, "unused": span % stride}
