"""Pictures the lessons draw again and again: image grids, training curves, maps, heat-maps.

Every function returns its matplotlib Figure (``show_map`` its image); in a notebook
follow the call with ``plt.show()`` (or assign the result) so the figure shows once. (A
trailing ``;`` also works in JupyterLab, but not under nbval, which runs cells without
history.)

Readable from the back of a classroom: :func:`use_style` (called by ``cnnkit.setup``)
sets text to at least 11 pt at the default figure width and lines to 1.8 pt, and a
presenter scale (``present=True``, or ``CNNKIT_PRESENT=1``) makes both larger still.
Series are told apart by colour *and* by line style and marker (:func:`series_style`),
from six Okabe–Ito colours that stay distinguishable for colour-blind eyes and, with
their dashes and markers, in greyscale; mistakes are marked by a symbol as well as by
colour. Every figure a helper draws carries alt text (a sentence saying what it shows),
attached to the notebook output as ``image/png`` metadata ``alt``.
"""

from __future__ import annotations

import math

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from cycler import cycler

__all__ = [
    "COLORS",
    "PALETTE",
    "confusion_matrix",
    "describe",
    "heatmap",
    "plot_history",
    "series_style",
    "show_images",
    "show_map",
    "use_style",
]

# Okabe & Ito (2008): distinguishable with every common kind of colour blindness.
COLORS = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}

# The six series colours, in order: blue, orange, bluish green, reddish purple, black, sky blue.
# (Vermillion, close to orange for many eyes, is kept for marking mistakes only.)
PALETTE = tuple(COLORS[name] for name in ("blue", "orange", "green", "purple", "black", "sky"))
MARKERS = ("o", "s", "^", "D", "v", "P")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)))
TEXT_PT, PRESENT_SCALE = 11, 1.5
PRESENT_MAX_COLUMNS = 6  # at the presenter scale a grid of panels has at most this many columns
_scale = 1.0  # the scale of the last use_style call


def scale() -> float:
    """The current drawing scale: 1, or ``PRESENT_SCALE`` after ``use_style(present=True)``.

    Helpers that choose their own figure size (image grids, widgets) multiply it by this,
    so that at the presenter scale their panels grow with their text.
    """
    return _scale


def grid_shape(n: int, ncols: int) -> tuple[int, int]:
    """Rows and columns for ``n`` panels, at most ``ncols`` wide (at most ``PRESENT_MAX_COLUMNS``
    at the presenter scale, so that each panel stays large enough to read from the back)."""
    ncols = max(1, min(int(ncols), n))
    if _scale > 1:
        ncols = min(ncols, PRESENT_MAX_COLUMNS)
    return math.ceil(n / ncols), ncols


def series_style(index: int, points: int | None = None) -> dict:
    """Colour, line style and marker of the ``index``-th series (keyword arguments for ``ax.plot``).

    ``points``: the number of points on the line; markers are then spaced to about ten
    per line, so that a long curve stays readable.
    """
    i = index % len(PALETTE)
    style = {"color": PALETTE[i], "linestyle": LINESTYLES[i], "marker": MARKERS[i]}
    if points is not None and points > 12:
        style["markevery"] = max(1, points // 10)
    return style


def use_style(present: bool = False) -> None:
    """Set matplotlib's defaults to the course's: large enough text and lines, the palette.

    ``present=True`` is the presenter scale: text and lines half as large again, for a projector.
    """
    global _scale
    _scale = scale = PRESENT_SCALE if present else 1.0
    text = TEXT_PT * scale
    mpl.rcParams.update(
        {
            "font.size": text,
            "axes.titlesize": text + 1,
            "axes.labelsize": text,
            "xtick.labelsize": text,
            "ytick.labelsize": text,
            "legend.fontsize": text,
            "figure.titlesize": text + 1,
            "lines.linewidth": 1.8 * scale,
            "lines.markersize": 6 * scale,
            "axes.linewidth": 1.0 * scale,
            "axes.prop_cycle": cycler(color=PALETTE, linestyle=LINESTYLES),
        }
    )
    _install_alt_text()


def describe(fig, text: str):
    """Attach alt text to ``fig``: one sentence saying what it shows (for screen readers and static pages)."""
    fig._cnnkit_alt = " ".join(str(text).split())
    return fig


def _alt_of(fig) -> str | None:
    """The figure's alt text: the one a helper attached, or, for panels drawn by :func:`show_map`, a
    sentence made from the figure's title and the panels' titles when it is shown."""
    if getattr(fig, "_cnnkit_alt", None):
        return fig._cnnkit_alt
    panels = getattr(fig, "_cnnkit_maps", 0)
    if not panels:
        return None
    heading = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()][:4]
    what = "one image or map" if panels == 1 else f"{panels} images or maps"
    named = f" ({', '.join(titles)}{', ...' if len(titles) == 4 else ''})" if titles else ""
    return f"A figure of {what}{named}.{' ' + heading if heading else ''}"


