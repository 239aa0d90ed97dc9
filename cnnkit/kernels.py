"""The classic hand-made kernels of image processing, and image operations with them.

Lesson 03 uses them to show that a convolution is a feature detector: a blur averages,
a Sobel kernel responds to edges of one direction, the "edge" kernel to any change.
``filter_image`` (any 2-D kernel, checked) and ``pool_image`` (max or average pooling,
lesson 04) are what the kernel editor and the pooling explorer draw.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .arithmetic import pool_output_size

__all__ = ["KERNELS", "apply", "filter_image", "get", "pool_image"]

KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    "box_blur": np.full((3, 3), 1 / 9, dtype=np.float32),
    "gaussian_blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float32),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float32),
}


def get(name: str) -> np.ndarray:
    """A copy of the kernel called ``name`` (see ``KERNELS`` for the names)."""
    if name not in KERNELS:
        raise ValueError(f"unknown kernel {name!r}; choose one of: {', '.join(KERNELS)}.")
    return KERNELS[name].copy()


def apply(image, kernel, padding: str = "same") -> torch.Tensor:
    """Filter ``image`` with ``kernel``: each channel on its own, as a photo editor does.

    ``image``: H×W or C×H×W (tensor or array); ``kernel``: a 2-D array or a name from
    ``KERNELS``. ``padding="same"`` pads with zeros so the result keeps the image's size;
    ``"valid"`` uses only positions where the whole kernel fits. Returns a float32
    tensor with the image's layout.
    """
    if isinstance(kernel, str):
        kernel = get(kernel)
    kernel = torch.as_tensor(np.asarray(kernel, dtype=np.float32))
    if kernel.ndim != 2:
        raise ValueError(f"kernel must be a 2-D array (kh×kw), got shape {tuple(kernel.shape)}.")
    if padding not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}.")
    x = torch.as_tensor(np.asarray(image.detach().cpu() if isinstance(image, torch.Tensor) else image))
    if x.ndim not in (2, 3):
        raise ValueError(f"image must have shape H×W or C×H×W, got {tuple(x.shape)}.")
    x = x.float()
    kh, kw = kernel.shape
    if padding == "valid" and (kh > x.shape[-2] or kw > x.shape[-1]):
        raise ValueError(f"a {kh}×{kw} kernel does not fit in a {x.shape[-2]}×{x.shape[-1]} image without padding.")
    batch = x.reshape(-1, 1, *x.shape[-2:])  # every channel becomes a one-channel image
    out = F.conv2d(batch, kernel[None, None], padding=padding)
    return out.reshape(*x.shape[:-2], *out.shape[-2:])


def filter_image(image, kernel) -> torch.Tensor:
    """The image filtered by a 3×3 (or any 2-D) kernel, each channel on its own ('same' size)."""
    array = np.asarray(kernel, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"the kernel must be a 2-D grid of numbers, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError("every kernel value must be a finite number.")
    return apply(image, array)


def pool_image(image, kind: str = "max", kernel_size: int = 2, stride: int | None = None) -> torch.Tensor:
    """Max or average pooling of an image (C×H×W or H×W), each channel on its own."""
    if kind not in ("max", "avg"):
        raise ValueError(f"kind must be 'max' or 'avg', got {kind!r}.")
    x = torch.as_tensor(image).float()
    if x.ndim not in (2, 3):
        raise ValueError(f"image must have shape H×W or C×H×W, got {tuple(x.shape)}.")
    stride = kernel_size if stride is None else stride
    size = pool_output_size(tuple(x.shape[-2:]), kernel_size, stride)  # a clear error if it does not fit
    pool = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    return pool(x.reshape(-1, 1, *x.shape[-2:]), kernel_size, stride).reshape(*x.shape[:-2], *size)
