"""Looking inside a network: gradient norms per layer (lesson 05), and what a trained network
sees (lesson 15): feature maps, saliency, Grad-CAM, occlusion, the tests of a map (rank correlation,
deletion and insertion curves) and the confusion matrix.

``gradient_norms`` runs one forward and backward pass and reports, for every ``Linear``
and ``Conv2d`` layer, how large the gradient of its weights is. In a deep stack of
sigmoid layers these norms shrink layer by layer towards the input: the gradients
*vanish*, and the first layers barely learn.
"""

from __future__ import annotations

import torch
from torch import nn

from ._validate import check_int
from .models import ACTIVATIONS as models_ACTIVATIONS
from .utils import evaluating, model_device

__all__ = [
    "INITS",
    "top_predictions",
    "ACTIVATIONS",
    "confusion_matrix",
    "deep_net",
    "deletion_curve",
    "feature_maps",
    "grad_cam",
    "gradient_norms",
    "gradient_profile",
    "most_confused",
    "occlusion",
    "rank_correlation",
    "saliency",
]

ACTIVATIONS = models_ACTIVATIONS  # the one table, shared with cnnkit.models


def _activation(name: str) -> type[nn.Module]:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}.")
    return ACTIVATIONS[name]


INITS = ("default", "kaiming", "xavier")


def deep_net(
    depth: int,
    activation: str = "sigmoid",
    width: int = 64,
    in_features: int = 784,
    num_classes: int = 10,
    init: str = "default",
) -> nn.Sequential:
    """A plain fully connected network: Flatten, ``depth`` × (Linear, activation), Linear.

    No normalisation, no shortcuts: the network in which vanishing gradients are easiest
    to see. ``init``: "default" (PyTorch's, uniform with bound 1/√fan_in), "kaiming" (He
    et al. 2015: normal with variance 2/fan_in, made for ReLU) or "xavier" (Glorot and
    Bengio 2010: variance 2/(fan_in + fan_out), made for tanh); biases start at 0 for the last two.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}.")
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=1)
    in_features = check_int("in_features", in_features, minimum=1)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    act = _activation(activation)
    layers: list[nn.Module] = [nn.Flatten()]
    for i in range(depth):
        layers += [nn.Linear(in_features if i == 0 else width, width), act()]
    layers.append(nn.Linear(width, num_classes))
    model = nn.Sequential(*layers)
    for layer in model:
        if isinstance(layer, nn.Linear) and init != "default":
            if init == "kaiming":
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn=None) -> dict[str, float]:
    """L2 norm of the weight gradient of every Linear/Conv2d layer, in forward order.

    One forward and backward pass on ``(x, y)`` with ``loss_fn`` (cross-entropy by
    default). The model's weights and its existing ``.grad`` values are left as they were.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}.")
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("x and y must be tensors: a batch of inputs and their targets.")
    if len(x) != len(y):
        raise ValueError(f"x and y must hold the same number of examples, got {len(x)} and {len(y)}.")
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("the model has no Linear or Conv2d layer whose gradient could be measured.")
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    order: list[str] = []
    hooks = [m.register_forward_hook(lambda _m, _i, _o, name=name: order.append(name)) for name, m in layers]
    saved = {p: p.grad for p in model.parameters()}
    try:
        for p in model.parameters():
            p.grad = None
        out = model(x)
        try:
            loss = loss_fn(out, y)
        except (IndexError, RuntimeError) as exc:
            raise ValueError(
                f"the loss cannot compare the output of shape {tuple(out.shape)} with targets of shape "
                f"{tuple(y.shape)}: {str(exc).splitlines()[0]}"
            ) from None
        loss.backward()
        modules = dict(layers)
        norms = {}
        for name in dict.fromkeys(order):  # forward order, each layer once
            grad = modules[name].weight.grad
            norms[name] = 0.0 if grad is None else float(grad.norm())
        return norms
    finally:
        for h in hooks:
            h.remove()
        for p, g in saved.items():
            p.grad = g


def gradient_profile(
    activation: str, depth: int, *, width: int = 64, batch: int = 256, seed: int = 0, init: str = "default"
) -> dict[str, float]:
    """Gradient norm per layer of a fresh ``deep_net(depth, activation)`` on a fixed random batch.

    The pure function behind lesson 05's widget: same seed, same network weights and data
    for every activation, so the profiles can be compared.
    """
    batch = check_int("batch", batch, minimum=2)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 784, generator=generator)
    y = torch.randint(0, 10, (batch,), generator=generator)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = deep_net(depth, activation, width=width, init=init)
    return gradient_norms(model, x, y)


# ------------------------------------------------------------------------------------------------------------
# What a trained network sees (lesson 15)


