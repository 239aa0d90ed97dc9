"""Interactive widgets for the lessons: thin layers over pure, tested functions.

The pure functions live in the modules of their ideas (``arithmetic.conv_window``,
``kernels.filter_image``, ``kernels.pool_image``, ``probes.top_predictions``) and are
re-exported here.

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

from . import arithmetic, kernels, optim, plot, probes
from .arithmetic import conv_window  # the pure functions behind the widgets live with their ideas;
from .kernels import filter_image, pool_image  # they are re-exported here for code written against
from .plot import COLORS, series_style, show_map
from .plot import describe as plot_describe
from .plot import heatmap as plot_heatmap
from .probes import top_predictions  # earlier versions of cnnkit
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
        values = {name: control.value for name, control in self.controls.items()}
        if _change is not None and values == self.values and self.renders:
            return  # already drawn with these values (a change that another observer has already drawn)
        self.values = values
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


def _size(width: float, height: float) -> tuple[float, float]:
    """A widget figure's size in inches, larger at the presenter scale (``cnnkit.setup(present=True)``),
    so that its panels grow with its text instead of crowding it."""
    return width * plot.scale(), height * plot.scale()


def _slider(description, value, low, high, **kwargs):
    return w.IntSlider(value=value, min=low, max=high, description=description, continuous_update=False, **kwargs)


def _draw_top(ax, top, true_class: int, names) -> None:
    """The model's top answers as horizontal bars, the true class in blue."""
    colors = [COLORS["blue"] if i == true_class else COLORS["orange"] for i, _ in top]
    ax.barh([names[i] for i, _ in top][::-1], [p for _, p in top][::-1], color=colors[::-1])
    ax.set(xlim=(0, 1), xlabel="probability", title=f"top-{len(top)} answers (blue = true class)")


def prediction_explorer(model: torch.nn.Module, dataset, *, k: int = 3):
    """Pick an image with a slider; see it with the model's top-``k`` answers.

    With "mistakes only" ticked, the slider runs over the images the model gets wrong.
    """
    from .train import predict

    images, labels = dataset.tensors
    names = getattr(dataset, "classes", None) or [str(i) for i in range(int(labels.max()) + 1)]
    wrong = torch.nonzero(predict(model, images) != labels).flatten().tolist()

    def render(index, mistakes_only):
        pool = wrong if mistakes_only else list(range(len(images)))
        if not pool:
            raise ValueError("the model gets every one of these images right: there is no mistake to show.")
        if not 0 <= index < len(pool):
            raise ValueError(f"index must be between 0 and {len(pool) - 1}, got {index}.")
        chosen = pool[index]
        top = top_predictions(model, images[chosen], k)
        fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=_size(9, 3.4), gridspec_kw={"width_ratios": [1, 1.6]})
        show_map(ax_img, images[chosen], None, scale="unit", cmap="gray_r")
        what = f"mistake {index + 1} of {len(wrong)}: " if mistakes_only else ""
        ax_img.set_title(f"{what}image {chosen}, true class {names[int(labels[chosen])]}")
        _draw_top(ax_bar, top, int(labels[chosen]), names)
        fig.tight_layout()
        plot_describe(
            fig,
            f"Test image {chosen} (true class {names[int(labels[chosen])]}) and the model's top {len(top)} answers.",
        )
        return {"image": chosen, "top": top}

    slider = _slider("image", 0, 0, len(images) - 1)
    box = w.Checkbox(value=False, description=f"mistakes only ({len(wrong)})")
    panel = None

    def on_box(change):  # observed before the panel's redraw: the slider's range follows the choice
        with panel.hold():
            slider.value = 0
            slider.max = max(len(wrong) - 1, 0) if change["new"] else len(images) - 1

    box.observe(on_box, names="value")
    panel = Panel(
        {"index": slider, "mistakes_only": box}, render, title="Pick a test image: what does the model answer?"
    )
    return panel


# --- lesson 02: convolution arithmetic -------------------------------------------------------------


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
    ax.set_title(title)