def _install_alt_text() -> None:
    """In IPython, make figure outputs carry their alt text as ``image/png`` metadata ``alt``."""
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        printer = formatter.lookup_by_type(Figure)
    except KeyError:  # no inline backend: nothing to annotate
        return
    if getattr(printer, "cnnkit_alt", False):
        return

    def png_with_alt(fig):
        data = printer(fig)
        alt = _alt_of(fig)
        return (data, {"alt": alt}) if data is not None and alt else data

    png_with_alt.cnnkit_alt = True
    formatter.for_type(Figure, png_with_alt)


def _as_image_batch(images) -> np.ndarray:
    """N×C×H×W (or N×H×W) tensor/array -> N×H×W×C float array ready for imshow."""
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(
            f"images must have shape N×C×H×W with C = 1 or 3 (or N×H×W), got {tuple(array.shape)}. "
            "Pass a batch, e.g. images[:16], and keep channels first as torch does."
        )
    return np.transpose(array.astype(np.float32), (0, 2, 3, 1))


def _name(value, class_names):
    value = int(value)
    if class_names is not None and 0 <= value < len(class_names):
        return str(class_names[value])
    return str(value)


def show_images(
    images, labels=None, preds=None, *, class_names=None, ncols: int = 8, title: str | None = None, size: float = 1.5
):
    """A grid of images with their labels; given ``preds``, mistakes are boxed and marked ✗.

    ``images``: N×C×H×W (C = 1 or 3) or N×H×W, values in [0, 1]. ``labels`` and
    ``preds`` are class indices; ``class_names`` turns them into words.
    """
    batch = _as_image_batch(images)
    n = len(batch)
    if n == 0:
        raise ValueError("images is empty: pass at least one image.")
    for name, values in (("labels", labels), ("preds", preds)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values)} entries but there are {n} images; pass one per image.")
    if preds is not None and labels is None:
        raise ValueError("preds needs labels too, to tell right from wrong: pass labels=...")
    nrows, ncols = grid_shape(n, ncols)
    size, title_room = size * _scale, (0.3 if labels is not None else 0.0) * _scale  # titles need room above
    height = (size + title_room) * nrows + (0.4 if title or preds is not None else 0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, height), squeeze=False)
    mistakes = 0
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        picture = batch[i]
        if picture.shape[-1] == 1:
            ax.imshow(picture[..., 0], cmap="gray_r", vmin=0, vmax=1)
        else:
            ax.imshow(np.clip(picture, 0, 1))
        if labels is None:
            continue
        text, color = _name(labels[i], class_names), COLORS["black"]
        if preds is not None:
            wrong = int(preds[i]) != int(labels[i])
            mistakes += wrong
            if wrong:
                text = f"✗ {_name(preds[i], class_names)} (is {text})"
                color = COLORS["vermillion"]
                for spine in ax.spines.values():
                    spine.set_edgecolor(color)
                    spine.set_linewidth(3)
            else:
                text = f"✓ {text}"
                color = COLORS["blue"]
        ax.set_title(text, color=color)
    if title is None and preds is not None:
        title = f"{mistakes} of {n} wrong (boxed, ✗ predicted, true class in brackets)"
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    what = f"A grid of {n} image{'s' if n != 1 else ''}"
    if preds is not None:
        what += f" with their true and predicted classes; {mistakes} are wrong"
    elif labels is not None:
        what += " with their labels"
    return describe(fig, f"{what}.{' ' + title if title else ''}")


