"""The shoot-out command (scripts/shootout.py): its stored results are current and the README shows them."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import shootout  # noqa: E402


@pytest.fixture(scope="module")
def current():
    return shootout.provenance("quick")


def test_quick_results_are_current_and_complete(current):
    path = shootout.results_path("quick")
    assert path.is_file(), "run `python scripts/shootout.py` to make results/shootout_quick.json"
    record = json.loads(path.read_text())
    changed = shootout.differences(record, current)
    assert not changed, (
        "results/shootout_quick.json is stale; changed since it was made: "
        + "; ".join(changed)
        + ". Run `python scripts/shootout.py` again and commit the result."
    )
    assert [r["architecture"] for r in record["rows"]] == list(shootout.ARCHITECTURES)
    for row in record["rows"]:
        assert 0 <= row["test_acc"] <= 1 and row["seconds"] > 0
        assert row["parameters"] == current["models"][row["architecture"]]["parameters"]
    assert len(record["budget"]["seeds"]) >= 3 and len(record["budget"]["lr_grid"]) >= 3
    _check_rows(record)


def _check_rows(record):
    """Each row is internally consistent: the chosen rate is the validation winner, the mean
    is the mean of the seeds, and "learned" says what the numbers say."""
    budget = record["budget"]
    for row in record["rows"]:
        name = row["architecture"]
        assert set(row["val_acc_by_lr"]) == {str(lr) for lr in budget["lr_grid"]}, name
        best = max(row["val_acc_by_lr"].values())
        assert row["lr"] in budget["lr_grid"] and row["val_acc_by_lr"][str(row["lr"])] == best, name
        assert len(row["test_accs"]) == len(budget["seeds"]), name
        assert row["test_acc"] == pytest.approx(sum(row["test_accs"]) / len(row["test_accs"]), abs=1e-4), name
        assert (row["test_acc_min"], row["test_acc_max"]) == (min(row["test_accs"]), max(row["test_accs"])), name
        assert row["learned"] == (min(row["test_accs"]) > shootout.LEARNED), name
        assert row["batch_norm"] is True, name  # the same normalisation for every network
        assert row["macs"] > row["parameters"] > 0, name


def test_quick_race_is_neither_at_chance_nor_at_the_ceiling():
    """The point of the harder data and the learning-rate grid: every network learns, and
    none is so close to 100% that the race cannot tell them apart."""
    record = json.loads(shootout.results_path("quick").read_text())
    for row in record["rows"]:
        assert row["learned"], f"{row['architecture']} did not learn: {row}"
        assert row["test_acc_max"] < 0.98, f"{row['architecture']} is at the ceiling: {row['test_accs']}"


@pytest.mark.parametrize(
    "change, named",
    [
        (lambda p: p["models"]["ResNet-18"]["outputs"].__setitem__(3, 0.5), "ResNet-18"),
        (lambda p: p["models"]["VGG-11"].__setitem__("parameters", 1), "VGG-11"),
        (lambda p: p["data"]["test"].__setitem__("sum", p["data"]["test"]["sum"] * 1.01), "test data"),
        (lambda p: p["training"].__setitem__(0, p["training"][0] + 0.01), "training loop"),
        (lambda p: p.__setitem__("recipe", "0" * 64), "recipe"),
    ],
)
def test_staleness_check_names_what_changed(current, change, named):
    stored = copy.deepcopy(current)
    change(stored)
    changed = shootout.differences({"mode": "quick", "provenance": stored}, current)
    assert len(changed) == 1 and named in changed[0], changed
    # Float noise far below the tolerance is not a change.
    noisy = copy.deepcopy(current)
    noisy["models"]["ResNet-18"]["outputs"][3] *= 1 + 1e-7
    assert shootout.differences({"mode": "quick", "provenance": noisy}, current) == []


def test_results_without_provenance_are_stale():
    assert "no provenance" in shootout.differences({"mode": "quick"}, {})[0]


def test_readme_table_is_the_commands_output():
    record = json.loads(shootout.results_path("quick").read_text())
    assert shootout.readme_table("quick") == shootout.table(record)


def test_the_command_trains_and_writes_the_readme_table(tmp_path, current):
    budget = {"epochs": 1, "batch_size": 64, "lr_grid": [1e-3, 2e-2], "seeds": [0, 1], "n_train": 200,
              "n_val": 100, "n_test": 100}  # fmt: skip
    record = shootout.run("quick", names=["LeNet-5", "NiN"], budget=budget, verbose=False)
    assert [r["architecture"] for r in record["rows"]] == ["LeNet-5", "NiN"]
    assert record["rows"][0]["parameters"] == 83_148  # LeNet-5 with BN on 3×32×32 images
    assert record["data"].endswith("200 training / 100 validation / 100 test images")
    _check_rows(record)
    assert all(len(row["test_accs"]) == 2 for row in record["rows"])
    # A shortened run is not the quick-mode result: its record says how it differs.
    changed = shootout.differences(record, current)
    assert len(changed) == 4 and "recipe" in changed[0], changed
    assert [c.split()[1] for c in changed[1:]] == ["train", "val", "test"], changed
    readme = tmp_path / "README.md"
    start, end = shootout.markers("quick")
    readme.write_text(f"# title\n\n{start}\nold table\n{end}\n\nafter\n")
    shootout.update_readme(record, readme)
    text = readme.read_text()
    assert "old table" not in text and text.endswith(f"{end}\n\nafter\n")
    assert shootout.readme_table("quick", readme) == shootout.table(record)
    assert "| NiN |" in text


def test_update_readme_without_markers_says_what_is_missing(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    record = {"mode": "full", "data": "x", "budget": shootout.BUDGETS["full"], "device": "cpu", "threads": 1,
              "torch": "2", "rows": []}  # fmt: skip
    with pytest.raises(SystemExit, match="shootout:full:start"):
        shootout.update_readme(record, readme)
