"""cnnkit: the small, tested helper package behind the course's lessons.

Modules: ``arithmetic`` (output sizes, padding, parameters, receptive fields), ``data``
(bundled MNIST and photos, full MNIST, generated colour shapes), ``train`` (``fit``,
``evaluate``), ``reference`` (from-scratch NumPy layers), ``kernels`` (classic image
kernels), ``optim`` (from-scratch optimizers, 2-D test functions), ``probes`` (gradient
norms per layer), ``plot`` (image grids, curves, heat-maps), ``checks`` (exercise
self-checks), ``widgets``, ``models`` and ``utils`` (seeding, device, quick/full mode,
checkpoints).
"""

from . import (
    arithmetic,
    checkpoint,
    checks,
    data,
    hooks,
    kernels,
    models,
    optim,
    plot,
    probes,
    reference,
    train,
    utils,
    widgets,
)
from .data import load_mnist, load_shapes
from .models import summary
from .train import History, evaluate, fit, predict
from .utils import (
    CheckpointError,
    evaluating,
    full_mode,
    get_device,
    load_checkpoint,
    model_device,
    save_checkpoint,
    seed_everything,
    setup,
)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "History",
    "arithmetic",
    "checkpoint",
    "checks",
    "experiment",
    "hooks",
    "data",
    "kernels",
    "evaluate",
    "evaluating",
    "fit",
    "full_mode",
    "get_device",
    "load_checkpoint",
    "load_mnist",
    "model_device",
    "load_shapes",
    "models",
    "optim",
    "plot",
    "predict",
    "probes",
    "reference",
    "save_checkpoint",
    "seed_everything",
    "setup",
    "summary",
    "train",
    "utils",
    "widgets",
]
