"""Training and evaluation: ``fit``, ``evaluate`` and ``predict``.

``fit`` is the loop of lesson 08: a preparation step (argument checks, defaults, a check
of the model on a sample batch so that a shape mistake is reported in words, not from
deep inside torch), then the five steps — forward, loss, ``zero_grad``, backward, step —
for every batch of every epoch. Everything else is a hook (:mod:`cnnkit.hooks`): the
epoch printer, the progress bar, early stopping, checkpoints and resuming, and the
channels-last layout that makes convolutions faster on the CPU. Batches of in-memory
tensors are sliced (no per-sample collation), metrics stay on the device until the end
of an epoch, a loss that turns NaN or infinite stops training with a message, and the
stop button (Ctrl-C) ends training cleanly, keeping the weights and the history so far.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from ._validate import check_int, check_number
from .distributed import DataParallel, context, shard, shard_size
from .hooks import ChannelsLast, Checkpoint, EarlyStopping, EpochPrinter, Hook, ProgressBar, Run, progress_enabled
from .utils import evaluating, model_device, resolve_device, unwrapped

__all__ = ["FiniteLoss", "History", "evaluate", "fit", "predict"]

_FIELDS = ("epoch", "train_loss", "train_acc", "val_acc", "test_acc", "seconds")


class History:
    """Per-epoch records of a ``fit`` run.

    ``history.train_loss`` (and ``train_acc``, ``val_acc``, ``test_acc``, ``seconds``,
    ``epoch``) are lists with one value per finished epoch (``None`` for a set that was
    not passed); ``history.records`` holds them as dicts; ``history.interrupted`` says
    whether training was stopped early by the user, ``history.stopped_early`` whether
    early stopping ended it (then ``history.best_epoch`` is the epoch whose weights the
    model has), ``history.diverged`` whether a NaN or infinite loss ended it.
    """

    def __init__(self):
        self.records: list[dict] = []
        self.interrupted = False
        self.stopped_early = False  # set by fit(patience=...) when the watched accuracy stopped improving
        self.best_epoch: int | None = None  # the epoch whose weights the model has (with patience)
        self.diverged = False  # set by fit when the loss became NaN or infinite

    def append(self, **record):
        self.records.append({key: record.get(key) for key in _FIELDS})

    def __getattr__(self, name):
        if name in _FIELDS:
            return [r[name] for r in self.records]
        raise AttributeError(name)

    def __len__(self):
        return len(self.records)

    def __getitem__(self, index):
        return self.records[index]

    def __repr__(self):
        sets = [k for k in ("val", "test") if any(r[f"{k}_acc"] is not None for r in self.records)]
        heads = "".join(f"  {k + ' acc':>8}" for k in sets)
        lines = [f"{'epoch':>5}  {'train loss':>10}  {'train acc':>9}{heads}  {'seconds':>7}"]
        for r in self.records:
            accs = "".join(f"  {'-' if r[f'{k}_acc'] is None else format(r[f'{k}_acc'], '.4f'):>8}" for k in sets)
            lines.append(
                f"{r['epoch']:>5}  {r['train_loss']:>10.4f}  {r['train_acc']:>9.4f}{accs}  {r['seconds']:>7.2f}"
            )
        if self.interrupted:
            lines.append("(interrupted)")
        if self.diverged:
            lines.append("(stopped: the loss became NaN or infinite)")
        return "\n".join(lines)


def _tensors_of(data, name: str):
    """(inputs, targets) tensors when ``data`` lives in memory, else None (use a DataLoader)."""
    if isinstance(data, TensorDataset) and len(data.tensors) == 2:
        return data.tensors
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        if len(data[0]) != len(data[1]):
            raise ValueError(f"{name}: inputs and targets differ in length ({len(data[0])} vs {len(data[1])}).")
        return tuple(data)
    if isinstance(data, Dataset):
        return None
    raise TypeError(
        f"{name} must be a Dataset (for example a TensorDataset) or a pair (inputs, targets) of tensors, "
        f"got {type(data).__name__}."
    )


class _ShardSampler(torch.utils.data.Sampler):
    """Indices of one rank's share of a Dataset, in a new seeded order every epoch (like DistributedSampler)."""

    def __init__(self, size, shuffle, generator, rank, world_size, pad):
        self.size, self.shuffle, self.generator = size, shuffle, generator
        self.rank, self.world_size, self.pad = rank, world_size, pad

    def __iter__(self):
        order = torch.randperm(self.size, generator=self.generator) if self.shuffle else torch.arange(self.size)
        return iter(shard(order, self.rank, self.world_size, pad=self.pad).tolist())

    def __len__(self):
        return shard_size(self.size, self.rank, self.world_size, pad=self.pad)


