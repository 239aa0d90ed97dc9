"""From-scratch NumPy versions of the layers the course explains.

Written to be read: ``conv2d_loop`` is convolution exactly as lesson 02 draws it, one
window at a time; ``conv2d`` computes the same numbers fast by unrolling every window
into a column (*im2col*) and doing one matrix product. The pooling and batch-norm
functions follow the formulas of lessons 04 and 06. Each one matches
``torch.nn.functional`` (the tests check it on hundreds of random cases); like torch,
"convolution" here is cross-correlation: the kernel is not flipped.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_number
from .arithmetic import window_geometry

__all__ = [
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "conv2d_loop",
    "correlate2d",
    "im2col",
    "max_pool2d",
]


def _array(name: str, value, ndims: tuple[int, ...], layout: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}.") from None
    if array.ndim not in ndims:
        raise ValueError(f"{name} must have shape {layout}, got an array of shape {array.shape}.")
    return array


def _out_sizes(h, w, ks, st, pd, dl):
    sizes = []
    for size, k, s, p, d, axis in zip((h, w), ks, st, pd, dl, ("height", "width"), strict=True):
        effective = d * (k - 1) + 1
        if size + 2 * p < effective:
            raise ValueError(
                f"the kernel (effective {axis} {effective} with dilation {d}) is larger than the padded input "
                f"({axis} {size} + 2·{p} = {size + 2 * p}). Use a smaller kernel or dilation, or more padding."
            )
        sizes.append((size + 2 * p - effective) // s + 1)
    return tuple(sizes)


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Unroll every kernel window of ``x`` (N×C×H×W) into a column: shape N × (C·kh·kw) × (H₂·W₂).

    Column ``j`` holds the input values under the kernel at output position ``j``
    (row-major over the output), channel by channel, so ``w.reshape(O, -1) @ columns``
    is the convolution.
    """
    x = _array("x", x, (4,), "N×C×H×W")
    return _unroll(x, *window_geometry(kernel_size, stride, padding, dilation))[0]


def _unroll(x, ks, st, pd, dl):
    """im2col of a validated array and geometry: (columns, (H₂, W₂))."""
    n, c, h, w = x.shape
    h2, w2 = _out_sizes(h, w, ks, st, pd, dl)
    padded = np.pad(x, ((0, 0), (0, 0), (pd[0], pd[0]), (pd[1], pd[1])))
    columns = np.empty((n, c, ks[0], ks[1], h2, w2), dtype=x.dtype)
    for i in range(ks[0]):
        top = i * dl[0]
        for j in range(ks[1]):
            left = j * dl[1]
            columns[:, :, i, j] = padded[:, :, top : top + st[0] * h2 : st[0], left : left + st[1] * w2 : st[1]]
    return columns.reshape(n, c * ks[0] * ks[1], h2 * w2), (h2, w2)


def _conv_args(x, w, b):
    x = _array("x", x, (4,), "N×C×H×W (a batch of images)")
    w = _array("w", w, (4,), "O×C×kh×kw (out channels, in channels, kernel height, kernel width)")
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"w expects {w.shape[1]} input channel(s) but x has {x.shape[1]}: w.shape[1] must equal x.shape[1]."
        )
    if b is not None:
        b = _array("b", b, (1,), "O (one bias per output channel)")
        if len(b) != w.shape[0]:
            raise ValueError(f"b must have one value per output channel ({w.shape[0]}), got {len(b)}.")
    return x, w, b


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """2-D convolution (cross-correlation) of ``x`` (N×C×H×W) with ``w`` (O×C×kh×kw), via im2col.

    Returns N×O×H₂×W₂ with H₂ = ⌊(H + 2P − D(kh − 1) − 1)/S⌋ + 1 (likewise W₂), the same
    numbers as ``torch.nn.functional.conv2d``.
    """
    x, w, b = _conv_args(x, w, b)
    columns, (h2, w2) = _unroll(x, *window_geometry(w.shape[2:], stride, padding, dilation))  # N × C·kh·kw × L
    out = np.einsum("ok,nkl->nol", w.reshape(w.shape[0], -1), columns, optimize=True)
    if b is not None:
        out += b[None, :, None]
    return out.reshape(x.shape[0], w.shape[0], h2, w2)