def conv_explorer(size=7, kernel_size=3, stride=1, padding=0, dilation=1):
    """Lesson 02's widget: slide a kernel over a grid and see the output size formula at work."""

    def render(size, kernel_size, stride, padding, dilation, row, col):
        info = conv_window(size, kernel_size, stride, padding, dilation, row, col)
        n_in, n_out = size + 2 * padding, info["out"]
        fig, (ax_in, ax_out) = plt.subplots(
            1, 2, figsize=_size(8, 4), gridspec_kw={"width_ratios": [max(n_in, 1), max(n_out, 1)]}
        )
        inside = {(r, c): COLORS["sky"] for r in range(padding, padding + size) for c in range(padding, padding + size)}
        _draw_grid(
            ax_in,
            n_in,
            pad=padding,
            fill=inside | {cell: COLORS["orange"] for cell in info["cells"]},  # input sky, window orange
            title=f"input {size}×{size} + padding {padding} (dashed)\nkernel {kernel_size}×{kernel_size}, "
            f"stride {stride}, dilation {dilation}",
        )
        _draw_grid(
            ax_out,
            n_out,
            fill={(r, c): COLORS["green"] for r in range(n_out) for c in range(n_out)}
            | {(info["row"], info["col"]): COLORS["orange"]},  # output green, the current cell orange
            title=f"output {n_out}×{n_out}\ncell ({info['row']}, {info['col']})",
        )
        fig.suptitle(info["formula"], y=0.02, va="bottom")
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
    panel = None

    def follow_output(_change):  # observed before the panel's redraw: row and col stay inside the output
        values = [controls[n].value for n in names[:5]]
        try:
            out = arithmetic.conv_output_size(*values)
        except ValueError:
            return  # the panel shows why this setting does not fit
        with panel.hold() if panel is not None else contextlib.nullcontext():
            for n in ("row", "col"):
                controls[n].max = out - 1
                controls[n].value = min(controls[n].value, out - 1)

    follow_output(None)
    for n in names[:5]:
        controls[n].observe(follow_output, names="value")
    panel = Panel(controls, render, title="Convolution arithmetic: move the knobs", layout=layout)
    return panel


# --- lesson 03: kernels ------------------------------------------------------------------------------


def _kernel_cells(ax, kernel, title) -> None:
    """The kernel as coloured cells with its numbers (plot.heatmap: white text on dark cells), signed scale."""
    bound = float(np.abs(kernel).max()) or 1.0
    plot_heatmap(kernel, ax=ax, title=title, fmt="{:.3g}", cmap="RdBu_r", vmin=-bound, vmax=bound)
    ax.set_xticks([])
    ax.set_yticks([])


def kernel_editor(image, preset: str = "sobel_x"):
    """Lesson 03's widget: pick a preset kernel or type nine numbers, see the filtered image."""
    if preset not in kernels.KERNELS:
        raise ValueError(f"preset must be one of {', '.join(kernels.KERNELS)}, got {preset!r}.")
    start = kernels.get(preset)
    boxes = [w.FloatText(value=float(v), step=0.5, layout=w.Layout(width="70px")) for v in start.ravel()]
    dropdown = w.Dropdown(options=list(kernels.KERNELS) + ["custom"], value=preset, description="preset")
    controls = {"preset": dropdown} | {f"k{i}": box for i, box in enumerate(boxes)}
    grid = w.GridBox(boxes, layout=w.Layout(grid_template_columns="repeat(3, 75px)"))

    def render(preset, **values):
        kernel = np.array([values[f"k{i}"] for i in range(9)], dtype=np.float32).reshape(3, 3)
        result = filter_image(image, kernel)
        # Weights that sum to 0 (edge detectors) answer 0 on flat regions: their output is signed.
        # Any other kernel makes a picture, shown on the input's own scale, so a brighter output looks brighter.
        signed = abs(float(kernel.sum())) < 1e-6
        fig, axes = plt.subplots(1, 3, figsize=_size(11, 3.9))
        show_map(axes[0], torch.as_tensor(image), "input", scale="unit")
        _kernel_cells(axes[1], kernel, f"kernel ({preset}), sum {kernel.sum():.3g}")
        if signed:
            shown = result.mean(0) if result.ndim == 3 and result.shape[0] == 3 else result
            show_map(axes[2], shown, "output: red +, blue −", scale="signed")
        else:
            show_map(axes[2], result, "output (clipped to [0, 1])", scale="unit")
        fig.tight_layout()
        plot_describe(
            fig,
            f"The input image, the 3×3 kernel {kernel.round(3).tolist()} and the filtered output "
            f"({'signed: red positive, blue negative' if signed else 'grey, clipped to 0 to 1'}).",
        )
        return {"kernel": kernel, "output": result, "signed": signed}

    def on_preset(change):  # observed before the panel's own redraw: the nine boxes change, one picture
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
    panel = Panel(
        controls,
        render,
        title="Kernel editor: choose a preset or type your own numbers",
        layout=w.HBox([dropdown, grid]),
    )
    return panel