class _Batches:
    """Iterate (x, y) batches on ``device``: slices of in-memory tensors, or a DataLoader.

    With ``ctx`` (a data-parallel run), each epoch yields only this rank's share of the
    examples (:func:`cnnkit.distributed.shard`; padded for training so that every rank has
    the same number of batches). ``size`` is always the whole dataset's size.
    """

    def __init__(self, data, name, batch_size, device, shuffle, generator, ctx=None):
        self.batch_size, self.shuffle, self.generator = batch_size, shuffle, generator
        self.data, self.device, self.memory_format = data, device, torch.contiguous_format
        self.ctx, self.pad = ctx, shuffle  # training batches (shuffled) are padded, evaluation ones exact
        tensors = _tensors_of(data, name)
        if tensors is not None:
            if len(tensors[0]) == 0:
                raise ValueError(f"{name} is empty: there is nothing to train or test on.")
            self.tensors = tuple(t.to(device) for t in tensors)
            self.loader = None
            self.size = len(self.tensors[0])
        else:
            self.tensors = None
            self.size = len(data)
            if self.size == 0:
                raise ValueError(f"{name} is empty: there is nothing to train or test on.")
            if ctx is None:
                self.loader = DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)
            else:
                sampler = _ShardSampler(self.size, shuffle, generator, ctx.rank, ctx.world_size, self.pad)
                self.loader = DataLoader(data, batch_size=batch_size, sampler=sampler)
        self.local_size = self.size if ctx is None else shard_size(self.size, ctx.rank, ctx.world_size, pad=self.pad)

    def set_memory_format(self, memory_format):
        """Lay 4-D image batches out as ``memory_format`` (channels_last is faster on the CPU)."""
        self.memory_format = memory_format
        if self.tensors is not None and self.tensors[0].ndim == 4:
            self.tensors = (self.tensors[0].contiguous(memory_format=memory_format), self.tensors[1])

    def first(self):
        """A sample batch of up to two examples (for checking the model before training)."""
        if self.tensors is not None:
            return self.tensors[0][:2], self.tensors[1][:2]
        x, y = self.data[0]
        x = torch.as_tensor(x).unsqueeze(0).to(self.device)
        return self._format(x), torch.as_tensor(y).reshape(1).to(self.device)

    def _format(self, x):
        return x.contiguous(memory_format=self.memory_format) if x.ndim == 4 else x

    def __len__(self):
        return math.ceil(self.local_size / self.batch_size)

    def __iter__(self):
        if self.loader is not None:
            for x, y in self.loader:
                yield self._format(x.to(self.device, non_blocking=True)), y.to(self.device, non_blocking=True)
            return
        x, y = self.tensors
        if self.shuffle or self.ctx is not None:
            order = torch.randperm(self.size, generator=self.generator) if self.shuffle else torch.arange(self.size)
            if self.ctx is not None:
                order = shard(order, self.ctx.rank, self.ctx.world_size, pad=self.pad)
            order = order.to(x.device)
            x, y = x[order], y[order]
        for start in range(0, len(x), self.batch_size):
            yield x[start : start + self.batch_size], y[start : start + self.batch_size]


class _StrideError(RuntimeError):
    """``.view()`` met a tensor whose memory layout it cannot reinterpret."""


# A RuntimeError whose text holds one of these words is a shape mistake; the advice is the same wherever it is met.
_SHAPE_WORDS = ("shape", "size", "channels", "mat1", "dimension", "Expected")
_SHAPE_ADVICE = (
    "Check that the first layer's in_channels matches the images' channels and that the first nn.Linear's "
    "in_features equals the flattened size after the last convolution or pooling "
    "(cnnkit.arithmetic.conv_output_size helps)."
)


