"""Tests for cnnkit.experiment: spreads over seeds, the comparison rule, and claims that follow the numbers."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnkit.experiment import CLAIMS_ENV, ClaimError, Spread, claim, compare, over_seeds
from cnnkit.train import fit


def test_over_seeds_reports_mean_and_range_of_a_number():
    seeds = over_seeds(lambda seed: 10.0 + seed, seeds=(0, 1, 2), label="toy")
    spread = seeds["value"]
    assert spread.values == (10.0, 11.0, 12.0) and spread.mean == 11.0 and (spread.low, spread.high) == (10.0, 12.0)
    assert str(spread) == "11.000 (10.000–12.000 over 3 seeds)" and seeds.seconds >= 0
    assert "toy: 3 seeds (0, 1, 2)" in repr(seeds)


def test_over_seeds_seeds_everything_before_each_run():
    draws = over_seeds(lambda seed: float(torch.rand(1)), seeds=(0, 1, 0))["value"].values
    assert draws[0] == draws[2] != draws[1]


def test_over_seeds_of_fit_histories_gives_final_values_and_curves():
    x = torch.randn(60, 4)
    y = (x[:, 0] > 0).long()

    def run(seed):
        return fit(nn.Linear(4, 2), (x, y), (x, y), epochs=3, progress=False, verbose=False, seed=seed)

    seeds = over_seeds(run, seeds=(0, 1, 2))
    assert {"train_loss", "train_acc", "test_acc", "seconds"} <= set(seeds.metrics)
    assert "val_acc" not in seeds.metrics  # not measured: not reported
    mean, low, high = seeds.curve("test_acc")
    assert mean.shape == (3,) and np.all(low <= mean) and np.all(mean <= high)
    assert seeds["test_acc"].values == tuple(r.test_acc[-1] for r in seeds.results)


def test_over_seeds_dicts_and_bad_input():
    seeds = over_seeds(lambda s: {"acc": 0.5 + s / 10, "curve": [1.0, 0.5 - s / 10]}, seeds=(0, 1))
    assert seeds["curve"].values == (0.5, 0.4)
    with pytest.raises(KeyError, match="no metric 'loss'"):
        seeds["loss"]  # noqa: B018
    with pytest.raises(TypeError, match="must return"):
        over_seeds(lambda s: "0.9")
    with pytest.raises(ValueError, match="seeds"):
        over_seeds(lambda s: 1.0, seeds=[])
    with pytest.raises(TypeError, match="function of the seed"):
        over_seeds(3)


def test_compare_clear_only_when_the_ranges_do_not_overlap():
    a, b = Spread("ReLU", (0.90, 0.92, 0.91)), Spread("tanh", (0.80, 0.85, 0.83))
    verdict = compare(a, b)
    assert verdict.clear and verdict.winner is a
    assert verdict.sentence() == (
        "ReLU beats tanh on every seed: 0.910 (0.900–0.920 over 3 seeds) against 0.827 (0.800–0.850 over 3 seeds)."
    )
    close = compare(Spread("A", (0.90, 0.95)), Spread("B", (0.93, 0.94)))
    assert not close.clear and close.winner is None and close.sentence().startswith("No clear difference")
    loss = compare(Spread("A", (0.2, 0.3)), Spread("B", (0.5, 0.6)), higher_is_better=False)
    assert loss.winner.name == "A" and loss.difference == pytest.approx(-0.3)


def test_compare_refuses_what_is_not_a_spread():
    with pytest.raises(TypeError, match="must be a Spread"):
        compare(0.9, Spread("B", (0.8,)))
    with pytest.raises(ValueError, match="not finite"):
        compare(Spread("A", (float("nan"),)), Spread("B", (0.8,)))


def test_claim_prints_the_sentence_the_numbers_support(capsys, monkeypatch):
    monkeypatch.delenv(CLAIMS_ENV, raising=False)
    assert claim("BN wins.", 0.9 > 0.8, otherwise="BN does not win.") is True
    assert capsys.readouterr().out == "BN wins.\n"
    assert claim("BN wins.", False, otherwise="BN does not win.", expected=False) is False
    assert capsys.readouterr().out == "BN does not win.\n"


def test_claim_that_turns_the_other_way_notes_it_for_a_learner_and_fails_under_test(capsys, monkeypatch):
    monkeypatch.delenv(CLAIMS_ENV, raising=False)
    assert claim("BN wins.", False, otherwise="BN does not win.") is False
    out = capsys.readouterr().out
    assert out.startswith("BN does not win.\n") and "came out differently" in out
    monkeypatch.setenv(CLAIMS_ENV, "1")
    with pytest.raises(ClaimError, match="measurement now says: 'BN does not win.'"):
        claim("BN wins.", False, otherwise="BN does not win.")
    comparison = compare(Spread("A", (0.9, 0.95)), Spread("B", (0.93, 0.94)))
    assert claim("A beats B.", comparison, otherwise="No clear difference.", expected=False) is False