def conv2d_loop(x, w, b=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The same convolution as :func:`conv2d`, one window at a time: slow, but it reads like the formula

    out[n, o, i, j] = b[o] + Σ_c Σ_u Σ_v x_padded[n, c, i·S + u·D, j·S + v·D] · w[o, c, u, v]
    """
    x, w, b = _conv_args(x, w, b)
    ks, st, pd, dl = window_geometry(w.shape[2:], stride, padding, dilation)
    n, _, h, wd = x.shape
    h2, w2 = _out_sizes(h, wd, ks, st, pd, dl)
    padded = np.pad(x, ((0, 0), (0, 0), (pd[0], pd[0]), (pd[1], pd[1])))
    out = np.zeros((n, w.shape[0], h2, w2))
    for i in range(h2):
        for j in range(w2):
            top, left = i * st[0], j * st[1]
            rows = slice(top, top + dl[0] * (ks[0] - 1) + 1, dl[0])
            cols = slice(left, left + dl[1] * (ks[1] - 1) + 1, dl[1])
            window = padded[:, :, rows, cols]
            for o in range(w.shape[0]):
                out[:, o, i, j] = (window * w[o]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b[None, :, None, None]
    return out


def correlate2d(image, kernel, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Slide a 2-D ``kernel`` over a 2-D ``image`` (one channel): the hand calculation of lesson 02."""
    image = _array("image", image, (2,), "H×W (one channel; use conv2d for batches)")
    kernel = _array("kernel", kernel, (2,), "kh×kw")
    return conv2d(image[None, None], kernel[None, None], None, stride, padding, dilation)[0, 0]


def _pool(x, kernel_size, stride, reduce):
    x = _array("x", x, (2, 3, 4), "H×W, C×H×W or N×C×H×W")
    geometry = window_geometry(kernel_size, kernel_size if stride is None else stride, 0, 1)
    shape = x.shape
    columns, (h2, w2) = _unroll(x.reshape((-1, 1) + shape[-2:]), *geometry)  # (N·C) × kh·kw × L
    return reduce(columns, axis=1).reshape(shape[:-2] + (h2, w2))


def max_pool2d(x, kernel_size, stride=None) -> np.ndarray:
    """Max pooling: the largest value in each ``kernel_size`` window; ``stride`` defaults to the window.

    ``x`` may be H×W, C×H×W or N×C×H×W; each channel is pooled on its own, so channels
    and batch are unchanged. No padding, like ``F.max_pool2d``'s default.
    """
    return _pool(x, kernel_size, stride, np.max)


def avg_pool2d(x, kernel_size, stride=None) -> np.ndarray:
    """Average pooling: the mean of each window (see :func:`max_pool2d` for the arguments)."""
    return _pool(x, kernel_size, stride, np.mean)


def batch_norm(
    x, gamma, beta, eps=1e-5, *, running_mean=None, running_var=None, momentum=0.1, training=True
) -> np.ndarray:
    """Batch Normalization (Ioffe & Szegedy, 2015) of ``x`` (N×C×H×W or N×C), per channel.

    Training (``training=True``): normalise with the batch's mean μ_B and (biased)
    variance σ²_B over every axis but the channel one, then scale by ``gamma`` and shift
    by ``beta``. If ``running_mean`` / ``running_var`` arrays are given they are updated in
    place as ``nn.BatchNorm2d`` does: r ← (1 − momentum)·r + momentum·batch statistic,
    with the *unbiased* variance (divide by m − 1) for ``running_var``.

    Evaluation (``training=False``): normalise with ``running_mean`` and ``running_var``.
    """
    x = _array("x", x, (2, 4), "N×C×H×W (or N×C)")
    channels = x.shape[1]
    gamma = _array("gamma", gamma, (1,), "C (one scale per channel)")
    beta = _array("beta", beta, (1,), "C (one shift per channel)")
    for name, value in (("gamma", gamma), ("beta", beta)):
        if len(value) != channels:
            raise ValueError(f"{name} must have one value per channel ({channels}), got {len(value)}.")
    eps = check_number("eps", eps, positive=True)
    momentum = check_number("momentum", momentum)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, channels) + (1,) * (x.ndim - 2)
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        if value is not None and (not isinstance(value, np.ndarray) or value.shape != (channels,)):
            raise ValueError(
                f"{name} must be a NumPy array of shape ({channels},) that this function can update in place, "
                f"got {type(value).__name__} {getattr(value, 'shape', '')}."
            )
    if training:
        m = x.size // channels
        if m < 2:
            raise ValueError(
                "batch_norm in training mode needs more than one value per channel to compute a variance; "
                f"got x of shape {x.shape}. Use a batch of at least 2, or training=False."
            )
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)  # biased: divide by m
        if running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * var * m / (m - 1)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "training=False normalises with the running statistics: pass running_mean and running_var."
            )
        mean, var = running_mean, running_var
    x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape)
