"""Interactive widgets for the lessons: thin layers over pure, tested functions.

Every widget is a :class:`Panel`: some controls, a picture drawn by a render function,
and a message line. When the controls describe something impossible the render
function raises ``ValueError`` and the panel shows that message instead of a traceback.
"""

from __future__ import annotations

import contextlib

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
import torch

from . import arithmetic, kernels, optim, probes
from .plot import COLORS
from .utils import evaluating, model_device

__all__ = [
    "Panel",
    "activation_explorer",
    "conv_explorer",
    "conv_window",
    "feature_explorer",
    "filter_image",
    "kernel_editor",
    "optimizer_race",
    "pool_image",
    "pooling_explorer",
    "prediction_explorer",
    "top_predictions",
]


class Panel(w.VBox):
    """Controls + a live picture. ``render(**values)`` draws with matplotlib.

    After each redraw ``panel.renders`` counts the drawings, ``panel.values`` holds the
    control values used, ``panel.result`` what ``render`` returned and ``panel.error``
    the message of an invalid setting (or None). Tests use these to drive a panel headless.
    """

    def __init__(self, controls: dict, render, *, title: str | None = None, layout: w.Widget | None = None):
        self.controls = dict(controls)
        self.render = render
        self.output = w.Output()
        self.message = w.HTML()
        self.renders, self.values, self.result, self.error = 0, {}, None, None
        self._held = False
        header = [w.HTML(f"<b>{title}</b>")] if title else []
        layout = w.HBox(list(self.controls.values())) if layout is None else layout
        super().__init__(header + [layout, self.message, self.output])
        for control in self.controls.values():
            control.observe(self.refresh, names="value")
        self.refresh()

    @contextlib.contextmanager
    def hold(self):
        """Change several controls at once and redraw once, at the end."""
        self._held = True
        try:
            yield
        finally:
            self._held = False
        self.refresh()

    def refresh(self, _change=None):
        if self._held:
            return
        self.values = {name: control.value for name, control in self.controls.items()}
        self.output.clear_output(wait=True)
        with self.output:
            try:
                self.result = self.render(**self.values)
                self.error = None
                self.message.value = ""
                plt.show()
            except ValueError as exc:
                plt.close("all")
                self.result, self.error = None, str(exc)
                self.message.value = f"<span style='color:{COLORS['vermillion']}'>⚠ {exc}</span>"
        self.renders += 1


def top_predictions(model: torch.nn.Module, image: torch.Tensor, k: int = 3):
    """The ``k`` most likely classes for one image (C×H×W): a list of (class index, probability)."""
    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        raise ValueError(f"image must be a tensor of shape C×H×W, got {getattr(image, 'shape', type(image))}.")
    with evaluating(model):
        probs = torch.softmax(model(image.unsqueeze(0).to(model_device(model))), dim=1)[0].cpu()
    k = max(1, min(int(k), probs.numel()))
    values, indices = probs.topk(k)
    return [(int(i), float(p)) for i, p in zip(indices, values, strict=True)]


def _slider(description, value, low, high, **kwargs):
    return w.IntSlider(value=value, min=low, max=high, description=description, continuous_update=False, **kwargs)


def _draw_top(ax, top, true_class: int, names) -> None:
    """The model's top answers as horizontal bars, the true class in blue."""
    colors = [COLORS["blue"] if i == true_class else COLORS["orange"] for i, _ in top]
    ax.barh([names[i] for i, _ in top][::-1], [p for _, p in top][::-1], color=colors[::-1])
    ax.set(xlim=(0, 1), xlabel="probability", title=f"top-{len(top)} answers (blue = true class)")