def _image_batch(model, image) -> torch.Tensor:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}.")
    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        raise ValueError(f"image must be one image, a tensor of shape C×H×W, got {getattr(image, 'shape', image)!r}.")
    return image.unsqueeze(0).to(model_device(model))


def _target(logits: torch.Tensor, target) -> int:
    if target is None:
        return int(logits.argmax(1)[0])
    target = check_int("target", target, minimum=0)
    if target >= logits.shape[1]:
        raise ValueError(f"target must be a class index below {logits.shape[1]}, got {target}.")
    return target


def feature_maps(model: nn.Module, image: torch.Tensor, *, kinds=(nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d)):
    """Every intermediate image one input produces: {layer name: tensor C×H×W}, in forward order.

    Layers of the given ``kinds`` whose output is still an image (4-D) are recorded.
    """
    x = _image_batch(model, image)
    maps: dict[str, torch.Tensor] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, kinds):

            def record(_m, _i, out, name=name):
                if isinstance(out, torch.Tensor) and out.ndim == 4:
                    maps[name] = out[0].detach().cpu().clone()

            hooks.append(module.register_forward_hook(record))
    try:
        with evaluating(model):
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return maps


def saliency(model: nn.Module, image: torch.Tensor, target: int | None = None) -> torch.Tensor:
    """Gradient saliency (Simonyan, Vedaldi & Zisserman, 2013): |∂ score / ∂ pixel|, max over channels, H×W.

    ``target`` is the class whose score is explained (default: the predicted class).
    """
    x = _image_batch(model, image).clone().requires_grad_(True)
    with evaluating(model), torch.enable_grad():
        logits = model(x)
        logits[0, _target(logits, target)].backward()
    return x.grad[0].abs().amax(0).detach().cpu()


def grad_cam(model: nn.Module, image: torch.Tensor, layer: nn.Module, target: int | None = None) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al., 2017) at ``layer``: where the evidence for ``target`` is, H×W in [0, 1].

    The layer's feature maps are weighted by the average gradient of the class score over
    each map, summed, passed through ReLU, and resized to the image size.
    """
    if not isinstance(layer, nn.Module) or all(layer is not m for m in model.modules()):
        raise ValueError("layer must be one of the model's own modules, e.g. model[3] for a Sequential.")
    x = _image_batch(model, image)
    store = {}
    hook = layer.register_forward_hook(lambda _m, _i, out: store.setdefault("maps", out))
    try:
        with evaluating(model), torch.enable_grad():
            logits = model(x)
            maps = store.get("maps")
            if not isinstance(maps, torch.Tensor) or maps.ndim != 4:
                raise ValueError("layer must output feature maps (N×C×H×W); pick a convolution or its activation.")
            score = logits[0, _target(logits, target)]
            grads = torch.autograd.grad(score, maps)[0]
    finally:
        hook.remove()
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * maps).sum(1, keepdim=True)).detach()
    cam = nn.functional.interpolate(cam, size=image.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    top = cam.max()
    return (cam / top if top > 0 else cam).cpu()


def occlusion(
    model: nn.Module, image: torch.Tensor, target: int | None = None, *, patch: int = 6, stride: int = 2, fill=0.0
) -> torch.Tensor:
    """Occlusion sensitivity (Zeiler & Fergus, 2013): how much the probability of ``target`` drops when a
    ``patch``×``patch`` square of the image is covered with ``fill``, for every position (H×W map).
    """
    patch = check_int("patch", patch, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    x = _image_batch(model, image)
    _, _, h, w = x.shape
    if patch > min(h, w):
        raise ValueError(f"patch ({patch}) must not be larger than the image ({h}×{w}).")
    positions = [(t, left) for t in range(0, h - patch + 1, stride) for left in range(0, w - patch + 1, stride)]
    with evaluating(model):
        probs = torch.softmax(model(x), 1)
        cls = _target(probs, target)
        base = probs[0, cls]
        batch = x.repeat(len(positions), 1, 1, 1)
        for i, (t, left) in enumerate(positions):
            batch[i, :, t : t + patch, left : left + patch] = fill
        covered = torch.cat([torch.softmax(model(chunk), 1)[:, cls] for chunk in batch.split(256)])
    drop = torch.zeros(h, w, device=x.device)
    count = torch.zeros(h, w, device=x.device)
    for i, (t, left) in enumerate(positions):
        drop[t : t + patch, left : left + patch] += base - covered[i]
        count[t : t + patch, left : left + patch] += 1
    return (drop / count.clamp(min=1)).cpu()


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation of two maps of the same shape (tied values share their mean rank).

    1: the same order of importance, 0: unrelated orders; NaN when a map is constant.
    """
    a, b = torch.as_tensor(a).detach().double().flatten().cpu(), torch.as_tensor(b).detach().double().flatten().cpu()
    if a.shape != b.shape:
        raise ValueError(f"the maps must have the same number of values, got {a.numel()} and {b.numel()}.")

    def ranks(v):
        _, inverse, counts = torch.unique(v, return_inverse=True, return_counts=True)
        ends = counts.cumsum(0).double()  # values sorted: a tied group holds ranks ends-count .. ends-1
        return (ends - (counts.double() + 1) / 2)[inverse]

    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    norm = float(ra.norm() * rb.norm())
    return float(ra @ rb) / norm if norm > 0 else float("nan")


