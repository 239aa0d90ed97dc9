#!/usr/bin/env python
"""The architecture shoot-out: six classic CNNs, the same data, the same training budget.

    python scripts/shootout.py            # quick mode: the generated colour shapes, a few epochs (minutes on a CPU)
    python scripts/shootout.py --full     # full mode: CIFAR-10, longer schedule (use a GPU)

Trains LeNet-5, AlexNet, VGG-11, NiN, GoogLeNet and ResNet-18 (the small versions from
``cnnkit.models``, for 3×32×32 images) with ``cnnkit.fit`` — same optimizer, learning
rate, batch size, epochs and seed for all — and records test accuracy, parameters and
training seconds in ``results/shootout_<mode>.json``. It then rewrites the table between
the ``shootout:<mode>`` markers in README.md from that file, so the README always shows
what the command measured. Lesson 16 reads the same file. ``tests/test_shootout.py`` checks that the
file is current and that the README agrees with it. "Current" is measured, not assumed:
the file records what its numbers depend on (the data, each network's parameter count and
outputs at initialisation, the training loop's losses on a tiny problem, and the recipe),
and the test measures them again and names whatever changed.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
README = ROOT / "README.md"


def markers(mode: str) -> tuple[str, str]:
    return f"<!-- shootout:{mode}:start -->", f"<!-- shootout:{mode}:end -->"


ARCHITECTURES = {  # name in the table: (function in cnnkit.models, keyword arguments)
    "LeNet-5": ("lenet5", {"input_size": 32}),
    "AlexNet": ("alexnet", {"small": True}),
    "VGG-11": ("vgg11", {"small": True, "batch_norm": True}),
    "NiN": ("nin", {"small": True, "batch_norm": True}),
    "GoogLeNet": ("googlenet", {"small": True}),
    "ResNet-18": ("resnet18", {"small": True}),
}
BUDGETS = {  # the same for every architecture
    "quick": {"epochs": 5, "batch_size": 64, "lr": 2e-3, "seed": 0, "train_limit": None},
    "full": {"epochs": 30, "batch_size": 128, "lr": 2e-3, "seed": 0, "train_limit": None},
}


# What the numbers depend on, recorded with them so a test can tell when they are stale.
# These are *behaviours*, not file hashes: a refactor that changes no result (a renamed
# helper, a new docstring) keeps the results current, while a changed layer, weight
# initialisation, dataset or training step makes them stale and says which.
PROBE_TOLERANCE = {"rtol": 1e-4, "atol": 1e-6}


def _recipe(budget: dict) -> str:
    """SHA-256 of what this script decides: the architectures, the budget and ``run``."""
    text = json.dumps({"architectures": ARCHITECTURES, "budget": budget}, sort_keys=True)
    return hashlib.sha256((text + inspect.getsource(run)).encode()).hexdigest()


def _data_summary(dataset) -> dict:
    """Size, shape, class counts and the first two moments of a dataset's images."""
    import torch

    x, y = dataset.tensors
    x64 = x.double()
    return {
        "shape": list(x.shape),
        "class_counts": torch.bincount(y, minlength=10).tolist(),
        "sum": x64.sum().item(),
        "sum_of_squares": (x64 * x64).sum().item(),
    }


def _datasets(mode: str):
    """The (train, test) datasets of ``mode``: the generated shapes, or CIFAR-10 in full mode."""
    import cnnkit

    full = mode == "full"
    return cnnkit.data.load_colour(True, full=full), cnnkit.data.load_colour(False, full=full)


def _build(name: str, seed: int):
    """The freshly initialised network ``name`` of ARCHITECTURES, for 3×32×32 images and 10 classes."""
    import cnnkit
    from cnnkit import models

    function, kwargs = ARCHITECTURES[name]
    cnnkit.seed_everything(seed)
    return getattr(models, function)(num_classes=10, in_channels=3, **kwargs)


def _parameters(model) -> int:
    from cnnkit import count_parameters

    return count_parameters(model)


def _model_probe(name: str, seed: int) -> dict:
    """Parameter count and the freshly initialised network's outputs for a fixed input."""
    import torch

    model = _build(name, seed).eval()
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = model(x)
    return {"parameters": _parameters(model), "outputs": out.flatten().tolist()}


def _training_probe() -> list[float]:
    """``cnnkit.fit`` (default optimizer and schedule) on a tiny fixed problem: the loss of
    each epoch, then the trained network's outputs for two images."""
    import torch
    from torch import nn

    import cnnkit

    generator = torch.Generator().manual_seed(2)
    x, y = torch.randn(64, 3, 8, 8, generator=generator), torch.randint(0, 10, (64,), generator=generator)
    cnnkit.seed_everything(0)
    # (No bias before the BatchNorm: BN cancels it, so its gradient is pure rounding noise,
    # which Adam would amplify into updates that differ with the number of threads.)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 10),
    )
    history = cnnkit.fit(model, (x, y), epochs=2, batch_size=16, lr=1e-2, seed=0, progress=False, verbose=False)
    with torch.no_grad():
        outputs = model.eval()(x[:2]).flatten().tolist()
    # (Accuracies are left out on purpose: on a barely trained network two classes can tie
    # to the last bit, and the thread count then decides which one argmax picks.)
    return history.train_loss + outputs