def prediction_explorer(model: torch.nn.Module, dataset, *, k: int = 3):
    """Pick an image with a slider; see it with the model's top-``k`` answers."""
    images, labels = dataset.tensors
    names = getattr(dataset, "classes", None) or [str(i) for i in range(int(labels.max()) + 1)]

    def render(index):
        if not 0 <= index < len(images):
            raise ValueError(f"index must be between 0 and {len(images) - 1}, got {index}.")
        top = top_predictions(model, images[index], k)
        fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(6.5, 2.6), gridspec_kw={"width_ratios": [1, 1.6]})
        picture = images[index].permute(1, 2, 0).squeeze(-1).numpy()
        ax_img.imshow(picture, cmap="gray_r" if picture.ndim == 2 else None)
        ax_img.set_title(f"test image {index}: true class {names[int(labels[index])]}")
        ax_img.axis("off")
        _draw_top(ax_bar, top, int(labels[index]), names)
        fig.tight_layout()
        return top

    slider = _slider("image", 0, 0, len(images) - 1)
    return Panel({"index": slider}, render, title="Pick a test image: what does the model answer?")


# --- lesson 02: convolution arithmetic -------------------------------------------------------------


def conv_window(size, kernel_size, stride=1, padding=0, dilation=1, row=0, col=0) -> dict:
    """Where the kernel sits for one output cell, and the output-size formula filled in.

    Returns ``out`` (output size), ``row``/``col`` (the output cell, clamped to the
    output), ``cells`` (the padded-input coordinates under the kernel there), ``formula``
    (text) and ``unused`` (input rows at the bottom/right that no window reaches when the
    stride does not divide evenly). Raises ValueError for a setting that does not fit.
    """
    out = arithmetic.conv_output_size(size, kernel_size, stride, padding, dilation)
    effective = dilation * (kernel_size - 1) + 1
    row, col = min(max(int(row), 0), out - 1), min(max(int(col), 0), out - 1)
    offsets = [(u * dilation, v * dilation) for u in range(kernel_size) for v in range(kernel_size)]
    cells = [(row * stride + du, col * stride + dv) for du, dv in offsets]
    span = size + 2 * padding - effective
    formula = (
        f"H₂ = ⌊(H + 2P − D(F − 1) − 1) / S⌋ + 1 = ⌊({size} + 2·{padding} − {dilation}·({kernel_size} − 1) − 1)"
        f" / {stride}⌋ + 1 = {out}"
    )
    return {"out": out, "row": row, "col": col, "cells": cells, "formula": formula, "unused": span % stride}


def _draw_grid(ax, n, *, offset=0, fill=None, pad=0, title=""):
    """An n×n grid of squares; ``fill`` maps (r, c) to a colour; the outer ``pad`` ring is drawn dashed."""
    import matplotlib.patches as patches

    fill = fill or {}
    for r in range(n):
        for c in range(n):
            is_pad = r < pad or c < pad or r >= n - pad or c >= n - pad
            color = fill.get((r, c), "#f2f2f2" if is_pad else "white")
            ax.add_patch(
                patches.Rectangle(
                    (c + offset, -r),
                    1,
                    -1,
                    facecolor=color,
                    edgecolor="#888888",
                    linestyle="--" if is_pad else "-",
                    linewidth=0.8,
                )
            )
    ax.set_xlim(offset - 0.2, offset + n + 0.2)
    ax.set_ylim(-n - 0.2, 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)


def conv_explorer(size=7, kernel_size=3, stride=1, padding=0, dilation=1):
    """Lesson 02's widget: slide a kernel over a grid and see the output size formula at work."""

    def render(size, kernel_size, stride, padding, dilation, row, col):
        info = conv_window(size, kernel_size, stride, padding, dilation, row, col)
        n_in, n_out = size + 2 * padding, info["out"]
        fig, (ax_in, ax_out) = plt.subplots(
            1, 2, figsize=(8, 4), gridspec_kw={"width_ratios": [max(n_in, 1), max(n_out, 1)]}
        )
        _draw_grid(
            ax_in,
            n_in,
            pad=padding,
            fill={cell: COLORS["sky"] for cell in info["cells"]},
            title=f"input {size}×{size} + padding {padding} (dashed)\nkernel {kernel_size}×{kernel_size}, "
            f"stride {stride}, dilation {dilation}",
        )
        _draw_grid(
            ax_out,
            n_out,
            fill={(info["row"], info["col"]): COLORS["blue"]},
            title=f"output {n_out}×{n_out}\ncell ({info['row']}, {info['col']})",
        )
        fig.suptitle(info["formula"], fontsize=10, y=0.02, va="bottom")
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        if info["unused"]:
            print(
                f"Note: the stride does not divide evenly; the last {info['unused']} padded row(s)/column(s) "
                "are never covered by a window."
            )
        return info

    controls = {
        "size": _slider("input H", size, 1, 12),
        "kernel_size": _slider("kernel F", kernel_size, 1, 7),
        "stride": _slider("stride S", stride, 1, 4),
        "padding": _slider("padding P", padding, 0, 3),
        "dilation": _slider("dilation D", dilation, 1, 3),
        "row": _slider("output row", 0, 0, 11),
        "col": _slider("output col", 0, 0, 11),
    }
    names = list(controls)
    layout = w.VBox([w.HBox([controls[n] for n in names[:4]]), w.HBox([controls[n] for n in names[4:]])])
    return Panel(controls, render, title="Convolution arithmetic: move the knobs", layout=layout)


