"""The shoot-out command (scripts/shootout.py): its stored results are current and the README shows them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import shootout  # noqa: E402


def test_quick_results_are_current_and_complete():
    path = shootout.results_path("quick")
    assert path.is_file(), "run `python scripts/shootout.py` to make results/shootout_quick.json"
    record = json.loads(path.read_text())
    assert record["fingerprint"] == shootout.fingerprint(), (
        "results/shootout_quick.json was made from other models, training code or budgets: "
        "run `python scripts/shootout.py` again and commit the result"
    )
    assert [r["architecture"] for r in record["rows"]] == list(shootout.ARCHITECTURES)
    for row in record["rows"]:
        assert 0 <= row["test_acc"] <= 1 and row["parameters"] > 0 and row["seconds"] > 0


def test_readme_table_is_the_commands_output():
    record = json.loads(shootout.results_path("quick").read_text())
    assert shootout.readme_table("quick") == shootout.table(record)


def test_the_command_trains_and_writes_the_readme_table(tmp_path):
    record = shootout.run("quick", names=["LeNet-5", "NiN"], epochs=1, train_limit=256, verbose=False)
    assert [r["architecture"] for r in record["rows"]] == ["LeNet-5", "NiN"]
    assert record["rows"][0]["parameters"] == 83_126  # LeNet-5 on 3×32×32 images
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