# --- lesson 04: pooling ------------------------------------------------------------------------------


def pooling_explorer(image):
    """Lesson 04's widget: pooling kind, window and stride applied to an image, with the sizes; and a shift:
    move the image right by a few pixels and see how much of the pooled map changes, against the pixels."""
    image = torch.as_tensor(image).float()

    def render(kind, kernel_size, stride, shift):
        pooled = pool_image(image, kind, kernel_size, stride)
        moved = _shift_right(image, shift)
        pooled_moved = pool_image(moved, kind, kernel_size, stride)
        changed_pixels = _changed(image, moved)
        changed_pooled = _changed(pooled, pooled_moved)
        fig, axes = plt.subplots(1, 3, figsize=_size(13, 4.4))
        h, w_ = image.shape[-2:]
        show_map(axes[0], moved, f"input {h}×{w_}, moved right {shift} px", scale="unit")
        size = f"{pooled.shape[-2]}×{pooled.shape[-1]}"
        show_map(
            axes[1], pooled_moved, f"{kind} pool {kernel_size}×{kernel_size}, stride {stride}: {size}", scale="unit"
        )
        difference = (pooled_moved - pooled).abs()
        difference = difference.amax(0) if difference.ndim == 3 else difference
        show_map(axes[2], difference, "where the pooled map changed", scale="positive", cmap="Greys")
        fig.tight_layout()
        plot_describe(
            fig,
            f"The image moved right by {shift} pixels, its {kind}-pooled map, and where that map changed: "
            f"{changed_pooled:.0%} of pooled values against {changed_pixels:.0%} of pixels.",
        )
        print(
            f"moved {shift} px: {changed_pixels:.0%} of the pixels change, {changed_pooled:.0%} of the pooled values."
        )
        if stride > kernel_size:
            print(f"Note: stride {stride} > window {kernel_size}: some pixels fall between windows and are ignored.")
        return {
            "shape": tuple(pooled.shape),
            "output": pooled,
            "changed_pixels": changed_pixels,
            "changed_pooled": changed_pooled,
        }

    controls = {
        "kind": w.Dropdown(options=["max", "avg"], value="max", description="kind"),
        "kernel_size": _slider("window", 2, 1, 8),
        "stride": _slider("stride", 2, 1, 8),
        "shift": _slider("shift (px)", 0, 0, 4),
    }
    return Panel(controls, render, title="Pooling: kind, window and stride; move the image and compare")


def _shift_right(image: torch.Tensor, pixels: int) -> torch.Tensor:
    """The image moved ``pixels`` to the right, the uncovered columns filled with the image's first column."""
    if pixels == 0:
        return image
    edge = image[..., :, :1].expand(*image.shape[:-1], pixels)
    return torch.cat([edge, image[..., :, :-pixels]], dim=-1)


def _changed(a: torch.Tensor, b: torch.Tensor) -> float:
    """The fraction of positions whose value differs (by more than 1e-6) between two maps of one shape."""
    return float(((a - b).abs() > 1e-6).float().mean())