def _forward(model, x, where: str):
    """Run the model, turning a shape mismatch deep inside torch into an actionable error."""
    try:
        return model(x)
    except RuntimeError as exc:
        text = str(exc)
        if "view size is not compatible" in text:
            raise _StrideError(text.splitlines()[0]) from None
        if any(word in text for word in _SHAPE_WORDS):
            raise ValueError(
                f"the model cannot take examples of shape {tuple(x.shape[1:])} (a batch of shape {tuple(x.shape)}, "
                f"{where}): {text.splitlines()[0]}. {_SHAPE_ADVICE}"
            ) from None
        raise


def _check_targets(out, y, loss_fn, where="training"):
    """Check, once, that the targets fit the model's output; ``y`` may be all the targets."""
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        if out.ndim != 2:
            raise ValueError(
                f"the model's output has shape {tuple(out.shape)} ({where}); for classification it must be "
                "(batch, number of classes). Add nn.Flatten() and a final nn.Linear."
            )
        if y.dtype != torch.long:
            raise ValueError(
                f"targets must be class indices (torch.int64) for cross-entropy, got {y.dtype}; use labels.long()."
            )
        if y.numel() and int(y.min()) < 0:
            raise ValueError(f"a target is {int(y.min())}, but class indices start at 0 ({where}).")
        if y.numel() and int(y.max()) >= out.shape[1]:
            raise ValueError(
                f"a target is {int(y.max())} but the model outputs only {out.shape[1]} classes ({where}): "
                "make the last layer's out_features equal to the number of classes."
            )


def fit(
    model: nn.Module,
    train_data,
    test_data=None,
    *,
    epochs: int,
    val_data=None,
    batch_size: int = 32,
    optimizer: torch.optim.Optimizer | None = None,
    loss_fn=None,
    lr: float = 5e-3,
    scheduler=None,
    device=None,
    seed: int | None = 0,
    progress: bool = True,
    verbose: bool = True,
    patience: int | None = None,
    checkpoint=None,
    resume: bool = False,
    hooks=(),
) -> History:
    """Train ``model`` in place and return its :class:`History`.

    ``train_data``, ``val_data``, ``test_data``: a ``TensorDataset``, a pair of tensors
    ``(x, y)`` or any map-style ``Dataset``. After every epoch the accuracy on each set
    passed is recorded under its own name (``history.val_acc``, ``history.test_acc``) and
    printed so. Pass a *validation* split as ``val_data`` when you use the numbers to
    decide anything (when to stop, which learning rate); the test set (the third
    positional argument, or ``test_data=``) is for the final, honest measurement.

    ``optimizer=None`` uses AdamW with a one-cycle schedule: the learning rate warms up
    to ``lr`` and anneals to almost zero by the last batch, which trains the course's
    networks well in few epochs. Pass your own ``optimizer`` (and, if you like, a
    ``scheduler`` that is stepped after every batch) to take control. ``loss_fn=None``
    uses cross-entropy. ``device=None`` picks CUDA, then MPS, then the CPU. ``seed``
    fixes the shuffling.

    ``patience``: early stopping. Stop when the accuracy on ``val_data`` (or, without
    it, on ``test_data`` — then the test set is no longer an unbiased measurement) has
    not improved for ``patience`` epochs in a row; the model then gets back the weights
    of its best epoch (``history.best_epoch``; ``history.stopped_early=True``).
    ``checkpoint``: a file path. After every epoch the run is saved there atomically
    (:func:`cnnkit.save_checkpoint`), so nothing is lost if training is interrupted.
    ``resume=True`` (with ``checkpoint``): if the checkpoint file exists, continue the run it
    holds instead of starting over: the weights, the optimizer and learning-rate schedule,
    the history, the early-stopping state and the random state are restored, and training
    goes on from the next epoch. So after an interruption, run the *same* call again. On
    the same machine's CPU the result is exactly that of an uninterrupted run (on a GPU,
    some operations are not deterministic, so it is close). The call must describe the
    same run (``epochs``, ``batch_size`` and the training data's size); if the file does
    not exist yet, training starts from scratch.
    ``hooks``: more :class:`cnnkit.hooks.Hook` objects, called after the built-in ones.

    Each epoch puts the model in training mode with :func:`train_mode`: a batch-norm layer
    whose weights are all frozen (``requires_grad=False``, as in a frozen pretrained body)
    stays in evaluation mode, so it keeps its running statistics instead of drifting to
    those of the new data.

    A loss that becomes NaN or infinite stops training at once, with a message naming the
    epoch and the step and the usual causes; the model keeps its last finite weights and
    ``history.diverged`` is True. Press the stop button (or Ctrl-C) to end training
    early: the model keeps the weights it has (its best ones when ``patience`` is set) and
    the epochs finished so far are returned, with ``history.interrupted=True``.
    """
    run, guard, extras = _prepare(**locals())
    try:
        for hook in extras:
            hook.before_fit(run)
        _train(run, guard, extras)
    except KeyboardInterrupt:
        run.history.interrupted = True
        for hook in extras:
            hook.on_interrupt(run)
        print(
            f"Training interrupted after {len(run.history)} finished epoch(s) of {epochs}: the model keeps its "
            f"current weights, and the history holds the finished epochs. {' '.join(run.notes)}".rstrip()
        )
        if run.ctx is not None:  # the other ranks cannot go on without this one: end with an error, torchrun stops them
            print(f"(rank {run.ctx.rank} of {run.ctx.world_size} was interrupted; torchrun stops the other ranks)")
            raise
    finally:
        for hook in reversed(extras):
            hook.after_fit(run)
        run.model.eval()
    return run.history