# --- lesson 03: kernels ------------------------------------------------------------------------------


def filter_image(image, kernel) -> torch.Tensor:
    """The image filtered by a 3×3 (or any 2-D) kernel, each channel on its own ('same' size)."""
    array = np.asarray(kernel, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"the kernel must be a 2-D grid of numbers, got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError("every kernel value must be a finite number.")
    return kernels.apply(image, array)


def _show(ax, image, title, *, signed=False):
    picture = image.detach().cpu().float()
    if picture.ndim == 3 and picture.shape[0] == 1:
        picture = picture[0]
    if picture.ndim == 3:
        ax.imshow(picture.permute(1, 2, 0).clamp(0, 1).numpy())
    elif signed:
        bound = float(picture.abs().max()) or 1.0
        ax.imshow(picture.numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound)
    else:
        ax.imshow(picture.numpy(), cmap="gray")
    ax.set_title(title, fontsize=10)
    ax.axis("off")


def kernel_editor(image, preset: str = "sobel_x"):
    """Lesson 03's widget: pick a preset kernel or type nine numbers, see the filtered image."""
    if preset not in kernels.KERNELS:
        raise ValueError(f"preset must be one of {', '.join(kernels.KERNELS)}, got {preset!r}.")
    start = kernels.get(preset)
    boxes = [w.FloatText(value=float(v), step=0.5, layout=w.Layout(width="70px")) for v in start.ravel()]
    dropdown = w.Dropdown(options=list(kernels.KERNELS) + ["custom"], value=preset, description="preset")
    controls = {"preset": dropdown} | {f"k{i}": box for i, box in enumerate(boxes)}
    grid = w.GridBox(boxes, layout=w.Layout(grid_template_columns="repeat(3, 75px)"))
    signed = image.shape[0] == 1 if image.ndim == 3 else True

    def render(preset, **values):
        kernel = np.array([values[f"k{i}"] for i in range(9)], dtype=np.float32).reshape(3, 3)
        result = filter_image(image, kernel)
        fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
        _show(axes[0], torch.as_tensor(image), "input")
        axes[1].imshow(kernel, cmap="RdBu_r", vmin=-np.abs(kernel).max() - 1e-9, vmax=np.abs(kernel).max() + 1e-9)
        for (r, c), v in np.ndenumerate(kernel):
            axes[1].text(c, r, f"{v:g}", ha="center", va="center", fontsize=11)
        axes[1].set_title(f"kernel ({preset})", fontsize=10)
        axes[1].axis("off")
        _show(axes[2], result, "output (red +, blue −)" if signed else "output (clipped to [0, 1])", signed=signed)
        fig.tight_layout()
        return {"kernel": kernel, "output": result}

    panel = Panel(
        controls,
        render,
        title="Kernel editor: choose a preset or type your own numbers",
        layout=w.HBox([dropdown, grid]),
    )

    def on_preset(change):
        if change["new"] == "custom":
            return
        with panel.hold():
            for box, value in zip(boxes, kernels.get(change["new"]).ravel(), strict=True):
                box.value = float(value)

    def on_box(_change):
        if panel._held or dropdown.value == "custom":
            return
        current = np.array([b.value for b in boxes], dtype=np.float32).reshape(3, 3)
        if not np.allclose(current, kernels.get(dropdown.value)):
            with panel.hold():
                dropdown.value = "custom"

    dropdown.observe(on_preset, names="value")
    for box in boxes:
        box.observe(on_box, names="value")
    return panel


# --- lesson 04: pooling ------------------------------------------------------------------------------


def pool_image(image, kind: str = "max", kernel_size: int = 2, stride: int | None = None) -> torch.Tensor:
    """Max or average pooling of an image (C×H×W or H×W), each channel on its own."""
    if kind not in ("max", "avg"):
        raise ValueError(f"kind must be 'max' or 'avg', got {kind!r}.")
    x = torch.as_tensor(image).float()
    if x.ndim not in (2, 3):
        raise ValueError(f"image must have shape H×W or C×H×W, got {tuple(x.shape)}.")
    stride = kernel_size if stride is None else stride
    size = arithmetic.pool_output_size(tuple(x.shape[-2:]), kernel_size, stride)  # a clear error if it does not fit
    pool = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    return pool(x.reshape(-1, 1, *x.shape[-2:]), kernel_size, stride).reshape(*x.shape[:-2], *size)


def pooling_explorer(image):
    """Lesson 04's widget: pooling kind, window and stride applied to an image, with the sizes."""

    def render(kind, kernel_size, stride):
        pooled = pool_image(image, kind, kernel_size, stride)
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
        h, w_ = image.shape[-2:]
        _show(axes[0], torch.as_tensor(image), f"input {h}×{w_}")
        size = f"{pooled.shape[-2]}×{pooled.shape[-1]}"
        _show(axes[1], pooled, f"{kind} pool {kernel_size}×{kernel_size}, stride {stride}: {size}")
        fig.tight_layout()
        if stride > kernel_size:
            print(f"Note: stride {stride} > window {kernel_size}: some pixels fall between windows and are ignored.")
        return {"shape": tuple(pooled.shape), "output": pooled}

    controls = {
        "kind": w.Dropdown(options=["max", "avg"], value="max", description="kind"),
        "kernel_size": _slider("window", 2, 1, 8),
        "stride": _slider("stride", 2, 1, 8),
    }
    return Panel(controls, render, title="Pooling: kind, window and stride")


# --- lesson 05: activations --------------------------------------------------------------------------


def activation_explorer(activation: str = "sigmoid", depth: int = 10):
    """Lesson 05's widget: gradient norm per layer of a plain deep net, by activation and depth."""

    def render(activation, depth):
        norms = probes.gradient_profile(activation, depth)
        values = np.array(list(norms.values()))
        fig, ax = plt.subplots(figsize=(7, 3.2))
        ax.bar(range(1, len(values) + 1), values, color=COLORS["blue"])
        ax.set_yscale("log")
        ax.set(
            xlabel="layer (1 = next to the input)",
            ylabel="weight-gradient norm (log scale)",
            title=f"{activation}, {depth} hidden layers: first/last = {values[0] / values[-1]:.1e}",
        )
        fig.tight_layout()
        return norms

    controls = {
        "activation": w.Dropdown(options=list(probes.ACTIVATIONS), value=activation, description="activation"),
        "depth": _slider("depth", depth, 1, 30),
    }
    return Panel(controls, render, title="Vanishing gradients: pick an activation and a depth")


# --- lesson 07: optimizers ---------------------------------------------------------------------------

_RACE_COLORS = {"sgd": "vermillion", "momentum": "orange", "rmsprop": "green", "adam": "blue"}


def optimizer_race(function: str = "rosenbrock", lr: float = 1e-3, momentum: float = 0.9, steps: int = 300):
    """Lesson 07's widget: SGD, momentum, RMSProp and Adam race on a 2-D test function."""

    def render(function, lr, momentum, steps):
        if function not in optim.FUNCTIONS:
            raise ValueError(f"function must be one of {', '.join(optim.FUNCTIONS)}, got {function!r}.")
        fn = optim.FUNCTIONS[function]
        X, Y, Z = fn.grid(150)
        fig, ax = plt.subplots(figsize=(7, 4.2))
        ax.contour(X, Y, np.log1p(Z), levels=25, cmap="Greys", linewidths=0.6)
        distances = {}
        for name in optim.OPTIMIZERS:
            path = optim.optimize_path(function, name, lr=lr, steps=steps, momentum=momentum)
            diverged = len(path) < steps + 1
            distances[name] = float("inf") if diverged else optim.distance_to_minimum(fn, path[-1])
            label = f"{name}: " + ("diverged" if diverged else f"distance {distances[name]:.3f}")
            ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1, color=COLORS[_RACE_COLORS[name]], label=label)
        ax.plot(*fn.minimum, "*", color="black", ms=12, label="minimum")
        ax.set(xlim=fn.xlim, ylim=fn.ylim, xlabel="x", ylabel="y", title=f"{function}: lr {lr:g}, {steps} steps")
        ax.legend(fontsize=8, loc="upper right")
        fig.tight_layout()
        return distances

    controls = {
        "function": w.Dropdown(options=list(optim.FUNCTIONS), value=function, description="function"),
        "lr": w.FloatLogSlider(
            value=lr, base=10, min=-4, max=0, step=0.25, description="learning rate", continuous_update=False
        ),
        "momentum": w.FloatSlider(
            value=momentum, min=0, max=0.99, step=0.01, description="momentum", continuous_update=False
        ),
        "steps": _slider("steps", steps, 10, 1000),
    }
    return Panel(controls, render, title="Optimizer race: who reaches the minimum ★ first?")


