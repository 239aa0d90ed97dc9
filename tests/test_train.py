"""Tests for cnnkit.train: fit, evaluate, predict and History, on tiny problems (plus the LeNet promise)."""

import copy
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset, TensorDataset

import cnnkit
from cnnkit.data import load_mnist
from cnnkit.train import History, evaluate, fit, predict

FIELDS = {"epoch", "train_loss", "train_acc", "val_acc", "test_acc", "seconds"}


def blobs(n=120, seed=0):
    """Three well separated Gaussian blobs in 4-D: a linear model can learn them."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centers = torch.tensor([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]])
    x = centers[y] + 0.5 * torch.randn(n, 4, generator=generator)
    return x, y


class PairDataset(Dataset):
    """A plain map-style Dataset (no tensors attribute), as a learner would write one."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return self.x[index], self.y[index]


class FixedPredictions(nn.Module):
    """Predicts class ``preds[i]`` for the input row ``[i]``: an exactly known classifier."""

    def __init__(self, preds, num_classes=3):
        super().__init__()
        self.register_buffer("preds", torch.as_tensor(preds))
        self.num_classes = num_classes
        self.seen_training_flags = []

    def forward(self, x):
        self.seen_training_flags.append(self.training)
        return F.one_hot(self.preds[x[:, 0].long()], self.num_classes).float()


