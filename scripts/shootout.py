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
file is current (made by this script from the current models and training code) and that
the README agrees with it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
README = ROOT / "README.md"


def markers(mode: str) -> tuple[str, str]:
    return f"<!-- shootout:{mode}:start -->", f"<!-- shootout:{mode}:end -->"


# What the numbers depend on: if one of these files changes, the results must be made again.
SOURCES = ["cnnkit/models.py", "cnnkit/train.py", "cnnkit/data.py", "scripts/shootout.py"]

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


def fingerprint() -> str:
    """SHA-256 over the sources the results depend on and the budgets."""
    digest = hashlib.sha256(json.dumps({"architectures": ARCHITECTURES, "budgets": BUDGETS}, sort_keys=True).encode())
    for name in SOURCES:
        digest.update(name.encode())
        digest.update((ROOT / name).read_bytes().replace(b"\r\n", b"\n"))
    return digest.hexdigest()


def results_path(mode: str, folder: Path = RESULTS) -> Path:
    return folder / f"shootout_{mode}.json"


def run(mode: str, *, names=None, epochs=None, train_limit=None, verbose=True) -> dict:
    """Train the architectures and return the results record (nothing is written)."""
    import torch

    import cnnkit
    from cnnkit import models

    budget = dict(BUDGETS[mode])
    if epochs is not None:
        budget["epochs"] = epochs
    if train_limit is not None:
        budget["train_limit"] = train_limit
    full = mode == "full"
    train, test = cnnkit.data.load_colour(True, full=full), cnnkit.data.load_colour(False, full=full)
    if budget["train_limit"]:
        train = torch.utils.data.TensorDataset(*(t[: budget["train_limit"]] for t in train.tensors))
    rows = []
    for name in names or ARCHITECTURES:
        function, kwargs = ARCHITECTURES[name]
        cnnkit.seed_everything(budget["seed"])
        model = getattr(models, function)(num_classes=10, in_channels=3, **kwargs)
        history = cnnkit.fit(
            model, train, test, epochs=budget["epochs"], batch_size=budget["batch_size"], lr=budget["lr"],
            seed=budget["seed"], progress=False, verbose=False,
        )  # fmt: skip
        row = {
            "architecture": name,
            "parameters": sum(p.numel() for p in model.parameters()),
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
        "data": "CIFAR-10 (50,000 / 10,000)" if full else "generated colour shapes (5,000 / 1,000)",
        "budget": budget,
        "device": str(cnnkit.get_device()),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "fingerprint": fingerprint(),
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
