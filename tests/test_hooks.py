"""Tests for cnnkit.hooks (each of fit's extras on its own) and for what fit says when things go wrong:
a NaN or infinite loss, an impossible device, swapped checkpoint arguments, and a validation set
named as such."""

import pytest
import torch
from torch import nn

import cnnkit
from cnnkit.hooks import ChannelsLast, Checkpoint, EarlyStopping, EpochPrinter, Hook, ProgressBar, Run
from cnnkit.train import FiniteLoss, History, _Batches, fit


def blobs(n=60, seed=0):
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centers = torch.tensor([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    return centers[y] + 0.5 * torch.randn(n, 4, generator=generator), y


def make_run(model=None, data=None, epochs=3, eval_sets=("val",)):
    model = nn.Linear(4, 3) if model is None else model
    x, y = blobs() if data is None else data
    generator = torch.Generator().manual_seed(0)
    train = _Batches((x, y), "train_data", 20, torch.device("cpu"), True, generator)
    evals = {name: _Batches((x, y), f"{name}_data", 256, torch.device("cpu"), False, None) for name in eval_sets}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return Run(model, optimizer, None, nn.CrossEntropyLoss(), train, evals, History(), epochs, generator, train.device)


def finish_epoch(run, epoch, **accs):
    run.epoch = epoch
    run.history.append(epoch=epoch, train_loss=1.0, train_acc=0.5, seconds=0.1, **accs)


# ----------------------------------------------------------------------------------------------------------------
# the hooks, one at a time


def test_hook_base_class_does_nothing():
    run, hook = make_run(), Hook()
    for method in ("before_fit", "before_epoch", "after_batch", "after_epoch", "on_interrupt", "after_fit"):
        assert getattr(hook, method)(run) is None
    assert not run.stop


def test_early_stopping_stops_after_patience_and_restores_the_best_weights(capsys):
    run = make_run(epochs=10)
    early = EarlyStopping(patience=2, watch="val")
    weights = []
    for epoch, acc in enumerate([0.5, 0.7, 0.6, 0.65], start=1):
        with torch.no_grad():
            run.model.weight.fill_(epoch)  # the weights record the epoch
        finish_epoch(run, epoch, val_acc=acc)
        early.after_epoch(run)
        weights.append(epoch)
        if run.stop:
            break
    assert run.stop and epoch == 4 and run.history.best_epoch == 2 and run.history.stopped_early
    assert (
        "validation accuracy has not improved for 2 epoch(s); restoring the weights of epoch 2"
        in capsys.readouterr().out
    )
    early.after_fit(run)
    assert torch.all(run.model.weight == 2)


def test_early_stopping_on_the_last_epoch_is_not_an_early_stop():
    run = make_run(epochs=2)
    early = EarlyStopping(patience=1, watch="test", verbose=False)
    for epoch, acc in enumerate([0.6, 0.5], start=1):
        finish_epoch(run, epoch, test_acc=acc)
        early.after_epoch(run)
    assert not run.stop and not run.history.stopped_early and run.history.best_epoch == 1


def test_early_stopping_state_round_trips():
    run = make_run(epochs=10)
    early = EarlyStopping(patience=3, watch="val", verbose=False)
    for epoch, acc in enumerate([0.5, 0.7, 0.6], start=1):
        finish_epoch(run, epoch, val_acc=acc)
        early.after_epoch(run)
    copy = EarlyStopping(patience=3, watch="val")
    copy.load_state_dict(early.state_dict(), run.history, early.best_state)
    assert (copy.best_acc, copy.waited) == (0.7, 1)
    older = EarlyStopping(patience=3, watch="val")  # a checkpoint without the state: derived from the history
    older.load_state_dict({}, run.history, None)
    assert (older.best_acc, older.waited) == (0.7, 1)


def test_checkpoint_saves_every_epoch_and_notes_it_on_interrupt(tmp_path):
    path = tmp_path / "run.pt"
    run, hook = make_run(), Checkpoint(path)
    hook.on_interrupt(run)
    assert run.notes == []  # nothing finished yet: nothing to point to
    finish_epoch(run, 1, val_acc=0.5)
    hook.after_epoch(run)
    extra = cnnkit.load_checkpoint(path, nn.Linear(4, 3))
    assert extra["epoch"] == 1 and extra["plan"] == {"epochs": 3, "batch_size": 20, "train_size": 60}
    hook.on_interrupt(run)
    assert "run.pt" in run.notes[0] and "resume=True" in run.notes[0]


def test_checkpoint_writes_only_on_the_main_process(tmp_path):
    run, hook = make_run(), Checkpoint(tmp_path / "run.pt")
    run.is_main = False
    finish_epoch(run, 1, val_acc=0.5)
    hook.after_epoch(run)
    assert not (tmp_path / "run.pt").exists()


def test_checkpoint_resume_restores_the_run(tmp_path, capsys):
    path = tmp_path / "run.pt"
    first = make_run()
    finish_epoch(first, 1, val_acc=0.5)
    Checkpoint(path).after_epoch(first)
    second = make_run()
    Checkpoint(path, resume=True).before_fit(second)
    assert second.first_epoch == 2 and len(second.history) == 1
    assert torch.equal(second.model.weight, first.model.weight)
    assert "resuming from the checkpoint run.pt: 1 of 3 epochs were finished" in capsys.readouterr().out
    other = make_run(epochs=5)
    with pytest.raises(ValueError, match="epochs = 3, but this call has epochs = 5"):
        Checkpoint(path, resume=True).before_fit(other)


def test_checkpoint_without_resume_or_file_starts_fresh(tmp_path):
    run = make_run()
    Checkpoint(tmp_path / "none.pt", resume=True).before_fit(run)
    Checkpoint(tmp_path / "none.pt", resume=False).before_fit(run)
    assert run.first_epoch == 1 and len(run.history) == 0


def test_progress_bar_counts_the_batches_still_to_train(capsys):
    run, bar = make_run(epochs=2), ProgressBar()
    run.first_epoch = 2  # resumed: one epoch left
    bar.before_epoch(run)
    assert bar.bar.total == len(run.train_batches) == 3
    for _ in range(3):
        bar.after_batch(run)
    finish_epoch(run, 2, val_acc=0.75)
    bar.after_epoch(run)
    assert bar.bar.n == 3 and "val_acc=0.750" in str(bar.bar)
    bar.after_fit(run)
    assert bar.bar.disable or bar.bar.n == 3  # closed
    capsys.readouterr()


def test_epoch_printer_names_each_set(capsys):
    run, printer = make_run(eval_sets=("val", "test")), EpochPrinter()
    finish_epoch(run, 1, val_acc=0.5, test_acc=0.25)
    printer.after_epoch(run)
    line = capsys.readouterr().out.strip()
    assert line == "epoch 1/3  loss 1.0000  train acc 0.5000  val acc 0.5000  test acc 0.2500  (0.1 s)"
    run.is_main = False
    printer.after_epoch(run)
    assert capsys.readouterr().out == ""


def conv_data():
    return torch.rand(8, 1, 8, 8), torch.arange(8) % 2


def test_channels_last_switches_a_conv_net_and_hands_it_back():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    run, hook = make_run(model, conv_data(), eval_sets=()), ChannelsLast()
    hook.before_fit(run)
    assert hook.active and model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert run.train_batches.tensors[0].is_contiguous(memory_format=torch.channels_last)
    hook.after_fit(run)
    assert model[0].weight.is_contiguous()


def test_channels_last_leaves_a_model_that_cannot_take_it():
    class Views(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(1, 4, 3), nn.Linear(4 * 6 * 6, 2)

        def forward(self, x):
            h = self.conv(x)
            return self.fc(h.view(len(h), -1))  # .view() fails on channels-last feature maps

    model = Views()
    run, hook = make_run(model, conv_data(), eval_sets=()), ChannelsLast()
    hook.before_fit(run)
    assert not hook.active and model.conv.weight.is_contiguous()
    linear = make_run()
    ChannelsLast().before_fit(linear)  # no convolution: nothing to do


def test_finite_loss_guard_keeps_the_last_finite_weights(capsys):
    run, guard = make_run(), FiniteLoss()
    run.epoch = 2
    guard.before_epoch(run)
    start = run.model.weight.detach().clone()
    assert guard.diverged(run, torch.tensor(1.0), torch.zeros(2, 4), 1) is False
    with torch.no_grad():
        run.model.weight.fill_(float("inf"))
    assert guard.diverged(run, torch.tensor(float("nan")), torch.zeros(2, 4), 3) is True
    assert run.history.diverged and torch.equal(run.model.weight, start)
    out = capsys.readouterr().out
    assert "the loss became nan in epoch 2, step 3" in out and "learning rate too high" in out


def test_fit_calls_custom_hooks_in_order():
    calls = []

    class Recorder(Hook):
        def before_fit(self, run):
            calls.append("before_fit")

        def before_epoch(self, run):
            calls.append(f"before_epoch {run.epoch}")

        def after_epoch(self, run):
            calls.append(f"after_epoch {run.history[-1]['epoch']}")
            run.stop = run.epoch == 2  # a hook can end training after an epoch

        def after_fit(self, run):
            calls.append("after_fit")

    history = fit(nn.Linear(4, 3), blobs(), epochs=5, hooks=[Recorder()], progress=False, verbose=False)
    assert len(history) == 2
    assert calls == ["before_fit", "before_epoch 1", "after_epoch 1", "before_epoch 2", "after_epoch 2", "after_fit"]
    with pytest.raises(TypeError, match="Hook"):
        fit(nn.Linear(4, 3), blobs(), epochs=1, hooks=[print])


# ----------------------------------------------------------------------------------------------------------------
# fit: the messages a learner meets


def test_fit_stops_on_nan_data_with_a_message(capsys):
    x, y = blobs()
    x[25, 1] = float("nan")  # one bad pixel, in the second batch of 20
    model = nn.Linear(4, 3)
    history = fit(model, (x, y), epochs=3, batch_size=20, seed=None, progress=False, verbose=False)
    out = capsys.readouterr().out
    assert history.diverged and len(history) == 0
    assert "in epoch 1, step " in out and "inputs contain NaN" in out
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert "(stopped: the loss became NaN or infinite)" in repr(history)


def test_fit_stops_when_a_high_learning_rate_blows_up(capsys):
    x, y = blobs()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e6)
    history = fit(model, (x, y), epochs=20, optimizer=optimizer, progress=False, verbose=False)
    out = capsys.readouterr().out
    assert history.diverged and "learning rate too high" in out
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize(
    ("device", "message"),
    [("tpu9", "device='tpu9' is not a device name"), ("cuda:7", "device='cuda:7'"), (3.5, "device must be")],
)
def test_fit_refuses_an_impossible_device_in_words(device, message):
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine really has 8 GPUs")
    with pytest.raises((ValueError, TypeError), match=message):
        fit(nn.Linear(4, 3), blobs(), epochs=1, device=device, progress=False, verbose=False)


def test_checkpoint_functions_catch_swapped_arguments(tmp_path):
    model, path = nn.Linear(4, 3), tmp_path / "m.pt"
    with pytest.raises(TypeError, match=r"save_checkpoint\(path, model\): the first argument is the file"):
        cnnkit.save_checkpoint(model, path)
    cnnkit.save_checkpoint(path, model)
    with pytest.raises(TypeError, match=r"load_checkpoint\(path, model\): the first argument is the file"):
        cnnkit.load_checkpoint(model, str(path))
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        cnnkit.load_checkpoint(path, "m.pt")
    assert cnnkit.load_checkpoint(path, nn.Linear(4, 3)) == {}


def test_fit_names_a_validation_set_as_such(capsys):
    x, y = blobs()
    history = fit(nn.Linear(4, 3), (x, y), val_data=(x, y), epochs=2, progress=False, patience=1)
    out = capsys.readouterr().out
    assert history.val_acc[0] is not None and history.test_acc == [None] * len(history)
    assert "val acc" in out and "test acc" not in out
    assert "val acc" in repr(history) and "test acc" not in repr(history)


def test_fit_with_validation_and_test_sets_watches_validation(capsys):
    x, y = blobs()
    val_y = y.clone()
    val_y[:30] = (val_y[:30] + 1) % 3  # the validation accuracy cannot keep improving
    history = fit(nn.Linear(4, 3), (x, y), (x, y), val_data=(x, val_y), epochs=6, progress=False, patience=1)
    out = capsys.readouterr().out
    assert all(v is not None for v in history.val_acc) and all(t is not None for t in history.test_acc)
    assert "val acc" in out and "test acc" in out
    if history.stopped_early:
        assert "validation accuracy has not improved" in out


def test_early_stopping_on_a_test_set_says_test():
    x, y = blobs()
    history = fit(nn.Linear(4, 3), (x, y), (x, y), epochs=2, progress=False, verbose=False, patience=1)
    assert history.test_acc[0] is not None and history.val_acc == [None] * len(history)