def quiet_fit(model, train, test=None, **kwargs):
    kwargs.setdefault("epochs", 2)
    return fit(model, train, test, progress=False, verbose=False, **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# fit: history and learning


def test_fit_returns_one_record_per_epoch_with_all_fields():
    x, y = blobs()
    torch.manual_seed(0)
    history = quiet_fit(nn.Linear(4, 3), (x, y), (x, y), epochs=3, batch_size=16)
    assert isinstance(history, History)
    assert len(history) == 3 and not history.interrupted
    assert history.epoch == [1, 2, 3]
    for record in history.records:
        assert set(record) == FIELDS
        assert record["train_loss"] > 0 and 0 <= record["train_acc"] <= 1 and 0 <= record["test_acc"] <= 1
        assert record["seconds"] > 0
    assert history[0] == history.records[0] and history[-1]["epoch"] == 3
    assert history.train_loss == [r["train_loss"] for r in history.records]
    with pytest.raises(AttributeError):
        history.validation_loss  # noqa: B018


def test_fit_without_test_data_records_none_and_repr_shows_a_table():
    x, y = blobs()
    history = quiet_fit(nn.Linear(4, 3), (x, y), epochs=2)
    assert history.test_acc == [None, None]
    text = repr(history)
    assert "train loss" in text and len(text.splitlines()) == 3
    assert f"{history.train_loss[1]:.4f}" in text


def test_fit_loss_decreases_and_the_model_learns():
    x, y = blobs()
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    before = evaluate(model, (x, y))
    history = quiet_fit(model, (x, y), epochs=6, batch_size=16, lr=0.05)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert evaluate(model, (x, y)) > 0.95 > before


@pytest.mark.parametrize(("wrong", "expected_acc"), [(0, 1.0), (30, 0.75), (120, 0.0)])
def test_fit_train_accuracy_is_the_fraction_right_on_the_training_batches(wrong, expected_acc):
    y = torch.arange(120) % 3
    preds = y.clone()
    preds[:wrong] = (preds[:wrong] + 1) % 3
    model = FixedPredictions(preds)  # fixed answers; its only parameter is one the loss ignores
    model.dummy = nn.Parameter(torch.zeros(1))

    def loss_fn(out, target):
        return F.cross_entropy(out, target) + 0 * model.dummy.sum()

    inputs = torch.arange(120).float().unsqueeze(1)
    optimizer = torch.optim.SGD([model.dummy], lr=0.1)
    history = quiet_fit(model, (inputs, y), epochs=2, batch_size=7, optimizer=optimizer, loss_fn=loss_fn)
    assert history.train_acc == [expected_acc, expected_acc]


@pytest.mark.parametrize("form", ["TensorDataset", "tuple", "Dataset"])
def test_fit_accepts_three_kinds_of_data_and_learns(form):
    x, y = blobs()
    x_test, y_test = blobs(60, seed=1)
    wrap = {
        "TensorDataset": lambda a, b: TensorDataset(a, b),
        "tuple": lambda a, b: (a, b),
        "Dataset": lambda a, b: PairDataset(a, b),
    }[form]
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    history = quiet_fit(model, wrap(x, y), wrap(x_test, y_test), epochs=5, batch_size=16, lr=0.05)
    assert history.test_acc[-1] > 0.9
    assert history.test_acc[-1] == evaluate(model, (x_test, y_test))


def test_fit_tensor_dataset_and_tuple_train_identically():
    x, y = blobs()
    histories, weights = [], []
    for data in (TensorDataset(x, y), (x, y), [x, y]):
        torch.manual_seed(0)
        model = nn.Linear(4, 3)
        histories.append(quiet_fit(model, data, epochs=2, batch_size=16).train_loss)
        weights.append(model.weight.detach().clone())
    assert histories[0] == histories[1] == histories[2]
    assert torch.equal(weights[0], weights[1]) and torch.equal(weights[0], weights[2])


def test_fit_is_reproducible_with_a_seed_and_varies_without():
    x, y = blobs()
    results = []
    for seed in (3, 3, 4):
        torch.manual_seed(0)
        model = nn.Linear(4, 3)
        quiet_fit(model, (x, y), epochs=1, batch_size=8, seed=seed)
        results.append(model.weight.detach().clone())
    assert torch.equal(results[0], results[1])
    assert not torch.equal(results[0], results[2])


def test_fit_verbose_and_progress_output(capsys, monkeypatch):
    monkeypatch.setenv("CNNKIT_PROGRESS", "1")  # the test suite switches bars off for stored lesson outputs
    x, y = blobs(40)
    fit(nn.Linear(4, 3), (x, y), (x, y), epochs=2, progress=False, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2") and "test acc" in lines[1]
    fit(nn.Linear(4, 3), (x, y), epochs=1, progress=True, verbose=False)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "training" in captured.err  # the tqdm bar
    monkeypatch.setenv("CNNKIT_PROGRESS", "0")
    fit(nn.Linear(4, 3), (x, y), epochs=1, progress=True, verbose=False)
    assert capsys.readouterr().err == ""  # CNNKIT_PROGRESS=0: no bar anywhere


def test_fit_leaves_the_model_in_eval_mode():
    x, y = blobs(30)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    quiet_fit(model, (x, y), epochs=1, device="cpu")
    assert not model.training and not model[1].training


# ----------------------------------------------------------------------------------------------------------------
# fit: the stop button


class InterruptOnCall(nn.Module):
    """Raises KeyboardInterrupt (the notebook's stop button) on the ``stop_at``-th training forward pass."""

    def __init__(self, stop_at, epoch_start):
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.stop_at, self.epoch_start = stop_at, epoch_start
        self.calls = 0
        self.at_epoch_start = self.at_interrupt = None

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls == self.epoch_start:
                self.at_epoch_start = copy.deepcopy(self.state_dict())
            if self.calls == self.stop_at:
                self.at_interrupt = copy.deepcopy(self.state_dict())
                raise KeyboardInterrupt
        return self.linear(x)


def test_fit_interrupted_keeps_weights_and_history(capsys):
    x, y = blobs(40)
    torch.manual_seed(0)
    model = InterruptOnCall(stop_at=7, epoch_start=5)  # 4 batches per epoch: the 3rd batch of epoch 2
    initial = copy.deepcopy(model.state_dict())
    history = fit(model, (x, y), (x, y), epochs=3, batch_size=10, progress=False, verbose=False)
    assert history.interrupted is True
    assert len(history) == 1 and history.epoch == [1]
    assert "(interrupted)" in repr(history)
    assert "interrupted after 1 finished epoch(s) of 3" in capsys.readouterr().out
    assert not model.training
    final = model.state_dict()
    for name in final:
        assert torch.equal(final[name], model.at_interrupt[name])  # the weights of the moment of interruption
        assert not torch.equal(final[name], initial[name])  # not reset to the start ...
        assert not torch.equal(final[name], model.at_epoch_start[name])  # ... nor to the last finished epoch


def test_fit_interrupted_in_the_first_epoch_returns_empty_history():
    x, y = blobs(40)
    model = InterruptOnCall(stop_at=2, epoch_start=1)
    history = quiet_fit(model, (x, y), epochs=2, batch_size=10)
    assert history.interrupted and len(history) == 0 and history.train_loss == []


# ----------------------------------------------------------------------------------------------------------------
# fit: bad input


def test_fit_model_must_be_a_module():
    x, y = blobs(20)
    with pytest.raises(TypeError, match="model"):
        quiet_fit(lambda t: t, (x, y))


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"epochs": 0}, ValueError, "epochs"),
        ({"epochs": -2}, ValueError, "epochs"),
        ({"epochs": 1.5}, TypeError, "epochs"),
        ({"epochs": True}, TypeError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": "32"}, TypeError, "batch_size"),
        ({"lr": 0}, ValueError, "lr"),
        ({"lr": -0.1}, ValueError, "lr"),
        ({"lr": "fast"}, TypeError, "lr"),
        ({"optimizer": "adam"}, TypeError, "optimizer"),
        ({"loss_fn": "cross-entropy"}, TypeError, "loss_fn"),
        ({"scheduler": 5}, TypeError, "scheduler"),
    ],
)
def test_fit_bad_arguments_name_the_argument(kwargs, error, name):
    x, y = blobs(20)
    kwargs.setdefault("epochs", 1)
    with pytest.raises(error, match=name):
        fit(nn.Linear(4, 3), (x, y), progress=False, verbose=False, **kwargs)


