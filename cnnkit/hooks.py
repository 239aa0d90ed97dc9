"""The extras around ``fit``'s loop, one small object per concern.

``cnnkit.fit`` is five steps in a loop (forward, loss, ``zero_grad``, backward, step).
Everything else it does — printing, the progress bar, early stopping, checkpoints and
resuming, the channels-last memory layout — is a :class:`Hook`: an object with plain
methods that the loop calls at fixed points, each keeping its own state. A method that
a hook does not need does nothing.

    before_fit(run)     once, before the first epoch
    before_epoch(run)   at the start of every epoch
    after_batch(run)    after every optimizer step
    after_epoch(run)    after every epoch, once its record is in ``run.history``
    on_interrupt(run)   when the stop button (Ctrl-C) ends training
    after_fit(run)      always, last (also after an interruption or an error)

``run`` is the :class:`Run` that ``fit`` is working on. A hook ends training after the
current epoch by setting ``run.stop = True`` (no exceptions for control flow).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .checkpoint import CheckpointError, apply_checkpoint, read_checkpoint, save_checkpoint
from .utils import unwrapped as _unwrapped

__all__ = ["Checkpoint", "ChannelsLast", "EarlyStopping", "EpochPrinter", "Hook", "ProgressBar", "Run"]


@dataclass
class Run:
    """What one ``fit`` call works on; hooks read it and may change ``stop`` and ``first_epoch``."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    loss_fn: object
    train_batches: object
    eval_batches: dict  # {"val": batches, "test": batches}, the sets evaluated after every epoch
    history: object
    epochs: int
    generator: torch.Generator
    device: torch.device
    first_epoch: int = 1
    epoch: int = 0
    stop: bool = False
    is_main: bool = True  # the process that prints and saves (always True outside data-parallel training)
    ctx: object = None  # the data-parallel context (cnnkit.distributed.Context), or None
    notes: list = field(default_factory=list)  # sentences for the interruption message

    @property
    def plan(self) -> dict:
        """The settings a checkpoint must share with a run that resumes it."""
        return {
            "epochs": self.epochs,
            "batch_size": self.train_batches.batch_size,
            "train_size": self.train_batches.size,
        }


class Hook:
    """Base class of fit's hooks: every method does nothing; override the ones you need."""

    def before_fit(self, run: Run) -> None:
        pass

    def before_epoch(self, run: Run) -> None:
        pass

    def after_batch(self, run: Run) -> None:
        pass

    def after_epoch(self, run: Run) -> None:
        pass

    def on_interrupt(self, run: Run) -> None:
        pass

    def after_fit(self, run: Run) -> None:
        pass


_SET_NAMES = {"val": "validation", "test": "test"}


class EarlyStopping(Hook):
    """Stop when the accuracy on ``watch`` ("val" or "test") has not improved for ``patience`` epochs.

    Keeps a copy of the best epoch's weights and gives them back to the model at the end.
    """

    def __init__(self, patience: int, watch: str, verbose: bool = True):
        self.patience, self.watch, self.verbose = patience, watch, verbose
        self.best_acc, self.waited, self.best_state = -1.0, 0, None

    @property
    def key(self) -> str:
        return f"{self.watch}_acc"

    def after_epoch(self, run: Run) -> None:
        acc = run.history[-1][self.key]
        if acc > self.best_acc:
            self.best_acc, self.waited, run.history.best_epoch = acc, 0, run.epoch
            self.best_state = {k: v.detach().clone() for k, v in _unwrapped(run.model).state_dict().items()}
        else:
            self.waited += 1
        run.history.stopped_early = self.waited >= self.patience and run.epoch < run.epochs
        if run.history.stopped_early:
            run.stop = True
            if self.verbose and run.is_main:
                print(
                    f"early stop: {_SET_NAMES[self.watch]} accuracy has not improved for {self.patience} epoch(s); "
                    f"restoring the weights of epoch {run.history.best_epoch} ({self.watch} acc {self.best_acc:.4f})."
                )

    def after_fit(self, run: Run) -> None:
        if self.best_state is not None and run.history.best_epoch != len(run.history):
            _unwrapped(run.model).load_state_dict(self.best_state)

    def state_dict(self) -> dict:
        return {"best_acc": self.best_acc, "waited": self.waited}

    def load_state_dict(self, state: dict, history, best_state) -> None:
        """Restore from a checkpoint (older checkpoints hold only the history: derive the rest)."""
        accs = [r.get(self.key) for r in history.records if r.get(self.key) is not None]
        self.best_acc = state.get("best_acc", max(accs, default=-1.0))
        best = history.best_epoch
        self.waited = state.get("waited", len(history) - best if best is not None else 0)
        self.best_state = best_state


