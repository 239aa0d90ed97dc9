"""Pictures the lessons draw again and again: image grids, training curves, heat-maps.

Every function returns its matplotlib Figure; in a notebook follow the call with
``plt.show()`` (or assign the result) so the figure shows once. (A trailing ``;`` also
works in JupyterLab, but not under nbval, which runs cells without history.)

Colours come from the Okabe–Ito palette, which stays readable for colour-blind eyes,
and mistakes are marked by a symbol as well as by colour.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["COLORS", "heatmap", "plot_history", "show_images"]

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
    images, labels=None, preds=None, *, class_names=None, ncols: int = 8, title: str | None = None, size: float = 1.4
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
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    title_room = 0.3 if labels is not None else 0.0  # each row's titles need room above the images
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
        ax.set_title(text, fontsize=9, color=color)
    if title is None and preds is not None:
        title = f"{mistakes} of {n} wrong (boxed, ✗ predicted, true class in brackets)"
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_history(history, *, title: str | None = None):
    """Loss and accuracy per epoch from a ``fit`` history, side by side."""
    records = getattr(history, "records", history)
    if not isinstance(records, (list, tuple)) or not records or not all(isinstance(r, dict) for r in records):
        raise ValueError("history must be what fit() returned (with at least one finished epoch).")
    epochs = [r["epoch"] for r in records]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.3))
    ax_loss.plot(epochs, [r["train_loss"] for r in records], "o-", color=COLORS["blue"], label="train loss")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Training loss")
    ax_acc.plot(epochs, [r["train_acc"] for r in records], "o-", color=COLORS["blue"], label="train")
    if any(r.get("test_acc") is not None for r in records):
        ax_acc.plot(epochs, [r.get("test_acc") for r in records], "s--", color=COLORS["vermillion"], label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (fraction correct)", title="Accuracy")
    ax_acc.legend()
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.set_xticks(epochs if len(epochs) <= 12 else ax.get_xticks())
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


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
):
    """A small matrix as coloured cells with each number written inside.

    ``fmt`` formats each value (``"{:.2f}"`` for two decimals). Text turns white on dark
    cells. Pass ``ax`` to draw into an existing subplot.
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
    image = ax.imshow(array, cmap=cmap)
    for (r, c), value in np.ndenumerate(array):
        red, green, blue, _ = image.cmap(image.norm(value)) if np.isfinite(value) else (1, 1, 1, 1)
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # the cell's own colour decides the text colour
        ax.text(c, r, fmt.format(value), ha="center", va="center", color="white" if dark else "black", fontsize=10)
    ax.set_xticks(range(array.shape[1]), labels=xlabels if xlabels is not None else range(array.shape[1]))
    ax.set_yticks(range(array.shape[0]), labels=ylabels if ylabels is not None else range(array.shape[0]))
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return fig
