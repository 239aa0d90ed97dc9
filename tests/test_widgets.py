"""Widgets, driven headless: set a control's value and assert that the panel redrew."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn

import cnnkit
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
    assert explorer.renders == 2 and explorer.values == {"index": 7, "mistakes_only": False}
    x = data.tensors[0][7]
    assert explorer.result["top"] == widgets.top_predictions(model, x, 3) and explorer.result != first


def test_prediction_explorer_can_show_the_mistakes_only():
    data = load_mnist(train=False)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    wrong = (cnnkit.predict(model, data) != data.tensors[1]).nonzero().flatten().tolist()
    explorer = widgets.prediction_explorer(model, data)
    explorer.controls["mistakes_only"].value = True
    assert explorer.controls["index"].max == len(wrong) - 1 and explorer.renders == 2  # one picture per change
    explorer.controls["index"].value = 3
    assert explorer.result["image"] == wrong[3]
    explorer.controls["mistakes_only"].value = False
    assert explorer.controls["index"].max == len(data) - 1 and explorer.result["image"] == 0


# ----------------------------------------------------------------------------------------------------------------
# the widgets of lessons 02-07: pure functions, then the panels driven headless


def test_conv_window_cells_and_formula():
    info = widgets.conv_window(7, 3, stride=2, padding=1, dilation=1, row=1, col=2)
    assert info["out"] == 4 and (info["row"], info["col"]) == (1, 2)
    assert info["cells"][0] == (2, 4) and info["cells"][-1] == (4, 6) and len(info["cells"]) == 9
    assert info["formula"].endswith("= 4") and info["unused"] == 0
    dilated = widgets.conv_window(7, 3, dilation=2, row=0, col=0)
    assert dilated["out"] == 3 and dilated["cells"][:3] == [(0, 0), (0, 2), (0, 4)]
    assert widgets.conv_window(8, 3, stride=2)["unused"] == 1  # (8 - 3) % 2: one row never reached
    assert widgets.conv_window(5, 3, row=9, col=9)["row"] == 2  # clamped to the output


def test_conv_explorer_responds_and_flags_settings_that_do_not_fit():
    panel = widgets.conv_explorer()
    assert panel.result["out"] == 5 and panel.controls["row"].max == 4
    panel.controls["stride"].value = 2
    assert panel.result["out"] == 3 and panel.renders == 2
    assert panel.controls["row"].max == panel.controls["col"].max == 2  # the sliders stop at the output's edge
    panel.controls["row"].value = 2
    panel.controls["stride"].value = 3
    assert panel.result["out"] == 2 and panel.controls["row"].value == 1  # pulled back inside
    panel.controls["size"].value = 2
    assert panel.result is None and "does not fit" in panel.error and "does not fit" in panel.message.value
    panel.controls["padding"].value = 1
    assert panel.error is None and panel.result["out"] == 1  # (2 + 2 - 3) // 2 + 1


def test_filter_image_and_kernel_editor():
    image = torch.rand(1, 12, 12)
    assert torch.allclose(widgets.filter_image(image, np.pad([[1.0]], 1)), image)
    with pytest.raises(ValueError, match="finite"):
        widgets.filter_image(image, [[np.nan] * 3] * 3)
    panel = widgets.kernel_editor(image, preset="identity")
    assert torch.allclose(panel.result["output"], image)
    panel.controls["preset"].value = "box_blur"
    assert np.allclose(panel.result["kernel"], 1 / 9) and not torch.allclose(panel.result["output"], image)
    panel.controls["k4"].value = 2.0  # editing a box turns the preset into "custom"
    assert panel.controls["preset"].value == "custom" and panel.result["kernel"][1, 1] == 2.0
    with pytest.raises(ValueError, match="preset must be one of"):
        widgets.kernel_editor(image, preset="blur")


def test_pool_image_and_pooling_explorer():
    image = torch.arange(16.0).reshape(1, 4, 4)
    assert widgets.pool_image(image, "max", 2).tolist() == [[[5.0, 7.0], [13.0, 15.0]]]
    assert widgets.pool_image(image[0], "avg", 2).tolist() == [[2.5, 4.5], [10.5, 12.5]]
    with pytest.raises(ValueError, match="kind must be"):
        widgets.pool_image(image, "min", 2)
    with pytest.raises(ValueError, match="does not fit"):
        widgets.pool_image(image, "max", 5)
    panel = widgets.pooling_explorer(torch.rand(3, 20, 30))
    assert panel.result["shape"] == (3, 10, 15)
    panel.controls["kernel_size"].value = 4
    assert panel.result["shape"] == (3, 9, 14)
    panel.controls["kernel_size"].value = 8
    panel.controls["stride"].value = 8
    assert panel.result["shape"] == (3, 2, 3)


def test_pooling_explorer_shift_changes_fewer_pooled_values_than_pixels():
    image = torch.zeros(1, 24, 24)
    image[:, 6:18:4, 5:19:4] = 1.0  # dots inside 4×4 windows (columns 5, 9, 13, 17)
    panel = widgets.pooling_explorer(image)
    assert panel.result["changed_pixels"] == panel.result["changed_pooled"] == 0.0
    for name, value in (("kernel_size", 4), ("stride", 4), ("shift", 1)):
        panel.controls[name].value = value
    assert panel.result["changed_pixels"] > 0 and panel.result["changed_pooled"] == 0.0  # max pooling absorbs it
    panel.controls["shift"].value = 3  # now the dots cross into the next window
    assert panel.result["changed_pooled"] > 0


def test_activation_explorer_initialisation_control():
    panel = widgets.activation_explorer("relu", depth=10)
    default = list(panel.result.values())
    panel.controls["init"].value = "kaiming"
    kaiming = list(panel.result.values())
    assert default != kaiming and panel.controls["init"].options == ("default", "kaiming", "xavier")
    ratio = lambda norms: norms[0] / norms[-1]  # noqa: E731
    assert ratio(kaiming) > 10 * ratio(default)  # He initialisation keeps the early layers' gradients alive


def test_activation_explorer_shows_relu_gradients_far_larger_than_sigmoid():
    panel = widgets.activation_explorer("sigmoid", depth=8)
    sigmoid = list(panel.result.values())
    panel.controls["activation"].value = "relu"
    relu = list(panel.result.values())
    assert len(sigmoid) == len(relu) == 9
    assert relu[0] / relu[-1] > 100 * sigmoid[0] / sigmoid[-1]
    panel.controls["depth"].value = 3
    assert len(panel.result) == 4


def test_optimizer_race_reports_distances_and_divergence():
    panel = widgets.optimizer_race("quadratic", lr=0.01, steps=100)
    assert set(panel.result) == {"sgd", "momentum", "rmsprop", "adam"}
    assert all(np.isfinite(d) for d in panel.result.values())
    panel.controls["lr"].value = 0.1  # beyond 2/25 for plain SGD on the steep direction
    assert panel.result["sgd"] == float("inf")


def test_feature_explorer_switches_layer_and_image():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 14 * 14, 10)
    )
    test = load_mnist(train=False)
    small = torch.utils.data.TensorDataset(*(t[:5] for t in test.tensors))
    panel = widgets.feature_explorer(model, small)
    assert panel.result["shape"] == (4, 28, 28) and len(panel.result["top"]) == 3
    panel.controls["layer"].value = "2"
    assert panel.result["shape"] == (4, 14, 14)
    before = panel.result["top"]
    panel.controls["index"].value = 4
    assert panel.result["top"] != before and panel.renders == 3
    with pytest.raises(ValueError, match="no convolution"):
        widgets.feature_explorer(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), small)


def test_feature_explorer_explains_a_chosen_class_with_saliency_and_grad_cam():
    from cnnkit import probes

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10)
    )
    test = load_mnist(train=False)
    small = torch.utils.data.TensorDataset(*(t[:5] for t in test.tensors))
    panel = widgets.feature_explorer(model, small)
    assert panel.result["method"] == "feature maps" and panel.result["map"].shape == (4, 28, 28)
    predicted = panel.result["top"][0][0]
    with panel.hold():
        panel.controls["method"].value = "saliency"
        panel.controls["target"].value = (predicted + 1) % 10
    assert panel.result["target"] == (predicted + 1) % 10
    assert torch.equal(panel.result["map"], probes.saliency(model, small.tensors[0][0], (predicted + 1) % 10))
    panel.controls["method"].value = "Grad-CAM"
    panel.controls["layer"].value = "1"
    assert torch.equal(panel.result["map"], probes.grad_cam(model, small.tensors[0][0], model[1], (predicted + 1) % 10))
    panel.controls["target"].value = -1
    assert panel.result["target"] == predicted and panel.error is None
    assert len(plt.gcf().axes) == 3  # image, map, top answers: few, large panels
    panel.render(index=0, layer="1", method="saliency", target=-1)
    with pytest.raises(ValueError, match="method"):
        panel.render(index=0, layer="1", method="guided backprop", target=-1)
    with pytest.raises(ValueError, match="target"):
        panel.render(index=0, layer="1", method="saliency", target=10)


def test_pure_functions_live_with_their_ideas_and_stay_reachable_from_widgets():
    from cnnkit import arithmetic, kernels, probes

    assert widgets.conv_window is arithmetic.conv_window
    assert widgets.filter_image is kernels.filter_image and widgets.pool_image is kernels.pool_image
    assert widgets.top_predictions is probes.top_predictions


def kernel_editor_output_image(panel):
    """The pixels of the kernel editor's output panel, as matplotlib last drew them (values after the colour map)."""
    fig = plt.gcf()
    shown = fig.axes[2].get_images()[0]
    return shown.get_array(), shown.get_clim(), shown.get_cmap().name