# --- lesson 05: activations --------------------------------------------------------------------------


def activation_explorer(activation: str = "sigmoid", depth: int = 10, init: str = "default"):
    """Lesson 05's widget: gradient norm per layer of a plain deep net, by activation, depth and initialisation."""

    def render(activation, depth, init):
        norms = probes.gradient_profile(activation, depth, init=init)
        values = np.array(list(norms.values()))
        fig, ax = plt.subplots(figsize=_size(9, 4))
        ax.bar(range(1, len(values) + 1), values, color=COLORS["blue"])
        ax.set_yscale("log")
        ax.set(
            xlabel="layer (1 = next to the input)",
            ylabel="weight-gradient norm (log scale)",
            title=f"{activation}, {depth} hidden layers, {init} init: first/last = {values[0] / values[-1]:.1e}",
        )
        fig.tight_layout()
        plot_describe(
            fig,
            f"Bar chart of the weight-gradient norm of each of {len(values)} layers of a {activation} network "
            f"({init} initialisation); the first layer's is {values[0] / values[-1]:.1e} times the last one's.",
        )
        return norms

    controls = {
        "activation": w.Dropdown(options=list(probes.ACTIVATIONS), value=activation, description="activation"),
        "depth": _slider("depth", depth, 1, 30),
        "init": w.Dropdown(options=list(probes.INITS), value=init, description="init"),
    }
    return Panel(controls, render, title="Vanishing gradients: pick an activation, a depth and an initialisation")


# --- lesson 07: optimizers ---------------------------------------------------------------------------


def optimizer_race(function: str = "rosenbrock", lr: float = 1e-3, momentum: float = 0.9, steps: int = 300):
    """Lesson 07's widget: SGD, momentum, RMSProp and Adam race on a 2-D test function."""

    def render(function, lr, momentum, steps):
        if function not in optim.FUNCTIONS:
            raise ValueError(f"function must be one of {', '.join(optim.FUNCTIONS)}, got {function!r}.")
        fn = optim.FUNCTIONS[function]
        X, Y, Z = fn.grid(150)
        fig, ax = plt.subplots(figsize=_size(7, 4.2))
        ax.contour(X, Y, np.log1p(Z), levels=25, cmap="Greys", linewidths=0.6)
        distances = {}
        for index, name in enumerate(optim.OPTIMIZERS):  # each optimizer keeps its colour, dash and marker
            path = optim.optimize_path(function, name, lr=lr, steps=steps, momentum=momentum)
            diverged = len(path) < steps + 1
            distances[name] = float("inf") if diverged else optim.distance_to_minimum(fn, path[-1])
            label = f"{name}: " + ("diverged" if diverged else f"distance {distances[name]:.3f}")
            ax.plot(path[:, 0], path[:, 1], label=label, **series_style(index, len(path)))
        ax.plot(*fn.minimum, "*", color="black", ms=12, label="minimum")
        ax.set(xlim=fn.xlim, ylim=fn.ylim, xlabel="x", ylabel="y", title=f"{function}: lr {lr:g}, {steps} steps")
        ax.legend(loc="upper right")
        fig.tight_layout()
        return distances

    controls = {
        "function": w.Dropdown(options=list(optim.FUNCTIONS), value=function, description="function"),
        "lr": w.FloatLogSlider(
            value=lr, base=10, min=-4, max=0, step=0.25, description="learning rate", continuous_update=False
        ),
        "momentum": w.FloatSlider(
            value=momentum,
            min=0,
            max=0.99,
            step=0.01,
            description="μ (momentum)",
            tooltip="the momentum optimizer's μ only; Adam's β₁ stays 0.9 and RMSProp's α 0.99",
            continuous_update=False,
            style={"description_width": "initial"},
        ),
        "steps": _slider("steps", steps, 10, 1000),
    }
    return Panel(
        controls,
        render,
        title="Optimizer race: who reaches the minimum ★ first? (μ moves the momentum optimizer only)",
    )


# --- lesson 15: what a CNN sees ----------------------------------------------------------------------