def deletion_curve(
    model: nn.Module,
    image: torch.Tensor,
    attribution: torch.Tensor,
    target: int,
    *,
    mode: str = "deletion",
    steps: int = 28,
    fill: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Deletion / insertion test of an attribution map (Petsiuk, Das & Saenko, 2018, *RISE*).

    Pixels are taken in the map's order of importance (ties in a random order drawn from
    ``generator``). ``"deletion"``: start from the image and set ever more of the most
    important pixels to ``fill``; ``"insertion"``: start from an image full of ``fill`` and
    put them back. Returns the probability of ``target`` after 0, 1/steps, ..., all of the
    pixels (``steps + 1`` values): a good map makes a deletion curve fall fast (small area)
    and an insertion curve rise fast (large area).
    """
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be 'deletion' or 'insertion', got {mode!r}.")
    steps = check_int("steps", steps, minimum=1)
    x = _image_batch(model, image)[0]
    attribution = torch.as_tensor(attribution).detach().cpu().float()
    if attribution.shape != x.shape[-2:]:
        raise ValueError(
            f"attribution must have the image's height and width {tuple(x.shape[-2:])}, got {tuple(attribution.shape)}."
        )
    shuffle = torch.randperm(attribution.numel(), generator=generator)
    order = shuffle[attribution.flatten()[shuffle].argsort(descending=True, stable=True)].to(x.device)
    flat = x.reshape(x.shape[0], -1)
    counts = torch.linspace(0, order.numel(), steps + 1).round().long().tolist()
    batch = (flat if mode == "deletion" else torch.full_like(flat, fill)).repeat(len(counts), 1, 1)
    for row, k in enumerate(counts):
        chosen = order[:k]
        batch[row][:, chosen] = fill if mode == "deletion" else flat[:, chosen]
    with evaluating(model), torch.no_grad():
        probs = torch.softmax(model(batch.reshape(len(counts), *x.shape)), 1)
    return probs[:, _target(probs, target)].cpu()


def confusion_matrix(preds, labels, num_classes: int | None = None) -> torch.Tensor:
    """Counts: row = true class, column = predicted class."""
    preds, labels = torch.as_tensor(preds).long().flatten(), torch.as_tensor(labels).long().flatten()
    if preds.shape != labels.shape:
        raise ValueError(f"preds and labels must have the same length, got {len(preds)} and {len(labels)}.")
    if num_classes is None:
        num_classes = int(max(preds.max(), labels.max())) + 1 if len(preds) else 0
    if len(preds) and (min(preds.min(), labels.min()) < 0 or max(preds.max(), labels.max()) >= num_classes):
        raise ValueError(f"class indices must be between 0 and {num_classes - 1}.")
    return torch.bincount(labels * num_classes + preds, minlength=num_classes**2).reshape(num_classes, num_classes)


def most_confused(matrix, k: int = 5) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal cells of a confusion matrix: (true class, predicted class, count)."""
    matrix = torch.as_tensor(matrix).clone()
    matrix.fill_diagonal_(0)
    values, flat = matrix.flatten().sort(descending=True, stable=True)
    n = matrix.shape[1]
    return [(int(i) // n, int(i) % n, int(v)) for v, i in zip(values[:k], flat[:k], strict=True) if v > 0]


def top_predictions(model: torch.nn.Module, image: torch.Tensor, k: int = 3):
    """The ``k`` most likely classes for one image (C×H×W): a list of (class index, probability)."""
    if not isinstance(image, torch.Tensor) or image.ndim != 3:
        raise ValueError(f"image must be a tensor of shape C×H×W, got {getattr(image, 'shape', type(image))}.")
    with evaluating(model):
        probs = torch.softmax(model(image.unsqueeze(0).to(model_device(model))), dim=1)[0].cpu()
    k = max(1, min(int(k), probs.numel()))
    values, indices = probs.topk(k)
    return [(int(i), float(p)) for i, p in zip(indices, values, strict=True)]