def provenance(mode: str, train=None, test=None, budget: dict | None = None) -> dict:
    """Everything the results of ``mode`` depend on, measured now (see :func:`differences`).

    ``train``, ``test`` and ``budget`` default to what a plain ``python scripts/shootout.py
    [--full]`` uses; ``run`` passes what it actually trained with.
    """
    if train is None:
        train, test = _datasets(mode)
    budget = budget if budget is not None else BUDGETS[mode]
    seed = budget["seed"]
    return {
        "recipe": _recipe(budget),
        "data": {"train": _data_summary(train), "test": _data_summary(test)},
        "models": {name: _model_probe(name, seed) for name in ARCHITECTURES},
        "training": _training_probe(),
    }


def _close(stored, current) -> bool:
    """Floats equal within PROBE_TOLERANCE; everything else (and the structure) exactly."""
    if isinstance(stored, dict) and isinstance(current, dict):
        return stored.keys() == current.keys() and all(_close(stored[k], current[k]) for k in stored)
    if isinstance(stored, list) and isinstance(current, list):
        return len(stored) == len(current) and all(_close(a, b) for a, b in zip(stored, current, strict=True))
    if isinstance(stored, float) and isinstance(current, float):
        return math.isclose(stored, current, rel_tol=PROBE_TOLERANCE["rtol"], abs_tol=PROBE_TOLERANCE["atol"])
    return stored == current


def differences(record: dict, current: dict | None = None) -> list[str]:
    """What changed since ``record`` was made; an empty list means the results are current."""
    stored = record.get("provenance")
    if stored is None:
        return ["the results file has no provenance (it was made by an older version of this script)"]
    current = current if current is not None else provenance(record["mode"])
    found = []
    if stored.get("recipe") != current["recipe"]:
        found.append("the recipe in scripts/shootout.py (architectures, budget or the run function)")
    for split in ("train", "test"):
        if not _close(stored.get("data", {}).get(split), current["data"][split]):
            found.append(f"the {split} data (cnnkit.data.load_colour)")
    for name in ARCHITECTURES:
        if not _close(stored.get("models", {}).get(name), current["models"][name]):
            found.append(f"{name} (its layers, initialisation or forward pass in cnnkit.models)")
    if not _close(stored.get("training"), current["training"]):
        found.append("the training loop (cnnkit.fit's default optimizer, schedule or batching)")
    return found


def results_path(mode: str, folder: Path = RESULTS) -> Path:
    return folder / f"shootout_{mode}.json"


def run(mode: str, *, names=None, epochs=None, train_limit=None, verbose=True) -> dict:
    """Train the architectures and return the results record (nothing is written)."""
    import torch

    import cnnkit

    budget = dict(BUDGETS[mode])
    if epochs is not None:
        budget["epochs"] = epochs
    if train_limit is not None:
        budget["train_limit"] = train_limit
    train, test = _datasets(mode)
    if budget["train_limit"]:
        train = torch.utils.data.TensorDataset(*(t[: budget["train_limit"]] for t in train.tensors))
    rows = []
    for name in names or ARCHITECTURES:
        model = _build(name, budget["seed"])
        history = cnnkit.fit(
            model, train, test, epochs=budget["epochs"], batch_size=budget["batch_size"], lr=budget["lr"],
            seed=budget["seed"], progress=False, verbose=False,
        )  # fmt: skip
        row = {
            "architecture": name,
            "parameters": _parameters(model),
            "test_acc": round(history[-1]["test_acc"], 4),
            "best_test_acc": round(max(history.test_acc), 4),
            "seconds": round(sum(history.seconds), 1),
        }
        rows.append(row)
        if verbose:
            print(
                f"{name:10} test acc {row['test_acc']:.3f}  {row['parameters']:>9,} parameters  {row['seconds']:6.1f} s"
            )
    return {
        "mode": mode,
        "data": "CIFAR-10 (50,000 / 10,000)" if mode == "full" else "generated colour shapes (5,000 / 1,000)",
        "budget": budget,
        "device": str(cnnkit.get_device()),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "provenance": provenance(mode, train, test, budget),
        "rows": rows,
    }


def table(record: dict) -> str:
    """The README table for one results record (Markdown)."""
    budget = record["budget"]
    lines = [
        f"*{record['mode'].capitalize()} mode: {record['data']}; every network trained {budget['epochs']} epochs "
        f"with AdamW + one-cycle (peak lr {budget['lr']:g}), batch {budget['batch_size']}, seed {budget['seed']}, "
        f"on {record['device']} ({record['threads']} threads), torch {record['torch']}.*",
        "",
        "| Architecture | Test accuracy | Parameters | Training time (s) |",
        "|---|---:|---:|---:|",
    ]
    for row in record["rows"]:
        lines.append(
            f"| {row['architecture']} | {row['test_acc']:.3f} | {row['parameters']:,} | {row['seconds']:.1f} |"
        )
    return "\n".join(lines)


def update_readme(record: dict, readme: Path = README) -> None:
    text = readme.read_text()
    start, end = markers(record["mode"])
    if start not in text or end not in text:
        raise SystemExit(f"shootout: {readme} has no {start} … {end} markers to write the table between.")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    readme.write_text(f"{before}{start}\n{table(record)}\n{end}{after}")


def readme_table(mode: str = "quick", readme: Path = README) -> str:
    """The table currently between the ``mode`` markers in the README."""
    text = readme.read_text()
    start, end = markers(mode)
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="CIFAR-10 and the long schedule")
    parser.add_argument("--no-readme", action="store_true", help="write the results file only")
    args = parser.parse_args()
    mode = "full" if args.full else "quick"
    start = time.perf_counter()
    record = run(mode)
    RESULTS.mkdir(exist_ok=True)
    path = results_path(mode)
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)} in {time.perf_counter() - start:.0f} s")
    if not args.no_readme:
        update_readme(record)
        print(f"updated the {mode}-mode shoot-out table in {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
