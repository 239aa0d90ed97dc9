"""Widgets, driven headless: set a control's value and assert that the panel redrew."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets as w
import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

from cnnkit import widgets
from cnnkit.data import load_mnist


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_panel_redraws_on_change_and_reports_invalid_settings():
    seen = []

    def render(size):
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}.")
        seen.append(size)
        return size * 2

    slider = w.IntSlider(value=3, min=-2, max=10)
    panel = widgets.Panel({"size": slider}, render, title="demo")
    assert (panel.renders, panel.result, panel.error) == (1, 6, None)
    slider.value = 5
    assert (panel.renders, panel.values, panel.result, seen) == (2, {"size": 5}, 10, [3, 5])
    slider.value = 0  # an invalid setting: a message, not a traceback
    assert panel.error == "size must be at least 1, got 0." and panel.result is None
    assert "size must be at least 1" in panel.message.value
    slider.value = 4  # and it recovers
    assert panel.error is None and panel.message.value == "" and panel.result == 8


def test_panel_does_not_swallow_programming_errors():
    with pytest.raises(ZeroDivisionError):
        widgets.Panel({"x": w.IntSlider(value=1)}, lambda x: 1 / 0)


class FixedLogits(nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits))

    def forward(self, x):
        return self.logits.expand(len(x), -1)


def test_top_predictions_orders_probabilities():
    model = FixedLogits([0.0, 2.0, 1.0, -1.0])
    top = widgets.top_predictions(model, torch.zeros(1, 4, 4), k=3)
    assert [c for c, _ in top] == [1, 2, 0]
    expected = torch.softmax(torch.tensor([0.0, 2.0, 1.0, -1.0]), 0)
    assert [p for _, p in top] == pytest.approx([expected[1].item(), expected[2].item(), expected[0].item()])
    assert len(widgets.top_predictions(model, torch.zeros(1, 4, 4), k=99)) == 4
    assert model.training  # the mode is restored
    with pytest.raises(ValueError, match="C×H×W"):
        widgets.top_predictions(model, torch.zeros(2, 1, 4, 4))


def test_prediction_explorer_follows_the_slider():
    data = load_mnist(train=False)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    explorer = widgets.prediction_explorer(model, data)
    slider = explorer.controls["index"]
    assert slider.max == len(data) - 1 and explorer.renders == 1
    first = explorer.result
    slider.value = 7
    assert explorer.renders == 2 and explorer.values == {"index": 7}
    x = data.tensors[0][7]
    assert explorer.result == widgets.top_predictions(model, x, 3) and explorer.result != first
