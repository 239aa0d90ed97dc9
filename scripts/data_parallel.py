#!/usr/bin/env python
"""Train LeNet-5 on the bundled digits with ``cnnkit.fit``, in one process or data-parallel.

    python scripts/data_parallel.py --out results/dp1                      # one process
    torchrun --standalone --nproc_per_node=2 scripts/data_parallel.py --out results/dp2

The ``fit`` call is the same either way: under torchrun it trains data-parallel (see
``cnnkit.distributed``). Every rank writes ``rank<r>.json`` (its history, the seconds of
training, its rank and world size) and ``rank<r>.pt`` (its final weights) into ``--out``,
so the lesson and the tests can check that all ranks end identical.

Extra switches, for lesson 17 and the tests:
  --gradient             also save the gradient of the loss on the first (global) batch, all-reduced
  --checkpoint FILE      fit(checkpoint=FILE); with --stop-after E the run stops after epoch E
                         and a fresh model resumes it (fit(..., resume=True)) in the same process
  --count-saves          record how many checkpoint files each rank wrote
  --interrupt-step N     press the stop button (KeyboardInterrupt) on --bad-rank at its N-th step
  --fail-step N          raise an error on --bad-rank at its N-th step
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnnkit  # noqa: E402
from cnnkit import distributed, hooks, models  # noqa: E402


class Trouble(nn.Module):
    """LeNet-5 that presses the stop button, or fails, at its ``step``-th training step on one rank."""

    def __init__(self, net, step, kind):
        super().__init__()
        self.net, self.step, self.kind, self.calls = net, step, kind, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls == self.step:
                if self.kind == "interrupt":
                    raise KeyboardInterrupt
                raise RuntimeError("a simulated failure on this rank (out of memory, a bad file, ...)")
        return self.net(x)


class StopAfter(hooks.Hook):
    """Ends training after epoch ``epoch``, like a machine that goes down after saving it."""

    def __init__(self, epoch):
        self.epoch = epoch

    def after_epoch(self, run):
        run.stop = run.epoch >= self.epoch


def data(examples: int):
    train = cnnkit.load_mnist(train=True)
    x, y = train.tensors
    test = cnnkit.load_mnist(train=False)
    return (x[:examples], y[:examples]), test.tensors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for rank<r>.json and rank<r>.pt")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32, help="per process (the global batch is N times it)")
    parser.add_argument("--examples", type=int, default=1024, help="training digits used (of 4,000)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--gradient", action="store_true")
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--stop-after", type=int)
    parser.add_argument("--count-saves", action="store_true")
    parser.add_argument("--bad-rank", type=int, default=1)
    parser.add_argument("--interrupt-step", type=int)
    parser.add_argument("--fail-step", type=int)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    ctx = distributed.context()  # None in one process; initialises the process group under torchrun
    rank = ctx.rank if ctx else 0
    world = ctx.world_size if ctx else 1
    args.out.mkdir(parents=True, exist_ok=True)
    train, test = data(args.examples)
    cnnkit.seed_everything(0)
    model = models.lenet5()
    kind = "interrupt" if args.interrupt_step else "fail" if args.fail_step else None
    if kind and rank == args.bad_rank:
        model = Trouble(model, args.interrupt_step or args.fail_step, kind)

    saves = []
    if args.count_saves:
        original = hooks.save_checkpoint
        hooks.save_checkpoint = lambda *a, **k: (saves.append(1), original(*a, **k))[1]

    report = {"rank": rank, "world_size": world, "batch_size": args.batch_size}
    if args.gradient:
        report["gradient_file"] = str(args.out / f"gradient{rank}.pt")
        torch.save(first_batch_gradient(model, train, args.batch_size, ctx), report["gradient_file"])

    common = dict(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, progress=False, verbose=rank == 0)
    start = time.perf_counter()
    if args.checkpoint and args.stop_after:
        fit_hooks = [StopAfter(args.stop_after)]
        first = cnnkit.fit(model, train, test, checkpoint=args.checkpoint, hooks=fit_hooks, **common)
        report["stopped_after"] = len(first)
        torch.manual_seed(12345)  # scramble the random state: the resumed run must take it from the file
        model = models.lenet5()
        history = cnnkit.fit(model, train, test, checkpoint=args.checkpoint, resume=True, **common)
    else:
        history = cnnkit.fit(model, train, test, checkpoint=args.checkpoint, **common)
    report["seconds"] = time.perf_counter() - start
    report["history"] = history.records
    report["saves"] = len(saves)
    net = model.net if isinstance(model, Trouble) else model
    torch.save(net.state_dict(), args.out / f"rank{rank}.pt")
    (args.out / f"rank{rank}.json").write_text(json.dumps(report, indent=1))
    return 0


def first_batch_gradient(model, train, batch_size, ctx):
    """The gradient of the loss on the first batch of the first epoch (all-reduced when data-parallel)."""
    x, y = train
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    if ctx is not None:
        order = distributed.shard(order, ctx.rank, ctx.world_size)
    batch = order[:batch_size]
    model.zero_grad()
    nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
    grads = [p.grad.detach().clone() for p in model.parameters()]
    if ctx is not None:
        for g in grads:
            torch.distributed.all_reduce(g)
            g /= ctx.world_size  # what DistributedDataParallel does: the mean over ranks
    model.zero_grad()
    return grads


if __name__ == "__main__":
    os.environ.setdefault("CNNKIT_FULL", "0")
    sys.exit(main())