def train_mode(model: nn.Module) -> nn.Module:
    """``model.train()``, except for frozen batch-norm layers, which stay in evaluation mode.

    A frozen body (every parameter ``requires_grad=False``) should compute what it computed
    before: but a batch-norm layer in training mode normalises with the statistics of the
    current batch and overwrites its running mean and variance with those of the new data,
    even though none of its weights change. So a batch-norm layer whose affine weights are
    all frozen is put back in evaluation mode. (A layer without affine weights has nothing
    to tell, and trains as usual.) Returns ``model``.
    """
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            weights = list(module.parameters(recurse=False))
            if weights and not any(w.requires_grad for w in weights):
                module.eval()
    return model


def _train(run, guard, hooks) -> None:
    """fit's loop: the five steps for every batch, the hooks around them."""
    model, optimizer, scheduler, loss_fn, history = run.model, run.optimizer, run.scheduler, run.loss_fn, run.history
    for epoch in range(run.first_epoch, run.epochs + 1):
        run.epoch, start, totals = epoch, time.perf_counter(), _Totals(run.device)
        for hook in hooks:
            hook.before_epoch(run)
        train_mode(model)
        for step, (x, y) in enumerate(run.train_batches, start=1):
            with _explained(run):
                logits = model(x)  # 1. forward
                loss = loss_fn(logits, y)  # 2. loss
            if guard.diverged(run, loss, x, step):
                return
            optimizer.zero_grad()  # 3. clear old gradients
            loss.backward()  # 4. backward
            optimizer.step()  # 5. step
            if scheduler is not None:
                scheduler.step()
            totals.add(loss, logits, y)
            for hook in hooks:
                hook.after_batch(run)
        seconds = time.perf_counter() - start
        seconds = seconds if run.ctx is None else run.ctx.all_max(seconds)
        history.append(epoch=epoch, **totals.result(run.ctx), **_evaluate_sets(run), seconds=seconds)
        for hook in hooks:
            hook.after_epoch(run)
        if run.stop:
            return


class _Totals:
    """An epoch's summed loss and correct predictions, kept on the device until the end."""

    def __init__(self, device):
        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.seen = 0

    def add(self, loss, logits, y):
        self.loss += loss.detach() * len(y)
        if logits.ndim == 2 and y.ndim == 1:
            self.correct += (logits.detach().argmax(1) == y).sum()
        self.seen += len(y)

    def result(self, ctx=None) -> dict:
        loss, correct, seen = self.loss.item(), self.correct.item(), self.seen
        if ctx is not None:  # the whole epoch, over every rank: the same History everywhere
            loss, correct, seen = ctx.all_sum([loss, correct, seen])
        return {"train_loss": loss / seen, "train_acc": correct / seen}


def _evaluate_sets(run) -> dict:
    return {f"{name}_acc": _accuracy(run.model, batches) for name, batches in run.eval_batches.items()}