def test_fit_wrong_channel_count_gives_short_actionable_error():
    x, y = torch.rand(16, 1, 8, 8), torch.arange(16) % 2
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    with pytest.raises(ValueError, match="in_channels") as info:
        quiet_fit(model, (x, y))
    assert "examples of shape (1, 8, 8)" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_fit_wrong_linear_size_mentions_in_features():
    x, y = torch.rand(16, 1, 8, 8), torch.arange(16) % 2
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(ValueError, match="in_features") as info:
        quiet_fit(model, (x, y))
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_fit_unrelated_runtime_error_passes_through_unchanged():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 3)

        def forward(self, x):
            raise RuntimeError("boom")

    model = Broken()
    x, y = blobs(20)
    with pytest.raises(RuntimeError, match="^boom$"):
        quiet_fit(model, (x, y))
    assert not model.training


def test_fit_output_without_flatten_raises():
    x, y = torch.rand(16, 1, 8, 8), torch.arange(16) % 2
    with pytest.raises(ValueError, match="Flatten"):
        quiet_fit(nn.Conv2d(1, 2, 3), (x, y))


def test_fit_labels_out_of_range_raise():
    x, y = blobs(30)
    with pytest.raises(ValueError, match="classes"):
        quiet_fit(nn.Linear(4, 3), (x, y + 3))


def test_fit_label_out_of_range_anywhere_raises_value_error():
    """One bad label that is not in the first (shuffled) batch must be reported the same way."""
    x, y = blobs(200)
    last = int(torch.randperm(200, generator=torch.Generator().manual_seed(0))[-1])  # batch 13 of 13 with seed 0
    y = y.clone()
    y[last] = 3
    with pytest.raises(ValueError, match="classes"):
        quiet_fit(nn.Linear(4, 3), (x, y), epochs=1, batch_size=16, seed=0)


def test_fit_negative_label_raises_value_error():
    x, y = blobs(30)
    y = y.clone()
    y[:] = -1
    with pytest.raises(ValueError):
        quiet_fit(nn.Linear(4, 3), (x, y), epochs=1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fit_float_labels_raise(dtype):
    x, y = blobs(30)
    with pytest.raises(ValueError, match="int64"):
        quiet_fit(nn.Linear(4, 3), (x, y.to(dtype)))
    with pytest.raises(ValueError, match="int64"):
        quiet_fit(nn.Linear(4, 3), PairDataset(x, y.to(dtype).tolist()))


@pytest.mark.parametrize("form", ["TensorDataset", "tuple", "Dataset"])
def test_fit_empty_data_raises(form):
    x, y = torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)
    data = {"TensorDataset": TensorDataset(x, y), "tuple": (x, y), "Dataset": PairDataset(x, y)}[form]
    with pytest.raises(ValueError, match="train_data is empty"):
        quiet_fit(nn.Linear(4, 3), data)


