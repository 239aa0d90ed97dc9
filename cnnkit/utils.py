"""Seeding, device choice, the quick/full switch, and safe checkpoints."""

from __future__ import annotations

import contextlib
import os
import platform
import random
import tempfile
from pathlib import Path

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


def setup(seed: int = 0, full: bool | None = None, threads: int | None = None):
    """The first cell of every lesson: seed, pick the device and the mode, and say so.

    Returns ``(device, full)``. ``threads`` fixes torch's CPU thread count (the default
    keeps torch's own choice).
    """
    seed_everything(seed)
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


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, or does not fit the model."""


def save_checkpoint(
    path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None, *, scheduler=None, **extra
) -> Path:
    """Save ``model`` (and optionally ``optimizer`` and ``scheduler``) state_dicts to ``path``, atomically.

    The file is written next to its destination under a temporary name and renamed in
    one step, so an interrupted save never leaves a half-written checkpoint behind.
    ``extra`` holds plain values (epoch, history, ...) stored alongside.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}.")
    path = Path(path)
    extra = {key: _plain(key, value) for key, value in extra.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "extra": extra}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _plain(key: str, value):
    """``value`` as something ``torch.load(weights_only=True)`` accepts, or a TypeError naming ``key``."""
    if hasattr(value, "records") and isinstance(value.records, list):  # a fit() History
        value = value.records
    if isinstance(value, np.generic | np.ndarray):
        value = value.tolist()
    if value is None or isinstance(value, bool | int | float | str | torch.Tensor):
        return value
    if isinstance(value, list | tuple):
        return type(value)(_plain(key, v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(key, v) for k, v in value.items()}
    raise TypeError(
        f"{key}={type(value).__name__} cannot be stored in a safe checkpoint; store numbers, strings, lists, "
        "dicts or tensors (for a fit() history, pass the history itself or history.records)."
    )


def _read_checkpoint(path, map_location=None) -> dict:
    """The raw contents of a checkpoint written by :func:`save_checkpoint` (``model``,
    ``extra`` and, if saved, ``optimizer`` and ``scheduler`` state), read safely with
    ``weights_only=True``; a clear :class:`CheckpointError` if the file is missing or damaged."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: check the path, or train and save_checkpoint() first.")
    try:
        state = torch.load(path, map_location=map_location or "cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged file
        detail = str(exc).splitlines()[0][:200] if str(exc).strip() else "no details"
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(exc).__name__}: {detail}). "
            "The file is damaged or was not written by save_checkpoint(); delete it and save again."
        ) from None
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path} was not written by save_checkpoint(): it has no 'model' entry.")
    return state


def load_checkpoint(
    path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None, map_location=None, *, scheduler=None
) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` into ``model`` (and ``optimizer``, ``scheduler``).

    Only tensors and plain values are read (``weights_only=True``): unlike unpickling a
    whole model, loading a file cannot run code. Returns the ``extra`` values saved with it.
    """
    state = _read_checkpoint(path, map_location)
    _apply_checkpoint(state, path, model, optimizer, scheduler)
    return state.get("extra", {})


def _apply_checkpoint(state: dict, path, model, optimizer=None, scheduler=None) -> None:
    """Load the contents ``state`` of the checkpoint file ``path`` into ``model`` (and ``optimizer``, ``scheduler``)."""
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(
            f"the checkpoint {path} does not fit this model ({first}). "
            "Build the model with the same architecture and sizes as the one you saved."
        ) from None
    if optimizer is not None:
        if "optimizer" not in state:
            raise CheckpointError(f"{path} holds no optimizer state; load it without optimizer=.")
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        if "scheduler" not in state:
            raise CheckpointError(f"{path} holds no learning-rate scheduler state; load it without scheduler=.")
        scheduler.load_state_dict(state["scheduler"])
