#!/usr/bin/env python
"""The architecture shoot-out: six classic CNNs, the same data, a fair choice of learning rate.

    python scripts/shootout.py            # quick mode: harder generated colour shapes (about 10 minutes on 2 CPU cores)
    python scripts/shootout.py --full     # full mode: CIFAR-10, longer schedule (use a GPU)

Trains LeNet-5, AlexNet, VGG-11, NiN, GoogLeNet and ResNet-18 (the small versions from
``cnnkit.models``, for 3×32×32 images) with ``cnnkit.fit`` on the same data, with the same
optimizer, schedule, batch size and epochs. The one thing tuned is the learning rate, and
every network gets the same chance: each is trained with every value of one small grid
(seed 0), the value with the best *validation* accuracy is chosen, and the network is then
trained with that value and three seeds; only those runs touch the test set. The quick
data is the harder variant of the generated shapes (``cnnkit.data.HARD_SHAPES``), so that
no network sits at the ceiling within the budget.

The results, one row per network (test accuracy per seed, mean, min and max; parameters,
multiply-adds, whether it uses batch normalisation, the chosen learning rate and the
validation accuracy of every grid value; training seconds), go to
``results/shootout_<mode>.json``. The command then rewrites the table between the
``shootout:<mode>`` markers in README.md from that file, so the README always shows what the
command measured. Lesson 16 reads the same file. ``tests/test_shootout.py`` checks that the
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


# Every network has Batch Normalization after its convolutions, so that the race compares
# architectures and not normalisation: LeNet-5 (1998) and AlexNet (2012) had none, and
# without it they learn far more slowly at this budget (lessons 09 and 10 train them as designed).
ARCHITECTURES = {  # name in the table: (function in cnnkit.models, keyword arguments)
    "LeNet-5": ("lenet5", {"input_size": 32, "batch_norm": True}),
    "AlexNet": ("alexnet", {"small": True, "batch_norm": True}),
    "VGG-11": ("vgg11", {"small": True, "batch_norm": True}),
    "NiN": ("nin", {"small": True, "batch_norm": True}),
    "GoogLeNet": ("googlenet", {"small": True}),
    "ResNet-18": ("resnet18", {"small": True}),
}
BUDGETS = {  # the same for every architecture
    "quick": {
        "epochs": 3, "batch_size": 64, "lr_grid": [5e-4, 2e-3, 8e-3], "seeds": [0, 1, 2],
        "n_train": 4_000, "n_val": 1_000, "n_test": 1_000,
    },
    "full": {
        "epochs": 30, "batch_size": 128, "lr_grid": [5e-4, 2e-3, 8e-3], "seeds": [0, 1, 2],
        "n_train": 45_000, "n_val": 5_000, "n_test": 10_000,
    },
}  # fmt: skip
CHANCE = 0.1  # ten balanced classes
LEARNED = CHANCE + 0.1  # a network "learned" when every seed's test accuracy is above this


# What the numbers depend on, recorded with them so a test can tell when they are stale.
# These are *behaviours*, not file hashes: a refactor that changes no result (a renamed
# helper, a new docstring) keeps the results current, while a changed layer, weight
# initialisation, dataset or training step makes them stale and says which.
PROBE_TOLERANCE = {"rtol": 1e-4, "atol": 1e-6}


def _recipe(budget: dict) -> str:
    """SHA-256 of what this script decides: the architectures, the budget, the split and the runs."""
    text = json.dumps({"architectures": ARCHITECTURES, "budget": budget}, sort_keys=True)
    code = "".join(inspect.getsource(f) for f in (_datasets, _train_once, run))
    return hashlib.sha256((text + code).encode()).hexdigest()


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


DATA = {
    "quick": "harder generated colour shapes",
    "full": "CIFAR-10",
}


def _datasets(mode: str, budget: dict | None = None):
    """The (train, validation, test) datasets of ``mode``: the harder generated shapes in
    quick mode, CIFAR-10 in full mode. The validation images are a stratified part of the
    training images (the same part every time); the test set is the official one."""
    import torch

    from cnnkit import data

    budget = budget if budget is not None else BUDGETS[mode]
    if mode == "full":
        train_all, test = data.load_cifar10(True), data.load_cifar10(False)
    else:
        train_all, test = data.load_shapes(True, full=False, hard=True), data.load_shapes(False, full=False, hard=True)
    images, labels = train_all.tensors
    n_train, n_val = budget["n_train"], budget["n_val"]
    if n_train + n_val > len(labels) or budget["n_test"] > len(test):
        raise SystemExit(f"shootout: the budget asks for more images than {DATA[mode]} has.")
    fractions = (n_train / len(labels), n_val / len(labels), 1 - (n_train + n_val) / len(labels))
    parts = data.stratified_split(labels, [f for f in fractions if f > 1e-9], seed=0)
    subset = lambda t, idx: torch.utils.data.TensorDataset(*(v[idx] for v in t.tensors))  # noqa: E731
    test_idx = torch.arange(budget["n_test"])
    return subset(train_all, parts[0]), subset(train_all, parts[1]), subset(test, test_idx)


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


def provenance(mode: str, splits=None, budget: dict | None = None) -> dict:
    """Everything the results of ``mode`` depend on, measured now (see :func:`differences`).

    ``splits`` (train, validation, test) and ``budget`` default to what a plain
    ``python scripts/shootout.py [--full]`` uses; ``run`` passes what it actually trained with.
    """
    budget = budget if budget is not None else BUDGETS[mode]
    splits = splits if splits is not None else _datasets(mode, budget)
    return {
        "recipe": _recipe(budget),
        "data": {name: _data_summary(split) for name, split in zip(SPLITS, splits, strict=True)},
        "models": {name: _model_probe(name, budget["seeds"][0]) for name in ARCHITECTURES},
        "training": _training_probe(),
    }


SPLITS = ("train", "val", "test")


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
    for split in SPLITS:
        if not _close(stored.get("data", {}).get(split), current["data"][split]):
            found.append(f"the {split} data (cnnkit.data.load_shapes / load_cifar10, or the split)")
    for name in ARCHITECTURES:
        if not _close(stored.get("models", {}).get(name), current["models"][name]):
            found.append(f"{name} (its layers, initialisation or forward pass in cnnkit.models)")
    if not _close(stored.get("training"), current["training"]):
        found.append("the training loop (cnnkit.fit's default optimizer, schedule or batching)")
    return found


def results_path(mode: str, folder: Path = RESULTS) -> Path:
    return folder / f"shootout_{mode}.json"


def _train_once(name: str, lr: float, seed: int, splits, budget: dict):
    """One network trained once: (model, validation accuracy, training accuracy, seconds)."""
    import cnnkit

    train, val, _ = splits
    model = _build(name, seed)
    history = cnnkit.fit(
        model, train, val_data=val, epochs=budget["epochs"], batch_size=budget["batch_size"], lr=lr,
        seed=seed, progress=False, verbose=False,
    )  # fmt: skip
    return model, history[-1]["val_acc"], history[-1]["train_acc"], sum(history.seconds)


def run(mode: str, *, names=None, budget: dict | None = None, verbose=True) -> dict:
    """Choose each network's learning rate, train it with every seed, and return the
    results record (nothing is written). ``budget`` replaces ``BUDGETS[mode]`` (for tests)."""
    import torch

    import cnnkit
    from cnnkit.structure import count_macs

    budget = dict(budget if budget is not None else BUDGETS[mode])
    splits = _datasets(mode, budget)
    test = splits[2]
    first, *others = budget["seeds"]
    rows, start = [], time.perf_counter()
    for name in names or ARCHITECTURES:
        # 1. the learning rate: every grid value with the first seed, judged on the validation split only
        val_acc_by_lr, runs = {}, {}
        for lr in budget["lr_grid"]:
            runs[lr] = _train_once(name, lr, first, splits, budget)
            val_acc_by_lr[str(lr)] = round(runs[lr][1], 4)
        lr = max(budget["lr_grid"], key=lambda v: (runs[v][1], -v))  # ties: the smaller rate
        # 2. that rate with every seed (the first seed's run is the one already trained); test only now
        trained = [runs[lr]] + [_train_once(name, lr, seed, splits, budget) for seed in others]
        test_accs = [round(cnnkit.evaluate(model, test), 4) for model, *_ in trained]
        model = trained[0][0]
        row = {
            "architecture": name,
            "parameters": _parameters(model),
            "macs": count_macs(model, tuple(test.tensors[0].shape[1:])),
            "batch_norm": any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()),
            "lr": lr,
            "val_acc_by_lr": val_acc_by_lr,
            "test_accs": test_accs,
            "test_acc": round(sum(test_accs) / len(test_accs), 4),
            "test_acc_min": min(test_accs),
            "test_acc_max": max(test_accs),
            "train_acc": round(sum(t[2] for t in trained) / len(trained), 4),
            "seconds": round(sum(t[3] for t in trained) / len(trained), 1),
            "learned": min(test_accs) > LEARNED,
        }
        rows.append(row)
        if verbose:
            grid = "  ".join(f"lr {k}: {v:.3f}" for k, v in val_acc_by_lr.items())
            print(
                f"{name:10} val [{grid}] -> lr {lr:g}; test acc {row['test_acc']:.3f} "
                f"({row['test_acc_min']:.3f}-{row['test_acc_max']:.3f})  {row['parameters']:>9,} parameters  "
                f"{row['seconds']:6.1f} s per run",
                flush=True,
            )
    train, val, test = splits
    return {
        "mode": mode,
        "data": f"{DATA[mode]}: {len(train):,} training / {len(val):,} validation / {len(test):,} test images",
        "hardness": (
            "the shapes of the course's colour data, made harder: " + cnnkit.data.HARD_SHAPES
            if mode == "quick"
            else "natural photos of ten object classes"
        ),
        "budget": budget,
        "device": str(cnnkit.get_device()),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "seconds_total": round(time.perf_counter() - start, 1),
        "provenance": provenance(mode, splits, budget),
        "rows": rows,
    }


def table(record: dict) -> str:
    """The README table for one results record (Markdown)."""
    budget = record["budget"]
    grid = ", ".join(f"{lr:g}" for lr in budget["lr_grid"])
    lines = [
        f"*{record['mode'].capitalize()} mode: {record['data']}. Every network: AdamW + one-cycle, "
        f"{budget['epochs']} epochs, batch {budget['batch_size']}; its peak learning rate chosen on the "
        f"validation images from {{{grid}}}, then trained with seeds {', '.join(map(str, budget['seeds']))}. "
        f"Measured on {record['device']} ({record['threads']} thread{'s' if record['threads'] != 1 else ''}), "
        f"torch {record['torch']}, "
        f"{record['seconds_total'] / 60:.0f} minutes in all.*",
        "",
        "| Architecture | Test accuracy, mean (min–max) | Parameters | Multiply-adds | Batch norm | Chosen lr "
        "| Training time per run (s) |",
        "|---|---:|---:|---:|:---:|---:|---:|",
    ]
    for row in record["rows"]:
        accuracy = f"{row['test_acc']:.3f} ({row['test_acc_min']:.3f}–{row['test_acc_max']:.3f})"
        if not row["learned"]:
            if max(row["val_acc_by_lr"].values()) <= LEARNED:
                accuracy += " — did not learn with any learning rate of the grid"
            else:
                accuracy += " — at least one seed did not learn"
        lines.append(
            f"| {row['architecture']} | {accuracy} | {row['parameters']:,} | {row['macs'] / 1e6:.1f} M "
            f"| {'yes' if row['batch_norm'] else 'no'} | {row['lr']:g} | {row['seconds']:.1f} |"
        )
    for end, word in ((max(budget["lr_grid"]), "largest"), (min(budget["lr_grid"]), "smallest")):
        edge = [row["architecture"] for row in record["rows"] if row["lr"] == end]
        if edge:
            lines += ["", f"*Chose the grid's {word} learning rate, so a rate beyond the grid might suit them better: "
                      f"{', '.join(edge)}.*"]  # fmt: skip
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
    parser.add_argument(
        "--only", nargs="+", choices=list(ARCHITECTURES), metavar="NAME",
        help="a trial run of some networks (printed, not written): " + ", ".join(ARCHITECTURES),
    )  # fmt: skip
    args = parser.parse_args()
    mode = "full" if args.full else "quick"
    start = time.perf_counter()
    record = run(mode, names=args.only)
    if args.only:
        print(f"trial run of {len(args.only)} network(s) in {time.perf_counter() - start:.0f} s; nothing written")
        return 0
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