class FiniteLoss(Hook):
    """fit's guard against a loss that becomes NaN or infinite (it is checked before every step).

    It keeps a copy of the weights at the start of every epoch; when the loss is not
    finite, training stops with a message naming the epoch, the step and the likely
    cause, and the model keeps its last finite weights.
    """

    def __init__(self):
        self.start_of_epoch = None

    def before_epoch(self, run) -> None:
        self.start_of_epoch = {k: v.detach().clone() for k, v in unwrapped(run.model).state_dict().items()}

    def diverged(self, run, loss, x, step) -> bool:
        if bool(torch.isfinite(loss.detach())):
            return False
        _stop_diverged(run, loss, x, step, self.start_of_epoch)
        return True


def _stop_diverged(run, loss, x, step, start_of_epoch) -> None:
    """Stop on a NaN or infinite loss: say where and why, and keep the last finite weights."""
    run.history.diverged, epoch = True, run.epoch
    finite = all(bool(torch.isfinite(p).all()) for p in run.model.parameters())
    if not finite and start_of_epoch is not None:
        unwrapped(run.model).load_state_dict(start_of_epoch)
    if not bool(torch.isfinite(x).all()):
        cause = "This batch's inputs contain NaN or infinite values: clean the data (torch.nan_to_num, or drop them)."
    elif epoch == 1 and step == 1:
        cause = (
            "It happened on the very first batch, so the model or the loss produces it: check for a log of 0, "
            "a division by zero, or inputs on a huge scale (normalise them)."
        )
    else:
        cause = (
            "Usual causes: a learning rate too high (try 10× lower), unnormalised inputs, or NaN in the data. "
            "Plot history.train_loss, or fit with a smaller lr."
        )
    kept = "its last finite weights (from the start of this epoch)" if not finite else "the weights it had"
    if not run.is_main:
        return
    print(
        f"Training stopped: the loss became {loss.item()} in epoch {epoch}, step {step}. {cause} "
        f"The model keeps {kept}; the history holds the {len(run.history)} finished epoch(s)."
    )


@contextlib.contextmanager
def _explained(run):
    """Turn a shape or target error met in the forward pass or the loss into an actionable ValueError."""
    try:
        yield
    except (RuntimeError, IndexError) as exc:
        _explain(exc, f"training, epoch {run.epoch}")


def _explain(exc, where):
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if any(w in text for w in ("Target", "target", "out of bounds", "index")):
        raise ValueError(
            f"the loss cannot compare the model's output with the targets ({where}): {text}. For classification, "
            "targets are class indices 0 to (number of classes - 1) and the last layer has one output per class."
        ) from None
    if any(word in text for word in _SHAPE_WORDS):
        raise ValueError(f"the model failed on a batch ({where}): {text}. {_SHAPE_ADVICE}") from None
    raise exc