# --- lesson 15: what a CNN sees ----------------------------------------------------------------------


def feature_explorer(model: torch.nn.Module, dataset, *, max_maps: int = 16):
    """Lesson 15's widget: pick a test image and a layer; see that layer's feature maps and the top-3 answer."""
    images, labels = dataset.tensors
    layers = list(probes.feature_maps(model, images[0]))
    with evaluating(model):
        outputs = model(images[:1].to(model_device(model))).shape[1]
    names = getattr(dataset, "classes", None) or [str(i) for i in range(outputs)]
    if not layers:
        raise ValueError("the model has no convolution, activation or pooling layer whose feature maps could be shown.")

    def render(index, layer):
        if not 0 <= index < len(images):
            raise ValueError(f"index must be between 0 and {len(images) - 1}, got {index}.")
        maps = probes.feature_maps(model, images[index])
        if layer not in maps:
            raise ValueError(f"layer must be one of {', '.join(maps)}, got {layer!r}.")
        chosen = maps[layer][:max_maps]
        top = top_predictions(model, images[index], 3)
        cols = 8
        rows = 1 + -(-len(chosen) // cols)
        fig = plt.figure(figsize=(10, 1.35 * rows + 0.6))
        grid = fig.add_gridspec(rows, cols)
        ax_img = fig.add_subplot(grid[0, :2])
        _show(ax_img, images[index], f"image {index}: {names[int(labels[index])]}")
        ax_bar = fig.add_subplot(grid[0, 3:])
        _draw_top(ax_bar, top, int(labels[index]), names)
        for i, fmap in enumerate(chosen):
            ax = fig.add_subplot(grid[1 + i // cols, i % cols])
            ax.imshow(fmap.numpy(), cmap="viridis")
            ax.set_title(f"{layer}:{i}", fontsize=8)
            ax.axis("off")
        fig.suptitle(
            f"layer {layer} ({type(dict(model.named_modules())[layer]).__name__}): "
            f"{tuple(maps[layer].shape)} — first {len(chosen)} maps",
            fontsize=10,
        )
        fig.tight_layout()
        return {"top": top, "shape": tuple(maps[layer].shape)}

    controls = {
        "index": _slider("image", 0, 0, len(images) - 1),
        "layer": w.Dropdown(options=layers, value=layers[0], description="layer"),
    }
    return Panel(controls, render, title="What does each layer see? Pick an image and a layer")
