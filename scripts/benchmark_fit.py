#!/usr/bin/env python
"""Time cnnkit.fit against a plain DataLoader training loop, at equal settings.

Both train LeNet-5 (ReLU, max pooling) on the bundled MNIST digits with Adam (lr 1e-3,
no schedule), the same batch size, epochs and seeds, and both measure test accuracy
after every epoch. Runs are interleaved (fit, loop, loop, fit, ...) so that a machine
that speeds up or slows down affects both alike; the medians are reported.

    python scripts/benchmark_fit.py                # 3 epochs, 5 rounds
    python scripts/benchmark_fit.py --epochs 5 --rounds 7
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader

import cnnkit


def plain_loop(model, train_data, test_data, *, epochs, batch_size, lr, seed):
    """The loop most tutorials write: a DataLoader, .item() after every batch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(train_data, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    test_loader = DataLoader(test_data, batch_size=max(batch_size, 256))
    accuracy = 0.0
    for _ in range(epochs):
        model.train()
        total_loss, correct = 0.0, 0
        for x, y in loader:
            out = model(x)
            loss = loss_fn(out, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
        model.eval()
        hits = 0
        with torch.no_grad():
            for x, y in test_loader:
                hits += (model(x).argmax(1) == y).sum().item()
        accuracy = hits / len(test_data)
    return accuracy


def with_fit(model, train_data, test_data, *, epochs, batch_size, lr, seed):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = cnnkit.fit(
        model,
        train_data,
        test_data,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        seed=seed,
        device="cpu",
        progress=False,
        verbose=False,
    )
    return history.test_acc[-1]


def measure(runner, train_data, test_data, args):
    cnnkit.seed_everything(args.seed)
    model = cnnkit.models.lenet5()
    start = time.perf_counter()
    accuracy = runner(
        model, train_data, test_data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed
    )
    return time.perf_counter() - start, accuracy


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved runs of each (default 5)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train_data, test_data = cnnkit.load_mnist(train=True), cnnkit.load_mnist(train=False)
    measure(with_fit, train_data, test_data, args)  # warm-up: first-call costs hit neither side
    times = {"fit": [], "loop": []}
    accuracy = {}
    for r in range(args.rounds):
        order = [("fit", with_fit), ("loop", plain_loop)]
        for name, runner in order if r % 2 == 0 else order[::-1]:
            seconds, accuracy[name] = measure(runner, train_data, test_data, args)
            times[name].append(seconds)
    fit_s, loop_s = statistics.median(times["fit"]), statistics.median(times["loop"])
    print(
        f"LeNet-5, bundled MNIST ({len(train_data):,} train / {len(test_data):,} test), Adam lr {args.lr:g}, "
        f"batch {args.batch_size}, {args.epochs} epochs, {args.rounds} interleaved rounds, "
        f"{torch.get_num_threads()} CPU threads"
    )
    print(f"cnnkit.fit        median {fit_s:6.2f} s   test accuracy {accuracy['fit']:.4f}")
    print(f"DataLoader loop   median {loop_s:6.2f} s   test accuracy {accuracy['loop']:.4f}")
    print(f"speed-up {loop_s / fit_s:.2f}x   accuracy difference {abs(accuracy['fit'] - accuracy['loop']):.4f}")
    return {"fit_seconds": fit_s, "loop_seconds": loop_s, "fit_acc": accuracy["fit"], "loop_acc": accuracy["loop"]}


if __name__ == "__main__":
    main()