def _prepare(
    model,
    train_data,
    test_data,
    epochs,
    val_data,
    batch_size,
    optimizer,
    loss_fn,
    lr,
    scheduler,
    device,
    seed,
    progress,
    verbose,
    patience,
    checkpoint,
    resume,
    hooks,
):
    """fit's preparation step: check every argument, fill in the defaults, check the model on a
    sample batch, and build the :class:`~cnnkit.hooks.Run` and the list of hooks."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module (a network), got {type(model).__name__}.")
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim optimizer or None, got {type(optimizer).__name__}.")
    if optimizer is None:
        lr = check_number("lr", lr, positive=True)
    if patience is not None:
        patience = check_int("patience", patience, minimum=1)
        if val_data is None and test_data is None:
            raise ValueError(
                "patience (early stopping) watches the accuracy on a validation set: pass a validation set as "
                "val_data, e.g. fit(model, train_data, val_data=val_data, epochs=..., patience=3)."
            )
    if not isinstance(resume, bool):
        raise TypeError(f"resume must be True or False, got {resume!r}.")
    if resume and checkpoint is None:
        raise ValueError(
            "resume=True continues the run saved in a checkpoint file: pass the file too, "
            "e.g. fit(model, data, epochs=10, checkpoint='run.pt', resume=True)."
        )
    if checkpoint is not None:
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise TypeError(f"checkpoint must be a file path (str or Path), got {type(checkpoint).__name__}.")
        if Path(checkpoint).is_dir():
            raise ValueError(f"checkpoint must be a file path, but {checkpoint} is a folder; add a file name.")
    hooks = list(hooks)
    if not all(isinstance(h, Hook) for h in hooks):
        raise TypeError("hooks must be cnnkit.hooks.Hook objects (subclass Hook and override its methods).")
    ctx = context()  # a data-parallel run under torchrun, or None
    device = ctx.device if ctx is not None and device is None else resolve_device(device)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, like nn.CrossEntropyLoss(), got {type(loss_fn).__name__}.")

    generator = torch.Generator()
    if seed is not None:
        generator.manual_seed(seed)
    train_batches = _Batches(train_data, "train_data", batch_size, device, True, generator, ctx)
    eval_batches = {
        name: _Batches(data, f"{name}_data", max(batch_size, 256), device, False, None, ctx)
        for name, data in (("val", val_data), ("test", test_data))
        if data is not None
    }
    model.to(device)
    _check_on_sample(model, train_batches, loss_fn)
    if optimizer is None:
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        if scheduler is None:
            scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=lr, total_steps=epochs * len(train_batches)
            )
    if scheduler is not None and not hasattr(scheduler, "step"):
        raise TypeError(f"scheduler must be a torch.optim.lr_scheduler object or None, got {type(scheduler).__name__}.")

    run = Run(model, optimizer, scheduler, loss_fn, train_batches, eval_batches, History(), epochs, generator, device)
    run.ctx, run.is_main = ctx, ctx is None or ctx.is_main
    guard = FiniteLoss()
    extras = [ChannelsLast(), guard]
    if ctx is not None:
        extras.append(DataParallel(ctx))
    if progress_enabled(progress):
        extras.append(ProgressBar())
    if verbose:
        extras.append(EpochPrinter())
    early = None
    if patience is not None:
        early = EarlyStopping(patience, "val" if val_data is not None else "test", verbose=verbose)
        extras.append(early)
    if checkpoint is not None:  # after early stopping, so that each save holds its latest state
        extras.append(Checkpoint(checkpoint, resume, early, verbose=verbose))
    return run, guard, [*extras, *hooks]


def _check_on_sample(model, train_batches, loss_fn) -> None:
    """Run the model on a sample batch before training, so that a mistake is reported in words."""
    x, y = train_batches.first()
    model.eval()  # no dropout, no batch-norm statistics updated by this check (the loop calls model.train())
    with torch.no_grad():
        try:
            out = _forward(model, x, "checking the model before training")
        except _StrideError as exc:
            raise ValueError(f"the model failed on a sample batch: {exc}") from None
        _check_targets(out, train_batches.tensors[1] if train_batches.tensors is not None else y, loss_fn)


def _predictions(model, batches, where):
    """(predicted classes, targets) for each batch, in eval mode without gradients."""
    with evaluating(model):
        for x, y in batches:
            yield _forward(model, x, where).argmax(1), y


def _accuracy(model, batches) -> float:
    """Fraction of ``batches`` the model classifies correctly, counted on the device (over every rank in a
    data-parallel run)."""
    correct = torch.zeros((), dtype=torch.long, device=batches.device)
    for preds, y in _predictions(unwrapped(model), batches, "evaluation"):
        correct += (preds == y).sum()
    if batches.ctx is not None:
        total, size = batches.ctx.all_sum([correct.item(), batches.local_size])
        return total / size
    return correct.item() / batches.size


def _inference_batches(model, data, batch_size, device):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module (a network), got {type(model).__name__}.")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    device = model_device(model) if device is None else torch.device(device)
    return _Batches(data, "data", batch_size, device, False, None)


def predict(model: nn.Module, data, *, batch_size: int = 512, device=None) -> torch.Tensor:
    """Predicted class of every example in ``data`` (a CPU tensor of int64).

    ``data``: a Dataset, a pair of tensors ``(x, y)``, or a tensor of inputs alone.
    """
    if isinstance(data, torch.Tensor):
        data = (data, torch.zeros(len(data), dtype=torch.long))
    batches = _inference_batches(model, data, batch_size, device)
    return torch.cat([preds.cpu() for preds, _ in _predictions(model, batches, "prediction")])


def evaluate(model: nn.Module, data, *, batch_size: int = 512, device=None) -> float:
    """Accuracy of ``model`` on ``data`` (a Dataset or a pair of tensors), between 0 and 1."""
    return _accuracy(model, _inference_batches(model, data, batch_size, device))