def test_fit_bad_data_containers():
    x, y = blobs(20)
    with pytest.raises(TypeError, match="train_data"):
        quiet_fit(nn.Linear(4, 3), x.numpy())
    with pytest.raises(TypeError, match="train_data"):
        quiet_fit(nn.Linear(4, 3), (x, y, y))
    with pytest.raises(ValueError, match="differ in length"):
        quiet_fit(nn.Linear(4, 3), (x, y[:-1]))


# ----------------------------------------------------------------------------------------------------------------
# fit: the user's optimizer, scheduler and loss


def test_fit_uses_the_given_optimizer_without_changing_its_lr():
    x, y = blobs(40)
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    before = model.weight.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    quiet_fit(model, (x, y), epochs=2, batch_size=16, optimizer=optimizer, lr=-1)  # lr is ignored
    assert optimizer.param_groups[0]["lr"] == 0.1
    assert all("momentum_buffer" in optimizer.state[p] for p in model.parameters())
    assert not torch.equal(model.weight, before)


def test_fit_steps_the_scheduler_once_per_batch():
    x, y = blobs(40)
    model = nn.Linear(4, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    quiet_fit(model, (x, y), epochs=2, batch_size=16, optimizer=optimizer, scheduler=scheduler)  # 3 batches/epoch
    assert scheduler.last_epoch == 6
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**6)


def test_fit_steps_a_duck_typed_scheduler_once_per_batch():
    class Counter:
        steps = 0

        def step(self):
            self.steps += 1

    x, y = blobs(50)
    model = nn.Linear(4, 3)
    counter = Counter()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    quiet_fit(model, PairDataset(x, y), epochs=3, batch_size=8, optimizer=optimizer, scheduler=counter)
    assert counter.steps == 3 * 7


def test_fit_uses_the_given_loss_function():
    calls = []

    def loss_fn(out, target):
        calls.append(len(target))
        return F.cross_entropy(out, target)

    x, y = blobs(50)
    quiet_fit(nn.Linear(4, 3), (x, y), epochs=2, batch_size=20, loss_fn=loss_fn)
    assert calls == [20, 20, 10] * 2


# ----------------------------------------------------------------------------------------------------------------
# evaluate and predict


def test_evaluate_returns_the_exact_accuracy():
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    preds = torch.tensor([0, 1, 2, 1, 1, 0, 0, 2])  # 5 of 8 right
    inputs = torch.arange(8).float().unsqueeze(1)
    model = FixedPredictions(preds)
    assert evaluate(model, (inputs, y), batch_size=3) == 0.625
    assert evaluate(model, TensorDataset(inputs, y), batch_size=8) == 0.625
    assert evaluate(model, PairDataset(inputs, y), batch_size=5) == 0.625
    assert evaluate(FixedPredictions(y), (inputs, y)) == 1.0
    assert evaluate(FixedPredictions((y + 1) % 3), (inputs, y)) == 0.0
    assert isinstance(evaluate(model, (inputs, y)), float)


def test_predict_returns_the_predicted_classes():
    preds = torch.tensor([2, 0, 1, 1, 0, 2, 2])
    inputs = torch.arange(7).float().unsqueeze(1)
    model = FixedPredictions(preds)
    model.train()
    for data in (inputs, (inputs, torch.zeros(7, dtype=torch.long)), PairDataset(inputs, [0] * 7)):
        out = predict(model, data, batch_size=2)
        assert out.shape == (7,) and out.dtype == torch.int64 and out.device.type == "cpu"
        assert torch.equal(out, preds)
    assert model.seen_training_flags and not any(model.seen_training_flags)  # predicted in eval mode
    assert model.training  # and the mode is put back


def test_predict_and_evaluate_bad_input():
    model = FixedPredictions([0, 1])
    inputs = torch.arange(2).float().unsqueeze(1)
    with pytest.raises(TypeError, match="model"):
        predict("model", inputs)
    with pytest.raises(TypeError, match="model"):
        evaluate(None, (inputs, torch.tensor([0, 1])))
    with pytest.raises(ValueError, match="batch_size"):
        predict(model, inputs, batch_size=0)
    with pytest.raises(TypeError, match="data"):
        evaluate(model, [[0.0], [1.0]])
    with pytest.raises(ValueError, match="empty"):
        evaluate(model, (torch.zeros(0, 1), torch.zeros(0, dtype=torch.long)))


# ----------------------------------------------------------------------------------------------------------------
# the course's promise: LeNet-5 on the bundled digits


