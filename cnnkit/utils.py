"""Seeding, device choice and the quick/full switch.

The checkpoint functions live in :mod:`cnnkit.checkpoint`; they are re-exported here
for code written against earlier versions.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random

import numpy as np
import torch

__all__ = [
    "FULL_ENV",
    "CheckpointError",
    "evaluating",
    "full_mode",
    "get_device",
    "load_checkpoint",
    "model_device",
    "presenting",
    "resolve_device",
    "save_checkpoint",
    "seed_everything",
    "setup",
]

FULL_ENV = "CNNKIT_FULL"
_TRUE = {"1", "true", "yes", "on", "full"}
_FALSE = {"", "0", "false", "no", "off", "quick"}


def full_mode(full: bool | None = None) -> bool:
    """Quick or full mode: ``full`` if given, else the ``CNNKIT_FULL`` environment variable.

    Quick mode (the default) runs every lesson in seconds on data the course ships or
    generates. Full mode (``CNNKIT_FULL=1``) uses the full datasets and schedules.
    """
    if full is not None:
        if not isinstance(full, bool):
            raise TypeError(f"full must be True, False or None, got {full!r}.")
        return full
    value = os.environ.get(FULL_ENV, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{FULL_ENV}={value!r} is not understood: set it to 1 for full mode or 0 for quick mode.")


def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and torch (CPU and every GPU) so that runs repeat exactly."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    return seed


def get_device(prefer: str | None = None) -> torch.device:
    """The best device here: CUDA, then Apple's MPS, then the CPU (or ``prefer`` if given)."""
    if prefer is not None:
        try:
            device = torch.device(prefer)
        except RuntimeError:
            raise ValueError(f"prefer={prefer!r} is not a device name; use 'cpu', 'cuda' or 'mps'.") from None
        available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available()}
        if not available.get(device.type, False):
            raise ValueError(f"device {prefer!r} is not available on this machine; use get_device() to pick one.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model: torch.nn.Module) -> torch.device:
    """The device a model's parameters live on (the CPU for a model without parameters)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def unwrapped(model: torch.nn.Module) -> torch.nn.Module:
    """The model itself, inside a ``DistributedDataParallel`` (or ``DataParallel``) wrapper or not."""
    return getattr(model, "module", model)


@contextlib.contextmanager
def evaluating(model: torch.nn.Module):
    """Run ``model`` in eval mode without gradients, then put its train/eval mode back."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


PRESENT_ENV = "CNNKIT_PRESENT"


def presenting(present: bool | None = None) -> bool:
    """The presenter scale: ``present`` if given, else the ``CNNKIT_PRESENT`` environment variable."""
    if present is not None:
        if not isinstance(present, bool):
            raise TypeError(f"present must be True, False or None, got {present!r}.")
        return present
    value = os.environ.get(PRESENT_ENV, "").strip().lower()
    if value in _TRUE | {"present"}:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{PRESENT_ENV}={value!r} is not understood: set it to 1 for the presenter scale or 0.")


def setup(seed: int = 0, full: bool | None = None, threads: int | None = None, present: bool | None = None):
    """The first cell of every lesson: seed, pick the device and the mode, set the plot style, and say so.

    Returns ``(device, full)``. ``threads`` fixes torch's CPU thread count (the default
    keeps torch's own choice). ``present=True`` (or ``CNNKIT_PRESENT=1``) draws every
    figure at the presenter scale, readable on a projector.
    """
    from .plot import use_style

    seed_everything(seed)
    use_style(presenting(present))
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a whole number >= 1, got {threads!r}.")
        torch.set_num_threads(threads)
    device = get_device()
    full = full_mode(full)
    mode = "full" if full else f"quick (set {FULL_ENV}=1 for full mode)"
    print(
        f"torch {torch.__version__} · Python {platform.python_version()} · device {device} · mode {mode} · seed {seed}"
    )
    return device, full


def resolve_device(device, argument: str = "device") -> torch.device:
    """``device`` (a name such as ``"cuda:0"``, a ``torch.device`` or None for the best one here), checked.

    A name torch does not know, or a device this machine does not have, is a ValueError
    naming ``argument`` and what to pass instead, not torch's RuntimeError.
    """
    if device is None:
        return get_device()
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{argument} must be a device name such as 'cpu' or 'cuda', got {type(device).__name__}.")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"{argument}={device!r} is not a device name: use 'cpu', 'cuda' (or 'cuda:0', 'cuda:1', ...) or 'mps', "
            f"or leave it out to use the best device here ({get_device()})."
        ) from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available()}
    if not available.get(chosen.type, False):
        raise ValueError(
            f"{argument}={device!r}: this machine has no {chosen.type} device; leave {argument} out to use "
            f"the best device here ({get_device()})."
        )
    if chosen.type == "cuda" and chosen.index is not None and chosen.index >= torch.cuda.device_count():
        raise ValueError(
            f"{argument}={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0."
        )
    return chosen


from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402  (re-exported)
