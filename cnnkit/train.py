"""Training and evaluation: ``fit`` and ``evaluate``.

``fit`` is the loop of lesson 08 with the care a course needs: it checks the model on a
sample batch before training (so a shape mistake is reported in words, not from deep
inside torch), batches in-memory tensor data by slicing (no per-sample collation), runs
convolutions in the channels-last layout on the CPU (oneDNN's fastest), keeps metrics on
the device until the end of an epoch, shows a progress bar in JupyterLab, and ends
cleanly on the stop button (Ctrl-C), keeping the weights and returning the history so far.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from ._validate import check_int, check_number
from .utils import (
    CheckpointError,
    _apply_checkpoint,
    _read_checkpoint,
    evaluating,
    get_device,
    model_device,
    save_checkpoint,
)

__all__ = ["History", "evaluate", "fit", "predict"]

_FIELDS = ("epoch", "train_loss", "train_acc", "test_acc", "seconds")


class History:
    """Per-epoch records of a ``fit`` run.

    ``history.train_loss`` (and ``train_acc``, ``test_acc``, ``seconds``, ``epoch``) are
    lists with one value per finished epoch; ``history.records`` holds them as dicts;
    ``history.interrupted`` says whether training was stopped early by the user,
    ``history.stopped_early`` whether early stopping ended it (then ``history.best_epoch``
    is the epoch whose weights the model has).
    """

    def __init__(self):
        self.records: list[dict] = []
        self.interrupted = False
        self.stopped_early = False  # set by fit(patience=...) when the test accuracy stopped improving
        self.best_epoch: int | None = None  # the epoch whose weights the model has (with patience)

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
        lines = [f"{'epoch':>5}  {'train loss':>10}  {'train acc':>9}  {'test acc':>8}  {'seconds':>7}"]
        for r in self.records:
            test = "-" if r["test_acc"] is None else f"{r['test_acc']:.4f}"
            lines.append(
                f"{r['epoch']:>5}  {r['train_loss']:>10.4f}  {r['train_acc']:>9.4f}  {test:>8}  {r['seconds']:>7.2f}"
            )
        if self.interrupted:
            lines.append("(interrupted)")
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


class _Batches:
    """Iterate (x, y) batches on ``device``: slices of in-memory tensors, or a DataLoader."""

    def __init__(self, data, name, batch_size, device, shuffle, generator):
        self.batch_size, self.shuffle, self.generator = batch_size, shuffle, generator
        self.data, self.device, self.memory_format = data, device, torch.contiguous_format
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
            self.loader = DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)

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
        return math.ceil(self.size / self.batch_size)

    def __iter__(self):
        if self.loader is not None:
            for x, y in self.loader:
                yield self._format(x.to(self.device, non_blocking=True)), y.to(self.device, non_blocking=True)
            return
        x, y = self.tensors
        if self.shuffle:
            order = torch.randperm(self.size, generator=self.generator).to(x.device)
            x, y = x[order], y[order]
        for start in range(0, self.size, self.batch_size):
            yield x[start : start + self.batch_size], y[start : start + self.batch_size]


class _StrideError(RuntimeError):
    """``.view()`` met a tensor whose memory layout it cannot reinterpret."""


def _forward(model, x, where: str):
    """Run the model, turning a shape mismatch deep inside torch into an actionable error."""
    try:
        return model(x)
    except RuntimeError as exc:
        text = str(exc)
        if "view size is not compatible" in text:
            raise _StrideError(text.splitlines()[0]) from None
        if any(word in text for word in ("shape", "size", "channels", "mat1", "dimension", "Expected")):
            raise ValueError(
                f"the model cannot take examples of shape {tuple(x.shape[1:])} (a batch of shape {tuple(x.shape)}, "
                f"{where}): {text.splitlines()[0]}. "
                "Check that the first layer's in_channels matches the images' channels and that the first "
                "nn.Linear's in_features equals the flattened size after the last convolution or pooling "
                "(cnnkit.arithmetic.conv_output_size helps)."
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


def _loss(loss_fn, out, y, where):
    """The loss, with torch's errors about targets (a bad label in a later batch) made actionable."""
    try:
        return loss_fn(out, y)
    except (IndexError, RuntimeError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"the loss cannot compare the model's output of shape {tuple(out.shape)} with targets of shape "
            f"{tuple(y.shape)} ({where}): {text}. For classification, targets are class indices 0 to "
            "(number of classes - 1) and the last layer has one output per class."
        ) from None


