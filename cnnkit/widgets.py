"""Interactive widgets for the lessons: thin layers over pure, tested functions.

Every widget is a :class:`Panel`: some controls, a picture drawn by a render function,
and a message line. When the controls describe something impossible the render
function raises ``ValueError`` and the panel shows that message instead of a traceback.
"""

from __future__ import annotations

import ipywidgets as w
import matplotlib.pyplot as plt
import torch

from .plot import COLORS
from .utils import evaluating, model_device

__all__ = ["Panel", "prediction_explorer", "top_predictions"]


class Panel(w.VBox):
    """Controls + a live picture. ``render(**values)`` draws with matplotlib.

    After each redraw ``panel.renders`` counts the drawings, ``panel.values`` holds the
    control values used, ``panel.result`` what ``render`` returned and ``panel.error``
    the message of an invalid setting (or None). Tests use these to drive a panel headless.
    """

    def __init__(self, controls: dict, render, *, title: str | None = None):
        self.controls = dict(controls)
        self.render = render
        self.output = w.Output()
        self.message = w.HTML()
        self.renders, self.values, self.result, self.error = 0, {}, None, None
        header = [w.HTML(f"<b>{title}</b>")] if title else []
        super().__init__(header + [w.HBox(list(self.controls.values())), self.message, self.output])
        for control in self.controls.values():
            control.observe(self.refresh, names="value")
        self.refresh()

    def refresh(self, _change=None):
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
        colors = [COLORS["blue"] if i == int(labels[index]) else COLORS["orange"] for i, _ in top]
        ax_bar.barh([names[i] for i, _ in top][::-1], [p for _, p in top][::-1], color=colors[::-1])
        ax_bar.set(xlim=(0, 1), xlabel="probability", title=f"top-{len(top)} answers (blue = true class)")
        fig.tight_layout()
        return top

    slider = w.IntSlider(value=0, min=0, max=len(images) - 1, description="image", continuous_update=False)
    return Panel({"index": slider}, render, title="Pick a test image: what does the model answer?")