def test_lenet_reaches_97_percent_on_bundled_mnist_in_15_seconds():
    train, test = load_mnist(), load_mnist(train=False)
    cnnkit.seed_everything(0)
    model = cnnkit.models.lenet5()
    start = time.perf_counter()
    history = fit(model, train, test, epochs=5, progress=False)
    elapsed = time.perf_counter() - start
    print(f"LeNet-5, 5 epochs on the bundled MNIST: test accuracy {history.test_acc[-1]:.4f} in {elapsed:.1f} s")
    assert history.test_acc[-1] >= 0.97
    assert elapsed <= 15, f"training took {elapsed:.1f} s"


def test_history_append_keeps_only_the_known_fields():
    history = History()
    history.append(epoch=1, train_loss=0.5, unknown=3)
    assert history.records == [
        {"epoch": 1, "train_loss": 0.5, "train_acc": None, "val_acc": None, "test_acc": None, "seconds": None}
    ]
    assert history.seconds == [None] and not history.interrupted
    assert len(History()) == 0 and repr(History()).startswith("epoch")


class ViewsFeatureMaps(nn.Module):
    """A model written the way many tutorials do: .view() on the conv output."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4 * 8 * 8, 2)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return self.head(h.view(h.size(0), -1))


def test_fit_on_cpu_trains_conv_nets_channels_last_and_hands_them_back_contiguous():
    torch.manual_seed(0)
    x, y = torch.rand(64, 1, 8, 8), torch.arange(64) % 2
    x[y == 1, :, :4] += 1.0  # a learnable difference
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 2))
    history = quiet_fit(model, (x, y), (x, y), epochs=5)
    assert history.train_loss[-1] < history.train_loss[0]
    assert model[0].weight.is_contiguous()  # the usual layout again after training
    assert x.is_contiguous()  # the caller's data is untouched


def test_fit_keeps_the_usual_layout_for_a_model_that_views_feature_maps():
    torch.manual_seed(0)
    x, y = torch.rand(64, 1, 8, 8), torch.arange(64) % 2
    x[y == 1, :, :4] += 1.0
    model = ViewsFeatureMaps()
    with pytest.raises(RuntimeError, match="view size"):  # what channels-last would do to it
        model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    model.to(memory_format=torch.contiguous_format)
    history = quiet_fit(model, (x, y), (x, y), epochs=20)
    assert len(history) == 20 and history.test_acc[-1] > 0.9
    assert model.conv.weight.is_contiguous()


# ----------------------------------------------------------------------------------------------------------------
# early stopping and per-epoch checkpoints


class ScriptedAccuracy(nn.Module):
    """A model whose test accuracy follows a script, one value per epoch; its weight records the epoch."""

    def __init__(self, accuracies, n=20):
        super().__init__()
        self.accuracies, self.n = list(accuracies), n
        self.epoch = nn.Parameter(torch.zeros(()))
        self.evaluations = 0

    def forward(self, x):
        if not self.training and len(x) == self.n:  # the test set: right for the scripted fraction
            acc = self.accuracies[min(self.evaluations, len(self.accuracies) - 1)]
            self.evaluations += 1
            right = int(round(acc * self.n))
            preds = torch.cat([x[:right, 1].long(), (x[right:, 1].long() + 1) % 2])
            return F.one_hot(preds, 2).float() + 0 * self.epoch
        return torch.zeros(len(x), 2) + self.epoch  # training: a loss that depends on the parameter


def scripted_data(n=20):
    x = torch.stack([torch.arange(n).float(), (torch.arange(n) % 2).float()], 1)
    return x, (torch.arange(n) % 2)


def test_patience_stops_after_no_improvement_and_restores_the_best_weights(capsys):
    accs = [0.5, 0.7, 0.6, 0.65, 0.6, 0.9, 0.95]
    model = ScriptedAccuracy(accs)
    x, y = scripted_data()

    class Snap(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})
            self.steps = 0

        def step(self, closure=None):
            self.steps += 1
            with torch.no_grad():
                model.epoch.fill_(self.steps)  # one batch per epoch: the weight is the epoch number

    train = (x[:8], y[:8])
    history = fit(
        model, train, (x, y), epochs=7, batch_size=8, optimizer=Snap(model.parameters()), patience=2, progress=False
    )
    assert len(history) == 4 and history.stopped_early and history.best_epoch == 2
    assert history.test_acc == pytest.approx(accs[:4])
    assert model.epoch.item() == 2  # the weights of epoch 2 were restored
    assert "early stop" in capsys.readouterr().out


def test_patience_not_triggered_keeps_the_last_weights_and_flags_nothing():
    x, y = blobs()
    model = nn.Linear(4, 3)
    history = quiet_fit(model, (x, y), (x, y), epochs=3, patience=5)
    assert len(history) == 3 and not history.stopped_early and history.best_epoch is not None


def test_patience_needs_a_second_dataset_and_a_positive_whole_number():
    x, y = blobs()
    with pytest.raises(ValueError, match="pass a validation set"):
        quiet_fit(nn.Linear(4, 3), (x, y), None, patience=2)
    with pytest.raises(ValueError, match="patience must be at least 1"):
        quiet_fit(nn.Linear(4, 3), (x, y), (x, y), patience=0)


def test_checkpoint_is_written_every_epoch_and_resumes(tmp_path):
    x, y = blobs()
    model = nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    path = tmp_path / "run" / "model.pt"
    history = quiet_fit(model, (x, y), (x, y), epochs=3, optimizer=opt, checkpoint=path)
    fresh = nn.Linear(4, 3)
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    extra = cnnkit.load_checkpoint(path, fresh, fresh_opt)
    assert extra["epoch"] == 3 and [r["epoch"] for r in extra["history"]] == [1, 2, 3]
    assert extra["history"][-1]["test_acc"] == history[-1]["test_acc"]
    assert torch.equal(fresh.weight, model.weight)
    assert fresh_opt.state_dict()["state"], "the optimizer's momentum buffers were saved too"


class StoppableNet(nn.Module):
    """A small net with dropout (so the random state matters) that can raise KeyboardInterrupt
    on its ``stop_at``-th training forward pass, like the stop button in the middle of an epoch."""

    def __init__(self, stop_at=None):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        self.stop_at, self.calls = stop_at, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls == self.stop_at:
                raise KeyboardInterrupt
        return self.body(x)


def test_checkpoint_survives_an_interrupt_with_the_finished_epochs(tmp_path):
    x, y = blobs()
    path = tmp_path / "model.pt"
    model = StoppableNet(stop_at=2 * 4 + 1)  # 120 samples / batch 32 = 4 batches per epoch: stop in epoch 3
    history = quiet_fit(model, (x, y), (x, y), epochs=5, checkpoint=path)
    assert history.interrupted and len(history) == 2
    assert cnnkit.load_checkpoint(path, StoppableNet())["epoch"] == 2


@pytest.mark.parametrize("patience", [None, 2])
def test_resume_after_an_interrupt_equals_the_uninterrupted_run(tmp_path, patience, capsys):
    x, y = blobs(seed=3)
    settings = {"epochs": 6, "batch_size": 16, "lr": 0.05, "patience": patience}  # the default AdamW + one-cycle

    torch.manual_seed(0)
    straight = StoppableNet()
    expected = quiet_fit(straight, (x, y), (x, y), **settings)

    path = tmp_path / "run.pt"
    torch.manual_seed(0)
    interrupted = quiet_fit(StoppableNet(stop_at=2 * 8 + 3), (x, y), (x, y), checkpoint=path, resume=True, **settings)
    assert interrupted.interrupted and len(interrupted) == 2  # 120 samples / 16 = 8 batches per epoch
    assert "resume=True" in capsys.readouterr().out  # the interrupt message says how to continue

    torch.manual_seed(123)  # a new session: other initial weights, other random state
    resumed_model = StoppableNet()
    resumed = quiet_fit(resumed_model, (x, y), (x, y), checkpoint=path, resume=True, **settings)
    assert not resumed.interrupted
    assert resumed.records[:2] == interrupted.records  # the saved epochs come back in the history
    assert resumed.train_loss == expected.train_loss and resumed.test_acc == expected.test_acc
    assert (resumed.best_epoch, resumed.stopped_early) == (expected.best_epoch, expected.stopped_early)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed_model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name

    # Running the call once more finds the run finished: no training, the same weights.
    again_model = StoppableNet()
    again = quiet_fit(again_model, (x, y), (x, y), checkpoint=path, resume=True, **settings)
    assert [r["epoch"] for r in again.records] == [r["epoch"] for r in expected.records]
    for (name, a), (_, b) in zip(straight.state_dict().items(), again_model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_resume_after_early_stopping_keeps_the_best_weights(tmp_path):
    x, y = blobs()
    path = tmp_path / "run.pt"
    torch.manual_seed(0)
    model = StoppableNet()
    history = quiet_fit(model, (x, y), (x, y), epochs=30, lr=0.05, patience=1, checkpoint=path)
    assert history.stopped_early and history.best_epoch < len(history)
    fresh = StoppableNet()
    again = quiet_fit(fresh, (x, y), (x, y), epochs=30, lr=0.05, patience=1, checkpoint=path, resume=True)
    assert len(again) == len(history) and again.stopped_early and again.best_epoch == history.best_epoch
    assert torch.equal(fresh.body[0].weight, model.body[0].weight)  # the best epoch's, not the last epoch's


def test_resume_refuses_a_different_run_with_a_clear_message(tmp_path):
    x, y = blobs()
    path = tmp_path / "run.pt"
    quiet_fit(nn.Linear(4, 3), (x, y), epochs=3, batch_size=16, checkpoint=path)
    with pytest.raises(ValueError, match="epochs = 3, but this call has epochs = 4"):
        quiet_fit(nn.Linear(4, 3), (x, y), epochs=4, batch_size=16, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match="batch_size = 16, but this call has batch_size = 32"):
        quiet_fit(nn.Linear(4, 3), (x, y), epochs=3, batch_size=32, checkpoint=path, resume=True)
    with pytest.raises(ValueError, match="the training data's size = 120, but this call has the training data's"):
        quiet_fit(nn.Linear(4, 3), (x[:60], y[:60]), epochs=3, batch_size=16, checkpoint=path, resume=True)
    with pytest.raises(cnnkit.CheckpointError, match="does not fit this model"):
        quiet_fit(nn.Linear(4, 5), (x, y), epochs=3, batch_size=16, checkpoint=path, resume=True)
    plain = cnnkit.save_checkpoint(tmp_path / "plain.pt", nn.Linear(4, 3))
    with pytest.raises(cnnkit.CheckpointError, match=r"not written by fit\(checkpoint=...\)"):
        quiet_fit(nn.Linear(4, 3), (x, y), checkpoint=plain, resume=True)
    with pytest.raises(ValueError, match="pass the file too"):
        quiet_fit(nn.Linear(4, 3), (x, y), resume=True)
    with pytest.raises(TypeError, match="resume must be True or False"):
        quiet_fit(nn.Linear(4, 3), (x, y), checkpoint=path, resume="yes")


def test_checkpoint_bad_paths(tmp_path):
    x, y = blobs()
    with pytest.raises(ValueError, match="is a folder"):
        quiet_fit(nn.Linear(4, 3), (x, y), checkpoint=tmp_path)
    with pytest.raises(TypeError, match="file path"):
        quiet_fit(nn.Linear(4, 3), (x, y), checkpoint=3)


def test_fit_keeps_a_frozen_batch_norm_in_eval_mode_and_its_statistics_unchanged():
    torch.manual_seed(0)
    body = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    body(torch.randn(32, 1, 8, 8))  # running statistics of other data (a "pretraining")
    for p in body.parameters():
        p.requires_grad = False
    model = nn.Sequential(body, nn.Linear(4, 3))
    mean, var = body[1].running_mean.clone(), body[1].running_var.clone()
    tracked = body[1].num_batches_tracked.item()
    x, y = 5 + 3 * torch.randn(48, 1, 8, 8), torch.randint(0, 3, (48,))  # data with other statistics
    cnnkit.fit(model, (x, y), epochs=2, batch_size=16, progress=False, verbose=False)
    assert torch.equal(body[1].running_mean, mean) and torch.equal(body[1].running_var, var)
    assert body[1].num_batches_tracked.item() == tracked


def test_train_mode_trains_batch_norm_that_learns_and_batch_norm_without_weights():
    model = nn.Sequential(nn.BatchNorm1d(3), nn.BatchNorm1d(3, affine=False), nn.BatchNorm1d(3), nn.Dropout())
    for p in model[2].parameters():
        p.requires_grad = False
    model.eval()
    assert cnnkit.train_mode(model) is model
    assert [m.training for m in model] == [True, True, False, True]
    assert model.training