METHODS = ("feature maps", "saliency", "Grad-CAM")


def feature_explorer(model: torch.nn.Module, dataset, *, max_maps: int = 8):
    """Lesson 15's widget: pick a test image, a layer, a method and a target class.

    ``"feature maps"`` shows the first ``max_maps`` maps of the layer; ``"saliency"`` the
    input gradient of the target's score; ``"Grad-CAM"`` the Grad-CAM map at the chosen
    layer. The target is the class explained (``-1``: the predicted class); the model's
    top-3 answers are shown beside.
    """
    images, labels = dataset.tensors
    layers = list(probes.feature_maps(model, images[0]))
    with evaluating(model):
        outputs = model(images[:1].to(model_device(model))).shape[1]
    names = getattr(dataset, "classes", None) or [str(i) for i in range(outputs)]
    if not layers:
        raise ValueError("the model has no convolution, activation or pooling layer whose feature maps could be shown.")
    modules = dict(model.named_modules())

    def render(index, layer, method, target):
        if not 0 <= index < len(images):
            raise ValueError(f"index must be between 0 and {len(images) - 1}, got {index}.")
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}.")
        if not -1 <= target < outputs:
            raise ValueError(f"target must be a class between 0 and {outputs - 1} (or -1: predicted), got {target}.")
        maps = probes.feature_maps(model, images[index])
        if layer not in maps:
            raise ValueError(f"layer must be one of {', '.join(maps)}, got {layer!r}.")
        image, top = images[index], top_predictions(model, images[index], 3)
        cls = top[0][0] if target == -1 else target
        kind = type(modules[layer]).__name__
        if method == "feature maps":
            chosen = maps[layer][:max_maps]
            cols = 4
            rows = 1 + -(-len(chosen) // cols)
            fig = plt.figure(figsize=_size(12, 2.7 * rows + 0.6))
            grid = fig.add_gridspec(rows, cols)
            ax_img, ax_bar = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 2:])
            bound = float(chosen.abs().max()) or 1.0  # one colour scale for the maps shown
            scale = "signed" if float(chosen.min()) < 0 else "positive"  # a convolution's output before its ReLU
            for i, fmap in enumerate(chosen):
                show_map(fig.add_subplot(grid[1 + i // cols, i % cols]), fmap, f"map {i}", scale=scale, bound=bound)
            shown = chosen
            suptitle = f"layer {layer} ({kind}), maps {tuple(maps[layer].shape)}: the first {len(chosen)}, one scale"
        else:
            fig, (ax_img, ax_map, ax_bar) = plt.subplots(1, 3, figsize=_size(12, 4.2), width_ratios=(1, 1, 1.6))
            if method == "saliency":
                shown = probes.saliency(model, image, cls)
                suptitle = f"saliency |∂ score / ∂ pixel| for class {names[cls]}"
            else:
                shown = probes.grad_cam(model, image, modules[layer], cls)
                suptitle = f"Grad-CAM at layer {layer} ({kind}) for class {names[cls]}"
            show_map(ax_map, shown, method, scale="positive", cmap="magma")
            ax_map.imshow(image[0].cpu().numpy(), cmap="gray_r", alpha=0.25)
        show_map(ax_img, image, f"image {index}: {names[int(labels[index])]}", scale="unit", cmap="gray_r")
        _draw_top(ax_bar, top, int(labels[index]), names)
        fig.suptitle(suptitle)
        fig.tight_layout()
        return {"top": top, "shape": tuple(maps[layer].shape), "method": method, "target": cls, "map": shown}

    controls = {
        "index": _slider("image", 0, 0, len(images) - 1),
        "layer": w.Dropdown(options=layers, value=layers[0], description="layer"),
        "method": w.Dropdown(options=list(METHODS), value=METHODS[0], description="method"),
        "target": w.Dropdown(
            options=[("predicted", -1)] + [(n, i) for i, n in enumerate(names)], value=-1, description="explain"
        ),
    }
    return Panel(controls, render, title="What does the network see? Pick an image, a layer, a method and a class")
