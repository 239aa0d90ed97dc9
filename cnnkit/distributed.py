"""Data-parallel training with ``torch.distributed``: what ``cnnkit.fit`` does under ``torchrun``.

Launch any script that calls ``cnnkit.fit`` with ``torchrun --nproc_per_node=N script.py``
and, unchanged, it trains data-parallel:

- every process (a *rank*) holds a full copy of the model, wrapped in
  ``DistributedDataParallel``, which all-reduces (averages) the gradients after every
  ``backward()``, so every copy takes the same step;
- every epoch, all ranks draw the same seeded shuffle of the training set and rank ``r``
  of ``N`` takes examples ``r, r + N, r + 2N, ...`` of it (like ``DistributedSampler``,
  padded by repeating the first examples so every rank has the same number of batches);
  so batch ``k`` of rank ``r`` is the ``r``-th slice of what one process with an ``N``
  times larger batch would see as its batch ``k``;
- **``batch_size`` is per process**: the global batch, whose mean gradient each step
  follows, is ``batch_size × N`` (scale the learning rate accordingly: lesson 17);
- the epoch's metrics (loss, accuracies, seconds) are all-reduced, so every rank's
  ``History`` is identical; only rank 0 prints, shows progress and writes checkpoints;
  every rank resumes from the same checkpoint file;
- the process group uses gloo on CPUs and NCCL on CUDA GPUs (one GPU per rank,
  ``cuda:LOCAL_RANK``), with a timeout (``CNNKIT_DIST_TIMEOUT``, default 120 s) so that a
  rank that died never leaves the others waiting for ever.

Outside ``torchrun`` (no ``WORLD_SIZE`` above 1 in the environment) nothing changes.
When one rank is interrupted (Ctrl-C) or fails, it ends with a non-zero exit status after
cleaning up, and ``torchrun`` stops the other ranks.
"""

from __future__ import annotations

import atexit
import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .hooks import Hook, Run

__all__ = ["TIMEOUT_ENV", "Context", "DataParallel", "context", "shard", "shard_size"]

TIMEOUT_ENV = "CNNKIT_DIST_TIMEOUT"


@dataclass(frozen=True)
class Context:
    """Where this process stands in a data-parallel run."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_sum(self, values: list[float]) -> list[float]:
        """The sums over all ranks of a few numbers."""
        return self._all_reduce(values, dist.ReduceOp.SUM)

    def all_max(self, value: float) -> float:
        """The largest of one number over all ranks."""
        return self._all_reduce([value], dist.ReduceOp.MAX)[0]

    def _all_reduce(self, values: list[float], op) -> list[float]:
        device = self.device if self.backend == "nccl" else torch.device("cpu")  # NCCL reduces on the GPU only
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor, op=op)
        return tensor.tolist()


def _environment() -> tuple[int, int, int] | None:
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return None
    if world <= 1:
        return None
    try:
        return int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", os.environ["RANK"]))
    except (KeyError, ValueError):
        raise RuntimeError(
            f"WORLD_SIZE={world} is set but RANK is missing or not a number: launch the script with torchrun "
            "(for example torchrun --nproc_per_node=2 script.py), which sets both."
        ) from None


def _timeout() -> datetime.timedelta:
    raw = os.environ.get(TIMEOUT_ENV, "120")
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r} must be a number of seconds, for example 120.") from None
    if seconds <= 0:
        raise ValueError(f"{TIMEOUT_ENV} must be greater than 0, got {raw}.")
    return datetime.timedelta(seconds=seconds)


def context() -> Context | None:
    """This process's place in a data-parallel run launched by torchrun, or None outside one.

    The first call initialises the process group (gloo on CPUs, NCCL when CUDA is
    available), once; it is destroyed when the process exits.
    """
    found = _environment()
    if found is None:
        return None
    rank, world, local_rank = found
    cuda = torch.cuda.is_available()
    backend = "nccl" if cuda else "gloo"
    device = torch.device("cuda", local_rank % torch.cuda.device_count()) if cuda else torch.device("cpu")
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend, timeout=_timeout())
        atexit.register(_finish)
    return Context(rank, world, local_rank, device, dist.get_backend())


def _finish() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def shard(order: torch.Tensor, rank: int, world_size: int, *, pad: bool = True) -> torch.Tensor:
    """Rank ``rank``'s share of the example indices ``order``: every ``world_size``-th one, starting at ``rank``.

    With ``pad=True`` (training) the order is first extended by repeating its first
    indices, so every rank gets ``ceil(len(order) / world_size)`` examples and the same
    number of batches (a rank with fewer batches would wait for ever at the gradient
    all-reduce). Evaluation shards (``pad=False``) are exact and may differ by one.
    """
    if pad and len(order) % world_size:
        extra = world_size - len(order) % world_size  # repeated cyclically, also when it exceeds len(order)
        order = torch.cat([order, order.repeat(-(-extra // len(order)))[:extra]])
    return order[rank::world_size]


def shard_size(size: int, rank: int, world_size: int, *, pad: bool = True) -> int:
    """How many of ``size`` examples :func:`shard` gives rank ``rank``, without building the shard."""
    if pad:
        return -(-size // world_size)
    return len(range(rank, size, world_size))


class DataParallel(Hook):
    """fit's data-parallel hook: wraps the model in DistributedDataParallel for the loop, unwraps it after."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.module = None

    def before_fit(self, run: Run) -> None:
        from torch.nn.parallel import DistributedDataParallel

        self.module = run.model
        device_ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
        run.model = DistributedDataParallel(run.model, device_ids=device_ids)  # rank 0's weights, broadcast

    def after_fit(self, run: Run) -> None:
        if self.module is not None:
            run.model = self.module
