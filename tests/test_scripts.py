"""The maintenance scripts: refreshing lessons and benchmarking fit."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_lessons_finds_lessons_by_number_and_name():
    run_lessons = load("run_lessons")
    every = run_lessons.find_lessons([])
    assert every and all(p.suffix == ".ipynb" for p in every)
    assert every == sorted(every)
    assert [p.name for p in run_lessons.find_lessons(["00"])] == ["00_start_here.ipynb"]
    assert [p.name for p in run_lessons.find_lessons(["00_start_here.ipynb"])] == ["00_start_here.ipynb"]
    with pytest.raises(SystemExit, match="no lesson matches 'nonsense'"):
        run_lessons.find_lessons(["nonsense"])


def test_benchmark_reports_both_loops(capsys):
    result = load("benchmark_fit").main(["--epochs", "2", "--rounds", "1"])
    out = capsys.readouterr().out
    assert "cnnkit.fit" in out and "DataLoader loop" in out and "speed-up" in out
    assert result["fit_seconds"] > 0 and result["loop_seconds"] > 0
    # same model, data, optimizer and epochs: both learn, to about the same accuracy
    assert result["fit_acc"] > 0.8 and result["loop_acc"] > 0.8
    assert abs(result["fit_acc"] - result["loop_acc"]) < 0.03
