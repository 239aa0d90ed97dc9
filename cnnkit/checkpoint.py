"""Safe checkpoints: save atomically, load without running code.

:func:`save_checkpoint` writes ``state_dict`` s (never pickled objects) to a temporary
file beside the destination and renames it in one step, so an interrupted save never
leaves a half-written file. :func:`load_checkpoint` reads with ``weights_only=True``,
so loading a file cannot run code on your machine. Both take the file first, then the
model; the opposite order (``torch.save(obj, f)``'s) is caught with a message.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch

__all__ = ["CheckpointError", "load_checkpoint", "save_checkpoint"]


def _check_order(function: str, path, model) -> None:
    """Catch ``function(model, path)``: the file comes first."""
    if isinstance(path, torch.nn.Module) and isinstance(model, (str, os.PathLike)):
        raise TypeError(
            f"{function}(path, model): the first argument is the file, the second the model. "
            f"You passed the model first; write {function}({str(model)!r}, model, ...)."
        )
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{function}: path must be a file path (str or Path), got {type(path).__name__}.")


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
    _check_order("save_checkpoint", path, model)
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


def read_checkpoint(path, map_location=None) -> dict:
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
    _check_order("load_checkpoint", path, model)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}.")
    state = read_checkpoint(path, map_location)
    apply_checkpoint(state, path, model, optimizer, scheduler)
    return state.get("extra", {})


def apply_checkpoint(state: dict, path, model, optimizer=None, scheduler=None) -> None:
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
