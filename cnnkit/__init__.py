"""cnnkit: the small, tested helper package behind the course's lessons.

Modules: ``arithmetic`` (output sizes, padding, parameters, receptive fields, the window
geometry), ``data`` (bundled MNIST and photos, full datasets, generated colour shapes),
``train`` (``fit``, ``evaluate``, ``predict``), ``hooks`` (fit's extras: early stopping,
checkpoints, progress, printing, memory layout), ``checkpoint`` (safe saving and
loading), ``distributed`` (data-parallel training under torchrun), ``experiment`` (runs
over seeds, fair comparisons, claims printed from measurements), ``reference``
(from-scratch NumPy layers), ``kernels`` (classic image kernels, filtering and pooling an
image), ``optim`` (from-scratch optimizers, 2-D test functions), ``probes`` (gradient
norms, feature maps, saliency, Grad-CAM, occlusion, top predictions), ``plot`` (image
grids, maps, curves, heat-maps, confusion matrices; the course's plot style),
``structure`` (``summary``'s layer tables, receptive fields, parameter counts), ``checks``
(exercise self-checks), ``widgets``, ``models`` and ``utils`` (seeding, device,
quick/full mode, the presenter scale).
"""

from . import (
    arithmetic,
    checkpoint,
    checks,
    data,
    distributed,
    experiment,
    hooks,
    kernels,
    models,
    optim,
    plot,
    probes,
    reference,
    structure,
    train,
    utils,
    widgets,
)
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import load_mnist, load_shapes
from .experiment import Spread, claim, compare, over_seeds
from .structure import count_macs, count_parameters, summary
from .train import History, evaluate, fit, predict, train_mode
from .utils import evaluating, full_mode, get_device, model_device, seed_everything, setup

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "History",
    "Spread",
    "arithmetic",
    "checkpoint",
    "checks",
    "claim",
    "compare",
    "count_macs",
    "count_parameters",
    "data",
    "distributed",
    "evaluate",
    "evaluating",
    "experiment",
    "fit",
    "train_mode",
    "full_mode",
    "get_device",
    "hooks",
    "kernels",
    "load_checkpoint",
    "load_mnist",
    "load_shapes",
    "model_device",
    "models",
    "optim",
    "over_seeds",
    "plot",
    "predict",
    "probes",
    "reference",
    "save_checkpoint",
    "seed_everything",
    "setup",
    "structure",
    "summary",
    "train",
    "utils",
    "widgets",
]