def plot_history(history, *, title: str | None = None):
    """Loss and accuracy per epoch from a ``fit`` history, side by side."""
    records = getattr(history, "records", history)
    if not isinstance(records, (list, tuple)) or not records or not all(isinstance(r, dict) for r in records):
        raise ValueError("history must be what fit() returned (with at least one finished epoch).")
    epochs = [r["epoch"] for r in records]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_loss.plot(epochs, [r["train_loss"] for r in records], label="train loss", **series_style(0, len(epochs)))
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Training loss")
    ax_acc.plot(epochs, [r["train_acc"] for r in records], label="train", **series_style(0, len(epochs)))
    finals = [f"train accuracy {records[-1]['train_acc']:.3f}"]
    for index, (key, label) in enumerate((("val_acc", "validation"), ("test_acc", "test")), start=1):
        if any(r.get(key) is not None for r in records):
            ax_acc.plot(epochs, [r.get(key) for r in records], label=label, **series_style(index, len(epochs)))
            finals.append(f"{label} accuracy {records[-1][key]:.3f}")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (fraction correct)", title="Accuracy")
    ax_acc.legend()
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.set_xticks(epochs if len(epochs) <= 12 else ax.get_xticks())
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return describe(
        fig, f"Training loss (left) and accuracy (right) over {len(epochs)} epochs; at the end, {', '.join(finals)}."
    )


def heatmap(
    matrix,
    *,
    ax=None,
    title: str | None = None,
    fmt: str = "{:g}",
    cmap: str = "cividis",
    xlabels=None,
    ylabels=None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
):
    """A small matrix as coloured cells with each number written inside.

    ``fmt`` formats each value (``"{:.2f}"`` for two decimals). Text turns white on dark
    cells. Pass ``ax`` to draw into an existing subplot, and the same ``vmin``/``vmax`` to
    every heat-map that is to be compared (one colour scale).
    """
    array = matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else np.asarray(matrix)
    array = np.squeeze(array) if array.ndim > 2 else array
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2:
        raise ValueError(f"matrix must be 2-D (rows × columns), got shape {tuple(array.shape)}.")
    if array.size > 900:
        raise ValueError(
            f"matrix has {array.size} cells; numbers would not fit. Show at most 30×30 "
            "(slice it, or use plt.imshow for a large image)."
        )
    array = array.astype(float)
    if ax is None:
        rows, cols = array.shape
        fig, ax = plt.subplots(figsize=(max(2.5, 0.6 * cols + 1), max(2.0, 0.5 * rows + 0.8)))
    else:
        fig = ax.figure
    image = ax.imshow(array, cmap=cmap, vmin=vmin, vmax=vmax)
    for (r, c), value in np.ndenumerate(array):
        red, green, blue, _ = image.cmap(image.norm(value)) if np.isfinite(value) else (1, 1, 1, 1)
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # the cell's own colour decides the text colour
        ax.text(c, r, fmt.format(value), ha="center", va="center", color="white" if dark else "black")
    ax.set_xticks(range(array.shape[1]), labels=xlabels if xlabels is not None else range(array.shape[1]))
    ax.set_yticks(range(array.shape[0]), labels=ylabels if ylabels is not None else range(array.shape[0]))
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if not hasattr(fig, "_cnnkit_alt"):
        describe(fig, f"A {array.shape[0]}×{array.shape[1]} table of numbers drawn as coloured cells. {title or ''}")
    return fig


def _picture(image) -> np.ndarray:
    """An image or map as a float array: H×W, or H×W×3 for a colour image (1×H×W and 3×H×W accepted)."""
    array = image.detach().cpu().float().numpy() if isinstance(image, torch.Tensor) else np.asarray(image, float)
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = array[0] if array.shape[0] == 1 else np.transpose(array, (1, 2, 0))
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(
            f"image must be H×W, 1×H×W or 3×H×W (or H×W×3), got shape {tuple(array.shape)}: pass one image, "
            "e.g. images[0], not a batch."
        )
    return array