def test_kernel_editor_shows_a_brighter_picture_for_a_blur_that_sums_to_two():
    image = torch.full((1, 12, 12), 0.3)
    panel = widgets.kernel_editor(image, preset="box_blur")
    _, clim_blur, cmap_blur = kernel_editor_output_image(panel)
    blur_mean = float(panel.result["output"].mean())
    for i in range(9):
        panel.controls[f"k{i}"].value = 2 / 9  # the weights now sum to 2
    _, clim_two, cmap_two = kernel_editor_output_image(panel)
    assert not panel.result["signed"] and cmap_two == cmap_blur == "gray"
    assert clim_two == clim_blur == (0.0, 1.0)  # one fixed grey scale: twice the brightness looks twice as bright
    assert float(panel.result["output"].mean()) == pytest.approx(2 * blur_mean, rel=1e-5)


def test_kernel_editor_uses_a_signed_scale_for_edge_detectors():
    image = torch.zeros(1, 12, 12)
    image[:, :, 6:] = 1.0
    panel = widgets.kernel_editor(image, preset="sobel_x")
    _, (low, high), cmap = kernel_editor_output_image(panel)
    assert panel.result["signed"] and cmap == "RdBu_r" and high > 0 and low == -high
    panel.controls["preset"].value = "identity"
    assert not panel.result["signed"]


def test_kernel_editor_draws_once_per_change():
    panel = widgets.kernel_editor(torch.rand(1, 8, 8), preset="identity")
    before = panel.renders
    panel.controls["preset"].value = "sharpen"  # nine boxes change: still one picture
    assert panel.renders == before + 1


def test_widget_figures_grow_at_the_presenter_scale(monkeypatch):
    import matplotlib

    from cnnkit import plot

    sizes = []
    monkeypatch.setattr(plt, "show", lambda: sizes.append(tuple(plt.gcf().get_size_inches())))
    saved = dict(matplotlib.rcParams)
    try:
        plot.use_style()
        widgets.activation_explorer()
        widgets.conv_explorer()
        plot.use_style(present=True)
        widgets.activation_explorer()
        widgets.conv_explorer()
    finally:
        plot.use_style()
        matplotlib.rcParams.update(saved)
        plt.close("all")
    (a, c, a_big, c_big) = sizes
    assert a_big == pytest.approx((a[0] * plot.PRESENT_SCALE, a[1] * plot.PRESENT_SCALE))
    assert c_big == pytest.approx((c[0] * plot.PRESENT_SCALE, c[1] * plot.PRESENT_SCALE))