class Checkpoint(Hook):
    """Save the whole run to ``path`` after every epoch; with ``resume``, continue the run saved there.

    The file holds the weights, the optimizer and schedule, the history, the run's plan
    (epochs, batch size, training-set size), the early-stopping state and the random
    state (global and shuffling), so a resumed run repeats an uninterrupted one exactly
    on the CPU. Only the main process writes it.
    """

    def __init__(self, path, resume: bool = False, early: EarlyStopping | None = None, verbose: bool = True):
        self.path, self.resume, self.early, self.verbose = Path(path), resume, early, verbose

    def before_fit(self, run: Run) -> None:
        if not (self.resume and self.path.is_file()):
            return
        state = read_checkpoint(self.path)
        extra = state.get("extra", {})
        if "plan" not in extra:
            raise CheckpointError(
                f"{self.path} was not written by fit(checkpoint=...), so there is no run to resume: "
                "load its weights with cnnkit.load_checkpoint(path, model), or pass another checkpoint path."
            )
        for key, value in run.plan.items():
            if extra["plan"][key] != value:
                what = "the training data's size" if key == "train_size" else key
                raise ValueError(
                    f"cannot resume from {self.path}: it holds a run with {what} = {extra['plan'][key]}, but this "
                    f"call has {what} = {value}. Call fit with the same settings to continue that run, or pass "
                    "another checkpoint path (or delete the file) to start a new run."
                )
        apply_checkpoint(state, self.path, _unwrapped(run.model), run.optimizer, run.scheduler)
        history = run.history
        for record in extra["history"]:
            history.append(**record)
        history.best_epoch, history.stopped_early = extra["best_epoch"], extra["stopped_early"]
        if self.early is not None:
            self.early.load_state_dict(extra.get("early_stopping", {}), history, extra.get("best_model"))
        rng = extra["rng"]
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(rng["cuda"])
        run.generator.set_state(rng["shuffle"])
        # A run that already stopped early is finished, like one that ran all its epochs.
        run.first_epoch = run.epochs + 1 if history.stopped_early else len(history) + 1
        if self.verbose and run.is_main:
            print(f"resuming from the checkpoint {self.path.name}: {len(history)} of {run.epochs} epochs were finished")

    def after_epoch(self, run: Run) -> None:
        if not run.is_main:
            return
        extra = {
            "epoch": len(run.history),
            "history": run.history,
            "plan": run.plan,
            "best_epoch": run.history.best_epoch,
            "stopped_early": run.history.stopped_early,
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "shuffle": run.generator.get_state(),
            },
        }
        if self.early is not None:
            extra["early_stopping"] = self.early.state_dict()
            if self.early.best_state is not None:
                extra["best_model"] = self.early.best_state
        save_checkpoint(self.path, _unwrapped(run.model), run.optimizer, scheduler=run.scheduler, **extra)

    def on_interrupt(self, run: Run) -> None:
        if len(run.history):
            run.notes.append(
                f"The finished epochs are saved in the checkpoint {self.path.name}: run the same fit(...) call "
                "with resume=True to continue."
            )


PROGRESS_ENV = "CNNKIT_PROGRESS"


def progress_enabled(progress: bool) -> bool:
    """``progress``, unless ``CNNKIT_PROGRESS=0`` switches every bar off (set when lessons are executed to be
    stored, so that no stored output shows a bar frozen at its first state)."""
    return progress and os.environ.get(PROGRESS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


class ProgressBar(Hook):
    """A tqdm bar over the batches still to train (a widget in JupyterLab), closed at the end."""

    def __init__(self):
        self.bar = None

    def before_epoch(self, run: Run) -> None:
        if self.bar is None and run.is_main:
            from tqdm.auto import tqdm

            total = (run.epochs - run.first_epoch + 1) * len(run.train_batches)
            self.bar = tqdm(total=total, desc="training", unit="batch", leave=False)

    def after_batch(self, run: Run) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def after_epoch(self, run: Run) -> None:
        if self.bar is not None:
            record = run.history[-1]
            shown = {"loss": f"{record['train_loss']:.3f}"}
            shown.update({f"{k}_acc": f"{record[f'{k}_acc']:.3f}" for k in run.eval_batches})
            self.bar.set_postfix(**shown)

    def after_fit(self, run: Run) -> None:
        if self.bar is not None:
            self.bar.close()


class EpochPrinter(Hook):
    """One line per epoch: loss, training accuracy, the accuracy on each evaluated set, seconds."""

    def after_epoch(self, run: Run) -> None:
        if not run.is_main:
            return
        r = run.history[-1]
        sets = "".join(f"  {k} acc {r[f'{k}_acc']:.4f}" for k in run.eval_batches)
        print(
            f"epoch {r['epoch']}/{run.epochs}  loss {r['train_loss']:.4f}  train acc {r['train_acc']:.4f}{sets}"
            f"  ({r['seconds']:.1f} s)"
        )


class ChannelsLast(Hook):
    """Run convolutions in the channels-last layout on the CPU (oneDNN's fastest), when the model allows.

    The model and the image batches switch to it when the model has convolutions and
    still works that way (a model calling ``.view()`` on feature maps may not: it then
    stays as it is); the model is handed back in the usual layout at the end.
    """

    def __init__(self):
        self.active = False

    def before_fit(self, run: Run) -> None:
        from .train import _forward  # the shared forward with errors made readable

        x, _ = run.train_batches.first()
        has_conv = any(isinstance(m, nn.Conv2d) for m in run.model.modules())
        if not (run.device.type == "cpu" and x.ndim == 4 and has_conv):
            return
        model = run.model
        was_training = model.training
        model.eval()
        try:
            model.to(memory_format=torch.channels_last)
            with torch.no_grad():
                _forward(model, x.contiguous(memory_format=torch.channels_last), "checking the layout")
        except Exception:  # whatever fails only in this layout: keep the usual one
            model.to(memory_format=torch.contiguous_format)
            return
        finally:
            model.train(was_training)
        self.active = True
        for batches in (run.train_batches, *run.eval_batches.values()):
            batches.set_memory_format(torch.channels_last)

    def after_fit(self, run: Run) -> None:
        if self.active:
            run.model.to(memory_format=torch.contiguous_format)