def show_map(
    ax, image, title: str | None = None, *, scale: str = "auto", percentile: float = 99.0, cmap=None, bound=None
):
    """Draw one image or feature map on ``ax`` with a colour scale that tells the truth; returns the image.

    ``scale``:
    - ``"unit"``: grey, clipped to [0, 1] (a picture: a filter that brightens shows brighter);
    - ``"signed"``: red for positive, blue for negative, white for 0, symmetric and clipped at the
      ``percentile``-th percentile of the absolute values (edge maps; one hot pixel does not wash
      the rest out);
    - ``"positive"``: 0 to the ``percentile``-th percentile (feature maps after a ReLU);
    - ``"auto"``: colour images as they are, ``"signed"`` when a value is negative, ``"unit"`` when
      every value lies in [0, 1], else ``"positive"``.

    ``bound``: the end of the ``"signed"`` or ``"positive"`` scale, instead of the percentile: pass
    the same bound to every panel that is to be compared (one colour scale across a figure).
    """
    array = _picture(image)
    if scale not in ("auto", "unit", "signed", "positive"):
        raise ValueError(f"scale must be 'auto', 'unit', 'signed' or 'positive', got {scale!r}.")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}.")
    finite = array[np.isfinite(array)]
    if scale == "auto":
        if array.ndim == 3:
            scale = "unit"
        elif finite.size and finite.min() < 0:
            scale = "signed"
        else:
            scale = "unit" if not finite.size or finite.max() <= 1 else "positive"
    if array.ndim == 3:
        shown = ax.imshow(np.clip(array, 0, 1))
    elif scale == "unit":
        shown = ax.imshow(array, cmap=cmap or "gray", vmin=0, vmax=1)
    else:
        if bound is None:
            bound = float(np.percentile(np.abs(finite), percentile)) if finite.size else 0.0
            bound = bound or (float(np.abs(finite).max()) if finite.size else 0.0) or 1.0
        elif not bound > 0:
            raise ValueError(f"bound must be greater than 0, got {bound}.")
        if scale == "signed":
            shown = ax.imshow(array, cmap=cmap or "RdBu_r", vmin=-bound, vmax=bound)
        else:
            shown = ax.imshow(array, cmap=cmap or "cividis", vmin=0, vmax=bound)
    if title:
        ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.figure._cnnkit_maps = getattr(ax.figure, "_cnnkit_maps", 0) + 1  # alt text from the panels (_alt_of)
    return shown


def confusion_matrix(matrix, class_names=None, *, ax=None, title: str = "Confusion matrix"):
    """A confusion matrix whose mistakes are readable: the diagonal (correct answers) is grey with its
    counts written in, and the off-diagonal cells have a colour scale of their own, with a colour bar.

    ``matrix[i, j]`` counts examples of true class ``i`` predicted as ``j`` (``cnnkit.probes.confusion_matrix``).
    """
    array = matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else np.asarray(matrix)
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise ValueError(f"matrix must be square (classes × classes), got shape {tuple(array.shape)}.")
    if array.shape[0] > 30:
        raise ValueError(f"{array.shape[0]} classes are too many to read; show at most 30 (slice the matrix).")
    k = array.shape[0]
    names = [str(n) for n in class_names] if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"class_names has {len(names)} names for {k} classes.")
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(4.5, 0.55 * k + 2.5), max(4.0, 0.5 * k + 1.5)))
    else:
        fig = ax.figure
    mistakes = array.astype(float).copy()
    np.fill_diagonal(mistakes, np.nan)
    # white for no mistake, darker for more; the diagonal (correct answers, out of the mistakes' scale) grey
    colours = mpl.colormaps["Blues"].with_extremes(bad="#d9d9d9")
    top = max(float(np.nanmax(mistakes)) if k > 1 else 0.0, 1.0)
    shown = ax.imshow(mistakes, cmap=colours, vmin=0, vmax=top)
    for (r, c), value in np.ndenumerate(array):
        if r == c:
            ax.text(c, r, f"{value:g}", ha="center", va="center", color="black", fontweight="bold")
        elif value:
            dark = value > 0.55 * top
            ax.text(c, r, f"{value:g}", ha="center", va="center", color="white" if dark else "black")
    ax.set_xticks(range(k), labels=names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticks(range(k), labels=names)
    ax.set(xlabel="predicted class", ylabel="true class", title=title)
    bar = fig.colorbar(shown, ax=ax, label="mistakes (count)", fraction=0.046, pad=0.04)
    bar.locator = mpl.ticker.MaxNLocator(integer=True)
    bar.update_ticks()
    fig.tight_layout()
    off = mistakes.copy()
    if k > 1 and np.nanmax(off) > 0:
        r, c = np.unravel_index(np.nanargmax(off), off.shape)
        worst = f" The most frequent mistake: {names[r]} predicted as {names[c]} ({off[r, c]:g} times)."
    else:
        worst = " There are no mistakes."
    correct = int(np.trace(array))
    return describe(
        fig, f"Confusion matrix of {k} classes: {correct} of {int(array.sum())} answers are correct.{worst}"
    )
