"""Tests for cnnkit.plot: image grids, training curves and heat-maps (drawn off-screen)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cnnkit.plot import COLORS, heatmap, plot_history, show_images  # noqa: E402
from cnnkit.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.axison]


def make_history(epochs, with_test=True):
    history = History()
    for e in range(1, epochs + 1):
        history.append(
            epoch=e,
            train_loss=1.0 / e,
            train_acc=0.5 + 0.04 * e,
            test_acc=(0.45 + 0.04 * e) if with_test else None,
            seconds=0.1,
        )
    return history


# ----------------------------------------------------------------------------------------------------------------
# show_images


@pytest.mark.parametrize(("n", "ncols", "rows"), [(1, 8, 1), (5, 8, 1), (8, 8, 1), (10, 4, 3), (16, 8, 2), (3, 1, 3)])
def test_show_images_grid(n, ncols, rows):
    fig = show_images(torch.rand(n, 1, 28, 28), ncols=ncols)
    assert isinstance(fig, Figure)
    assert len(visible_axes(fig)) == n
    assert len(fig.axes) == rows * min(ncols, n)
    for ax in visible_axes(fig):
        assert len(ax.images) == 1 and ax.images[0].get_array().shape == (28, 28)
        assert ax.get_title() == ""  # no labels, no titles


def test_show_images_labels_and_class_names():
    labels = torch.tensor([0, 2, 1])
    fig = show_images(torch.rand(3, 28, 28), labels, class_names=["cat", "dog", "bird"])  # N×H×W works too
    assert [ax.get_title() for ax in visible_axes(fig)] == ["cat", "bird", "dog"]
    fig = show_images(np.random.rand(2, 1, 8, 8), [7, 3])
    assert [ax.get_title() for ax in visible_axes(fig)] == ["7", "3"]
    assert fig.get_suptitle() == ""


def test_show_images_marks_mistakes_and_counts_them():
    labels = [1, 2, 3, 4, 5]
    preds = [1, 0, 3, 4, 9]
    fig = show_images(torch.rand(5, 1, 10, 10), labels, preds)
    titles = [ax.get_title() for ax in visible_axes(fig)]
    assert titles == ["✓ 1", "✗ 0 (is 2)", "✓ 3", "✓ 4", "✗ 9 (is 5)"]
    assert fig.get_suptitle().startswith("2 of 5 wrong")
    axes = visible_axes(fig)
    assert matplotlib.colors.to_hex(axes[1].title.get_color()) == COLORS["vermillion"].lower()
    assert matplotlib.colors.to_hex(axes[0].title.get_color()) == COLORS["blue"].lower()
    assert axes[1].spines["left"].get_linewidth() == 3  # boxed
    assert axes[0].spines["left"].get_linewidth() != 3


def test_show_images_all_right_and_custom_title():
    fig = show_images(torch.rand(4, 1, 8, 8), [0, 1, 2, 3], [0, 1, 2, 3])
    assert all(ax.get_title().startswith("✓") for ax in visible_axes(fig))
    assert fig.get_suptitle().startswith("0 of 4 wrong")
    fig = show_images(torch.rand(2, 1, 8, 8), [0, 1], [1, 1], title="My digits", class_names=["zero", "one"])
    assert fig.get_suptitle() == "My digits"
    assert [ax.get_title() for ax in visible_axes(fig)] == ["✗ one (is zero)", "✓ one"]


def test_show_images_rgb():
    images = torch.rand(6, 3, 16, 12) * 1.4 - 0.2  # out-of-range values are clipped for display
    fig = show_images(images, labels=list(range(6)), ncols=3)
    axes = visible_axes(fig)
    assert len(axes) == 6
    shown = axes[0].images[0].get_array()
    assert shown.shape == (16, 12, 3)
    assert shown.min() >= 0 and shown.max() <= 1
    np.testing.assert_allclose(shown, images[0].clamp(0, 1).permute(1, 2, 0).numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "images",
    [
        torch.rand(4, 2, 8, 8),
        torch.rand(4, 4, 8, 8),
        torch.rand(8, 8),
        torch.rand(2, 1, 1, 8, 8),
        torch.rand(0, 1, 8, 8),
    ],
)
def test_show_images_wrong_shapes_raise(images):
    with pytest.raises(ValueError, match="images"):
        show_images(images)


def test_show_images_label_and_prediction_mismatches_raise():
    images = torch.rand(4, 1, 8, 8)
    with pytest.raises(ValueError, match="labels has 3 entries"):
        show_images(images, [0, 1, 2])
    with pytest.raises(ValueError, match="preds has 5 entries"):
        show_images(images, [0, 1, 2, 3], [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="preds needs labels"):
        show_images(images, preds=[0, 1, 2, 3])


# ----------------------------------------------------------------------------------------------------------------
# plot_history


def test_plot_history_two_axes_with_one_point_per_epoch():
    fig = plot_history(make_history(4), title="Run 1")
    assert isinstance(fig, Figure)
    ax_loss, ax_acc = fig.axes
    (loss_line,) = ax_loss.get_lines()
    assert list(loss_line.get_xdata()) == [1, 2, 3, 4]
    assert list(loss_line.get_ydata()) == pytest.approx([1.0, 0.5, 1 / 3, 0.25])
    train_line, test_line = ax_acc.get_lines()
    assert list(train_line.get_ydata()) == pytest.approx([0.54, 0.58, 0.62, 0.66])
    assert list(test_line.get_ydata()) == pytest.approx([0.49, 0.53, 0.57, 0.61])
    assert [t.get_text() for t in ax_acc.get_legend().get_texts()] == ["train", "test"]
    assert fig.get_suptitle() == "Run 1"


def test_plot_history_without_test_data_and_from_records():
    fig = plot_history(make_history(3, with_test=False).records)
    ax_loss, ax_acc = fig.axes
    assert len(ax_acc.get_lines()) == 1
    assert len(ax_loss.get_lines()[0].get_xdata()) == 3


def test_plot_history_many_epochs():
    fig = plot_history(make_history(20))
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == 20


@pytest.mark.parametrize("bad", [History(), [], None, "history", [1, 2], {"train_loss": [1.0]}])
def test_plot_history_bad_history_raises(bad):
    with pytest.raises(ValueError, match="history"):
        plot_history(bad)


# ----------------------------------------------------------------------------------------------------------------
# heatmap


def test_heatmap_writes_every_number():
    fig = heatmap(np.arange(1, 10).reshape(3, 3), title="kernel", xlabel="x", ylabel="y")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    texts = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert texts == {((c, r), str(3 * r + c + 1)) for r in range(3) for c in range(3)}
    assert ax.get_title() == "kernel" and ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    # white text on the dark (low) cells, black on the light ones
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    assert colours["1"] == "white" and colours["9"] == "black"
    np.testing.assert_array_equal(ax.images[0].get_array(), np.arange(1, 10).reshape(3, 3))


def test_heatmap_format_labels_and_existing_axes():
    fig, (left, right) = plt.subplots(1, 2)
    out = heatmap(torch.tensor([[0.5, 0.25], [1 / 3, 2.0]]), ax=right, fmt="{:.2f}", xlabels=["a", "b"])
    assert out is fig
    assert sorted(t.get_text() for t in right.texts) == ["0.25", "0.33", "0.50", "2.00"]
    assert len(left.texts) == 0
    assert [t.get_text() for t in right.get_xticklabels()] == ["a", "b"]


def test_heatmap_vector_and_squeezable_input():
    fig = heatmap([1, 2, 3, 4])
    assert [t.get_text() for t in fig.axes[0].texts] == ["1", "2", "3", "4"]
    fig = heatmap(torch.ones(1, 1, 2, 3))  # a single feature map, as conv layers give it
    assert len(fig.axes[0].texts) == 6


def test_heatmap_limits():
    assert len(heatmap(np.zeros((30, 30))).axes[0].texts) == 900
    with pytest.raises(ValueError, match="30×30"):
        heatmap(np.zeros((31, 30)))
    with pytest.raises(ValueError, match="2-D"):
        heatmap(np.zeros((2, 3, 4)))


def test_heatmap_text_stays_readable_on_constant_and_diverging_matrices():
    fig = heatmap(np.full((3, 3), 1 / 9), fmt="{:.2f}")  # one colour everywhere: text must contrast with it
    colours = {t.get_color() for t in fig.axes[0].texts}
    assert len(colours) == 1
    fig = heatmap(np.array([[-4.0, 0.0, 4.0]]), cmap="RdBu_r")  # dark ends, light middle
    assert [t.get_color() for t in fig.axes[0].texts] == ["white", "black", "white"]


# ----------------------------------------------------------------------------------------------------------------
# the course's style, series, maps, confusion matrices, alt text

from cnnkit import plot  # noqa: E402


def test_use_style_makes_text_and_lines_readable_and_presenter_scale_larger():
    saved = dict(matplotlib.rcParams)
    try:
        plot.use_style()
        rc = matplotlib.rcParams
        assert min(rc["font.size"], rc["xtick.labelsize"], rc["legend.fontsize"], rc["axes.labelsize"]) >= 11
        assert rc["lines.linewidth"] >= 1.5
        normal = rc["font.size"]
        plot.use_style(present=True)
        assert matplotlib.rcParams["font.size"] >= 1.4 * normal and matplotlib.rcParams["lines.linewidth"] >= 2.5
    finally:
        matplotlib.rcParams.update(saved)


def test_presenter_scale_gives_image_grids_fewer_columns_and_larger_panels():
    saved = dict(matplotlib.rcParams)
    images = torch.rand(16, 1, 8, 8)
    try:
        plot.use_style()
        assert plot.scale() == 1 and plot.grid_shape(16, 8) == (2, 8)
        normal = plot.show_images(images, labels=list(range(16)), ncols=8)
        plot.use_style(present=True)
        assert plot.scale() == plot.PRESENT_SCALE and plot.grid_shape(16, 8) == (3, 6)
        big = plot.show_images(images, labels=list(range(16)), ncols=8)
        columns = lambda fig: len({round(ax.get_position().x0, 3) for ax in fig.axes})  # noqa: E731
        assert columns(normal) == 8 and columns(big) == 6
        panel = lambda fig: fig.get_size_inches()[0] / columns(fig)  # noqa: E731
        assert panel(big) >= 1.4 * panel(normal)
    finally:
        plot.use_style()
        matplotlib.rcParams.update(saved)
        plt.close("all")


def grey(hex_colour):
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b


def test_series_styles_differ_in_colour_dash_and_marker():
    styles = [plot.series_style(i) for i in range(6)]
    for key in ("color", "linestyle", "marker"):
        assert len({str(s[key]) for s in styles}) == 6, key
    assert COLORS["vermillion"] not in plot.PALETTE  # kept for mistakes; it is confused with orange
    assert plot.series_style(6) == styles[0]
    assert plot.series_style(0, points=300)["markevery"] == 30 and "markevery" not in plot.series_style(0, 10)


def test_show_map_scales():
    fig, ax = plt.subplots()
    shown = plot.show_map(ax, np.array([[0.2, 0.8], [0.5, 0.1]]))
    assert shown.get_clim() == (0.0, 1.0) and shown.get_cmap().name == "gray"
    values = np.linspace(-1, 1, 1000).reshape(20, 50)
    values[0, 0] = 1000.0  # one hot pixel does not wash the rest out
    shown = plot.show_map(ax, torch.tensor(values))
    low, high = shown.get_clim()
    assert shown.get_cmap().name == "RdBu_r" and low == -high and high < 20
    shown = plot.show_map(ax, np.full((4, 4), 5.0), scale="positive")
    assert shown.get_clim() == (0.0, 5.0)
    assert plot.show_map(ax, torch.zeros(4, 4), scale="signed").get_clim() == (-1.0, 1.0)  # no 0-width scale
    assert plot.show_map(ax, torch.rand(4, 4) - 0.5, scale="signed", bound=2.0).get_clim() == (-2.0, 2.0)
    with pytest.raises(ValueError, match="bound"):
        plot.show_map(ax, torch.rand(4, 4), scale="positive", bound=0)
    assert plot.show_map(ax, torch.rand(3, 5, 5)).get_array().shape == (5, 5, 3)
    assert plot.show_map(ax, torch.rand(1, 5, 5)).get_array().shape == (5, 5)
    with pytest.raises(ValueError, match="one image"):
        plot.show_map(ax, torch.rand(2, 3, 5, 5))
    with pytest.raises(ValueError, match="scale must be"):
        plot.show_map(ax, torch.rand(5, 5), scale="log")


def test_confusion_matrix_masks_the_diagonal_and_has_a_colour_bar():
    matrix = np.array([[50, 2, 0], [7, 40, 1], [0, 0, 45]])
    fig = plot.confusion_matrix(matrix, ["cat", "dog", "owl"])
    ax, bar = fig.axes[0], fig.axes[1]
    shown = ax.get_images()[0].get_array()
    assert np.ma.is_masked(shown) and shown.mask[0, 0] and shown.mask[1, 1] and not shown.mask[1, 0]
    assert ax.get_images()[0].get_clim() == (0.0, 7.0)  # the scale of the mistakes, not of the diagonal
    assert bar.get_ylabel() == "mistakes (count)"
    assert {t.get_text() for t in ax.texts} >= {"50", "40", "45", "7", "2", "1"}
    assert "dog predicted as cat (7 times)" in fig._cnnkit_alt and "135 of 145" in fig._cnnkit_alt
    with pytest.raises(ValueError, match="square"):
        plot.confusion_matrix(np.ones((2, 3)))


def test_every_helper_figure_has_alt_text():
    figures = [
        show_images(torch.rand(4, 1, 8, 8), labels=[0, 1, 2, 3], preds=[0, 1, 0, 3]),
        plot_history(make_history(3)),
        heatmap(np.eye(3), title="identity"),
        plot.confusion_matrix(np.eye(3) * 5),
    ]
    fig, axes = plt.subplots(1, 2)
    plot.show_map(axes[0], torch.rand(5, 5), "noise")
    plot.show_map(axes[1], torch.rand(5, 5), "more noise")
    fig.suptitle("Two maps")
    for figure in figures:
        assert isinstance(figure._cnnkit_alt, str) and len(figure._cnnkit_alt) > 20
    assert plot._alt_of(fig) == "A figure of 2 images or maps (noise, more noise). Two maps"
    assert "1 are wrong" in figures[0]._cnnkit_alt or "1 is wrong" in figures[0]._cnnkit_alt


def test_alt_text_reaches_the_notebook_output():
    """In a real kernel, a helper's figure is stored with its alt text as image/png metadata."""
    import nbformat
    from nbclient import NotebookClient

    cells = [
        "%matplotlib inline\nimport matplotlib.pyplot as plt, torch, cnnkit\nfrom cnnkit import plot\n"
        "_ = cnnkit.setup(seed=0)",
        "plot.show_images(torch.rand(2, 1, 8, 8), labels=[3, 4])\nplt.show()",
        "plt.plot([1, 2])\nplt.show()",  # a learner's own figure: no alt text invented for it
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    helper, own = (next(o for o in nb.cells[i].outputs if "image/png" in o.get("data", {})) for i in (1, 2))
    assert helper.metadata["image/png"]["alt"] == "A grid of 2 images with their labels."
    assert "alt" not in own.get("metadata", {}).get("image/png", {})


def test_heatmap_shares_a_colour_scale_when_asked():
    fig = heatmap(np.array([[1.0, 2.0], [3.0, 4.0]]), vmin=0, vmax=16)
    assert fig.axes[0].get_images()[0].get_clim() == (0.0, 16.0)