def fit(
    model: nn.Module,
    train_data,
    test_data=None,
    *,
    epochs: int,
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
) -> History:
    """Train ``model`` in place and return its :class:`History`.

    ``train_data`` / ``test_data``: a ``TensorDataset``, a pair of tensors ``(x, y)`` or
    any map-style ``Dataset``. ``optimizer=None`` uses AdamW with a one-cycle schedule: the
    learning rate warms up to ``lr`` and anneals to almost zero by the last batch, which
    trains the course's networks well in few epochs. Pass your own ``optimizer`` (and,
    if you like, a ``scheduler`` that is stepped after every batch) to take control.
    ``loss_fn=None`` uses cross-entropy.
    ``device=None`` picks CUDA, then MPS, then the CPU. ``seed`` fixes the shuffling.

    ``patience``: early stopping. Stop when the accuracy on ``test_data`` (pass a
    *validation* set there when you use it to decide) has not improved for ``patience``
    epochs in a row; the model then gets back the weights of its best epoch
    (``history.best_epoch``; ``history.stopped_early=True``).
    ``checkpoint``: a file path. After every epoch the model, the optimizer, the epoch and
    the history are saved there atomically (:func:`cnnkit.save_checkpoint`), so nothing
    is lost if training is interrupted.
    ``resume=True`` (with ``checkpoint``): if the checkpoint file exists, continue the run it
    holds instead of starting over: the weights, the optimizer and learning-rate schedule,
    the history, the early-stopping state and the random state are restored, and training
    goes on from the next epoch. So after an interruption, run the *same* call again. On
    the same machine's CPU the result is exactly that of an uninterrupted run (on a GPU,
    some operations are not deterministic, so it is close). The call must describe the
    same run (``epochs``, ``batch_size`` and the training data's size); if the file does
    not exist yet, training starts from scratch.

    Press the stop button (or Ctrl-C) to end training early: the model keeps the weights
    it has (its best ones when ``patience`` is set) and the epochs finished so far are
    returned, with ``history.interrupted=True``.
    """
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
        if test_data is None:
            raise ValueError(
                "patience (early stopping) watches the accuracy on a second dataset: pass a validation set "
                "as test_data, e.g. fit(model, train_data, val_data, epochs=..., patience=3)."
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
    device = get_device() if device is None else torch.device(device)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, like nn.CrossEntropyLoss(), got {type(loss_fn).__name__}.")

    generator = torch.Generator()
    if seed is not None:
        generator.manual_seed(seed)
    train_batches = _Batches(train_data, "train_data", batch_size, device, True, generator)
    test_batches = (
        _Batches(test_data, "test_data", max(batch_size, 256), device, False, None) if test_data is not None else None
    )
    model.to(device)
    if optimizer is None:
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        if scheduler is None:
            scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer, max_lr=lr, total_steps=epochs * len(train_batches)
            )
    if scheduler is not None and not hasattr(scheduler, "step"):
        raise TypeError(f"scheduler must be a torch.optim.lr_scheduler object or None, got {type(scheduler).__name__}.")

    history = History()
    plan = {"epochs": epochs, "batch_size": batch_size, "train_size": train_batches.size}
    first_epoch, best_state = 1, None
    if resume and Path(checkpoint).is_file():
        first_epoch, best_state = _resume(checkpoint, plan, model, optimizer, scheduler, generator, history)
        if verbose:
            print(
                f"resuming from the checkpoint {Path(checkpoint).name}: {len(history)} of {epochs} epochs were finished"
            )
    test_accs = [acc for acc in history.test_acc if acc is not None]
    best_acc = max(test_accs, default=-1.0)
    waited = len(history) - history.best_epoch if history.best_epoch is not None else 0
    bar = _progress_bar((epochs - first_epoch + 1) * len(train_batches), progress)
    channels_last = False
    try:
        channels_last = _prepare(model, train_batches, test_batches, loss_fn)
        for epoch in range(first_epoch, epochs + 1):
            start = time.perf_counter()
            model.train()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            for x, y in train_batches:
                out = _forward(model, x, f"training, epoch {epoch}")
                loss = _loss(loss_fn, out, y, f"training, epoch {epoch}")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                loss_sum += loss.detach() * len(y)
                if out.ndim == 2 and y.ndim == 1:
                    correct += (out.detach().argmax(1) == y).sum()
                if bar is not None:
                    bar.update(1)
            train_loss = loss_sum.item() / train_batches.size
            train_acc = correct.item() / train_batches.size
            test_acc = _accuracy(model, test_batches) if test_batches is not None else None
            seconds = time.perf_counter() - start
            history.append(epoch=epoch, train_loss=train_loss, train_acc=train_acc, test_acc=test_acc, seconds=seconds)
            if bar is not None:
                bar.set_postfix(loss=f"{train_loss:.3f}", test_acc="-" if test_acc is None else f"{test_acc:.3f}")
            if verbose:
                test = "" if test_acc is None else f"  test acc {test_acc:.4f}"
                print(
                    f"epoch {epoch}/{epochs}  loss {train_loss:.4f}  train acc {train_acc:.4f}{test}  ({seconds:.1f} s)"
                )
            if patience is not None:
                if test_acc > best_acc:
                    best_acc, waited, history.best_epoch = test_acc, 0, epoch
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    waited += 1
                history.stopped_early = waited >= patience and epoch < epochs
            if checkpoint is not None:
                _save_run(checkpoint, plan, model, optimizer, scheduler, generator, history, best_state)
            if history.stopped_early:
                if verbose:
                    print(
                        f"early stop: test accuracy has not improved for {patience} epoch(s); "
                        f"restoring the weights of epoch {history.best_epoch} (test acc {best_acc:.4f})."
                    )
                break
    except KeyboardInterrupt:
        history.interrupted = True
        saved = (
            f" The finished epochs are saved in the checkpoint {Path(checkpoint).name}: run the same fit(...) "
            "call with resume=True to continue."
            if checkpoint is not None and len(history)
            else ""
        )
        print(
            f"Training interrupted after {len(history)} finished epoch(s) of {epochs}: the model keeps its "
            f"current weights, and the history holds the finished epochs.{saved}"
        )
    finally:
        if bar is not None:
            bar.close()
        if best_state is not None and history.best_epoch != len(history):
            model.load_state_dict(best_state)
        if channels_last:
            model.to(memory_format=torch.contiguous_format)  # hand the model back in the usual layout
        model.eval()
    return history


def _save_run(path, plan, model, optimizer, scheduler, generator, history, best_state) -> None:
    """fit's per-epoch checkpoint: everything needed to continue the run exactly (see ``resume``)."""
    extra = {
        "epoch": len(history),
        "history": history,
        "plan": plan,
        "best_epoch": history.best_epoch,
        "stopped_early": history.stopped_early,
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "shuffle": generator.get_state(),
        },
    }
    if best_state is not None:
        extra["best_model"] = best_state
    save_checkpoint(path, model, optimizer, scheduler=scheduler, **extra)


def _resume(path, plan, model, optimizer, scheduler, generator, history):
    """Restore a run saved by :func:`_save_run`; returns (first epoch to train, best weights or None)."""
    state = _read_checkpoint(path)
    extra = state.get("extra", {})
    if "plan" not in extra:
        raise CheckpointError(
            f"{path} was not written by fit(checkpoint=...), so there is no run to resume: "
            "load its weights with cnnkit.load_checkpoint(path, model), or pass another checkpoint path."
        )
    for key, value in plan.items():
        if extra["plan"][key] != value:
            what = "the training data's size" if key == "train_size" else key
            raise ValueError(
                f"cannot resume from {path}: it holds a run with {what} = {extra['plan'][key]}, but this call has "
                f"{what} = {value}. Call fit with the same settings to continue that run, or pass another "
                "checkpoint path (or delete the file) to start a new run."
            )
    _apply_checkpoint(state, path, model, optimizer, scheduler)
    for record in extra["history"]:
        history.append(**record)
    history.best_epoch, history.stopped_early = extra["best_epoch"], extra["stopped_early"]
    torch.set_rng_state(extra["rng"]["torch"])
    if extra["rng"]["cuda"] and torch.cuda.is_available() and len(extra["rng"]["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(extra["rng"]["cuda"])
    generator.set_state(extra["rng"]["shuffle"])
    # A run that already stopped early is finished, like one that ran all its epochs.
    first_epoch = plan["epochs"] + 1 if history.stopped_early else len(history) + 1
    return first_epoch, extra.get("best_model")


def _prepare(model, train_batches, test_batches, loss_fn) -> bool:
    """Check the model on a sample batch before training, and pick the faster memory layout.

    On the CPU, convolutions run markedly faster with channels-last tensors (oneDNN's
    native layout). The model and the image batches switch to it when the model has
    convolutions and still works that way (a model calling ``.view()`` on feature maps
    may not: it then stays as it is). Returns whether channels-last is in use.
    """
    x, y = train_batches.first()
    with evaluating(model):  # no dropout, no batch-norm statistics updated by this check
        try:
            out = _forward(model, x, "checking the model before training")
        except _StrideError as exc:
            raise ValueError(f"the model failed on a sample batch: {exc}") from None
        _check_targets(out, train_batches.tensors[1] if train_batches.tensors is not None else y, loss_fn)
        has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
        use = train_batches.device.type == "cpu" and x.ndim == 4 and has_conv
        if use:
            model.to(memory_format=torch.channels_last)
            try:
                _forward(model, x.contiguous(memory_format=torch.channels_last), "checking the layout")
            except Exception:  # whatever fails only in this layout: keep the usual one
                model.to(memory_format=torch.contiguous_format)
                use = False
    if use:
        for batches in (train_batches, test_batches):
            if batches is not None:
                batches.set_memory_format(torch.channels_last)
    return use


def _predictions(model, batches, where):
    """(predicted classes, targets) for each batch, in eval mode without gradients."""
    with evaluating(model):
        for x, y in batches:
            yield _forward(model, x, where).argmax(1), y


def _accuracy(model, batches) -> float:
    """Fraction of ``batches`` the model classifies correctly, counted on the device."""
    correct = torch.zeros((), dtype=torch.long, device=batches.device)
    for preds, y in _predictions(model, batches, "evaluation"):
        correct += (preds == y).sum()
    return correct.item() / batches.size


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", unit="batch", leave=False)


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
