"""Tests for cnnkit.utils: seeding, the quick/full switch, device choice, setup and safe checkpoints."""

import os
import random

import numpy as np
import pytest
import torch
from torch import nn

import cnnkit
from cnnkit import utils
from cnnkit.train import fit
from cnnkit.utils import (
    CheckpointError,
    full_mode,
    get_device,
    load_checkpoint,
    save_checkpoint,
    seed_everything,
    setup,
)


@pytest.fixture(autouse=True)
def no_mode_in_env(monkeypatch):
    monkeypatch.delenv("CNNKIT_FULL", raising=False)


@pytest.fixture
def cpu_only(monkeypatch):
    """Pretend this is a machine with neither CUDA nor MPS, whatever it really has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(utils, "_mps_available", lambda: False)


# ----------------------------------------------------------------------------------------------------------------
# seed_everything


def test_seed_everything_makes_torch_numpy_and_python_repeat():
    assert seed_everything(7) == 7
    first = (torch.rand(5), np.random.rand(5), [random.random() for _ in range(5)])
    seed_everything(7)
    second = (torch.rand(5), np.random.rand(5), [random.random() for _ in range(5)])
    assert torch.equal(first[0], second[0])
    assert np.array_equal(first[1], second[1])
    assert first[2] == second[2]
    seed_everything(8)
    assert not torch.equal(torch.rand(5), first[0])


def test_seed_everything_default_and_large_seed():
    assert seed_everything() == 0
    a = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(a, torch.rand(3))
    assert seed_everything(2**40) == 2**40  # numpy only takes 32 bits: cnnkit folds it


@pytest.mark.parametrize("bad", [-1, 1.5, True, "0", None])
def test_seed_everything_bad_seed(bad):
    with pytest.raises(ValueError, match="seed"):
        seed_everything(bad)


# ----------------------------------------------------------------------------------------------------------------
# full_mode


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("True", True),
        (" YES ", True),
        ("on", True),
        ("full", True),
        ("0", False),
        ("", False),
        ("false", False),
        ("no", False),
        ("off", False),
        ("quick", False),
    ],
)
def test_full_mode_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("CNNKIT_FULL", value)
    assert full_mode() is expected


def test_full_mode_unset_is_quick():
    assert full_mode() is False


@pytest.mark.parametrize("value", ["garbage", "2", "maybe", "tru"])
def test_full_mode_garbage_in_environment_raises(monkeypatch, value):
    monkeypatch.setenv("CNNKIT_FULL", value)
    with pytest.raises(ValueError, match="CNNKIT_FULL"):
        full_mode()


def test_full_mode_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv("CNNKIT_FULL", "1")
    assert full_mode(False) is False
    monkeypatch.setenv("CNNKIT_FULL", "0")
    assert full_mode(True) is True
    monkeypatch.setenv("CNNKIT_FULL", "garbage")
    assert full_mode(True) is True


@pytest.mark.parametrize("bad", [1, 0, "yes", "true"])
def test_full_mode_argument_must_be_bool(bad):
    with pytest.raises(TypeError, match="full"):
        full_mode(bad)


# ----------------------------------------------------------------------------------------------------------------
# get_device


def test_get_device_on_this_machine():
    device = get_device()
    assert isinstance(device, torch.device)
    if not torch.cuda.is_available() and not utils._mps_available():
        assert device == torch.device("cpu")
    assert get_device("cpu") == torch.device("cpu")


def test_get_device_falls_back_to_cpu(cpu_only):
    assert get_device() == torch.device("cpu")
    assert get_device(prefer="cpu") == torch.device("cpu")
    assert get_device(prefer=torch.device("cpu")) == torch.device("cpu")


def test_get_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(utils, "_mps_available", lambda: True)
    assert get_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_device() == torch.device("mps")
    assert get_device("mps") == torch.device("mps")


@pytest.mark.parametrize("prefer", ["cuda", "cuda:0", "mps"])
def test_get_device_unavailable_preference_raises(cpu_only, prefer):
    with pytest.raises(ValueError, match="not available"):
        get_device(prefer=prefer)


@pytest.mark.parametrize("prefer", ["nonsense", "gpu", "CPU0"])
def test_get_device_nonsense_preference_raises(prefer):
    with pytest.raises(ValueError, match="prefer"):
        get_device(prefer=prefer)


# ----------------------------------------------------------------------------------------------------------------
# setup


def test_setup_prints_one_line_and_returns_device_and_mode(capsys, cpu_only):
    device, full = setup(seed=3)
    assert device == torch.device("cpu") and full is False
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert f"torch {torch.__version__}" in line and "device cpu" in line and "seed 3" in line
    assert "quick" in line and "CNNKIT_FULL=1" in line
    a = torch.rand(4)
    torch.manual_seed(3)
    assert torch.equal(a, torch.rand(4))  # setup seeded torch


def test_setup_full_mode_from_argument_and_environment(capsys, monkeypatch):
    assert setup(full=True)[1] is True
    assert "mode full" in capsys.readouterr().out
    monkeypatch.setenv("CNNKIT_FULL", "1")
    assert setup()[1] is True
    assert setup(full=False)[1] is False


def test_setup_threads(capsys):
    before = torch.get_num_threads()
    try:
        setup(threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            setup(threads=bad)
    with pytest.raises(ValueError, match="seed"):
        setup(seed=-3)


# ----------------------------------------------------------------------------------------------------------------
# checkpoints


def small_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))


def trained_optimizer(model):
    """An Adam optimizer with real state (a few steps taken)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.rand(4, 1, 6, 6)).sum().backward()
        optimizer.step()
    return optimizer


def test_checkpoint_round_trip_model_optimizer_and_extra(tmp_path):
    model = small_model(0)
    optimizer = trained_optimizer(model)
    path = save_checkpoint(tmp_path / "sub" / "ckpt.pt", model, optimizer, epoch=5, note="best", losses=[0.9, 0.5])
    assert path == tmp_path / "sub" / "ckpt.pt" and path.is_file()

    other = small_model(1)
    other_optimizer = torch.optim.Adam(other.parameters(), lr=0.5)
    assert not torch.equal(other[0].weight, model[0].weight)
    extra = load_checkpoint(path, other, other_optimizer)
    assert extra == {"epoch": 5, "note": "best", "losses": [0.9, 0.5]}
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert other_optimizer.param_groups[0]["lr"] == 0.01
    saved, loaded = optimizer.state_dict()["state"], other_optimizer.state_dict()["state"]
    assert saved.keys() == loaded.keys()
    for key in saved:
        assert torch.equal(saved[key]["exp_avg"], loaded[key]["exp_avg"])
        assert torch.equal(saved[key]["step"], loaded[key]["step"])


def test_checkpoint_without_optimizer(tmp_path):
    model = small_model(0)
    path = save_checkpoint(str(tmp_path / "m.pt"), model)  # a str path works too
    other = small_model(2)
    assert load_checkpoint(path, other) == {}
    assert torch.equal(other[3].weight, model[3].weight)
    with pytest.raises(CheckpointError, match="no optimizer state"):
        load_checkpoint(path, other, torch.optim.SGD(other.parameters(), lr=0.1))


def test_checkpoint_round_trip_of_a_learning_rate_schedule(tmp_path):
    model = small_model(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=20)
    for _ in range(7):
        optimizer.step()
        scheduler.step()
    path = save_checkpoint(tmp_path / "run.pt", model, optimizer, scheduler=scheduler)

    other = small_model(1)
    other_optimizer = torch.optim.AdamW(other.parameters(), lr=0.1)
    other_scheduler = torch.optim.lr_scheduler.OneCycleLR(other_optimizer, max_lr=0.1, total_steps=20)
    load_checkpoint(path, other, other_optimizer, scheduler=other_scheduler)
    assert other_scheduler.last_epoch == 7 and other_scheduler.get_last_lr() == scheduler.get_last_lr()
    optimizer.step(), scheduler.step(), other_optimizer.step(), other_scheduler.step()
    assert other_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]  # the schedule goes on alike
    with pytest.raises(CheckpointError, match="no learning-rate scheduler state"):
        load_checkpoint(save_checkpoint(tmp_path / "plain.pt", model), other, scheduler=other_scheduler)


def test_checkpoint_file_is_plain_and_safe_to_load(tmp_path):
    model = small_model(0)
    path = save_checkpoint(tmp_path / "ckpt.pt", model, trained_optimizer(model), epoch=2)
    state = torch.load(path, weights_only=True)
    assert set(state) == {"model", "optimizer", "extra"}
    assert state["extra"] == {"epoch": 2}
    assert torch.equal(state["model"]["0.weight"], model[0].weight)


def save_then_load_extra(tmp_path, name, value):
    """Save ``value`` as an extra; return what loads back, or None when saving refused it up front."""
    try:
        path = save_checkpoint(tmp_path / "ckpt.pt", small_model(0), epoch=1, **{name: value})
    except (TypeError, ValueError) as exc:  # refusing at save time, naming the value, is a fine answer too
        assert name in str(exc)
        assert os.listdir(tmp_path) == []
        return None
    extra = load_checkpoint(path, small_model(1))  # but never: saved fine, then "damaged" on loading
    assert extra["epoch"] == 1
    return extra[name]


def test_checkpoint_with_history_from_fit_round_trips(tmp_path):
    """The docstring suggests saving the history: what save_checkpoint accepts, load_checkpoint must read."""
    x, y = torch.rand(12, 1, 6, 6), torch.arange(12) % 3
    history = fit(small_model(0), (x, y), epochs=1, progress=False, verbose=False)
    loaded = save_then_load_extra(tmp_path, "history", history)
    if loaded is not None:
        assert len(loaded) == 1


def test_checkpoint_with_numpy_number_round_trips(tmp_path):
    loaded = save_then_load_extra(tmp_path, "best_acc", np.mean([0.5, 1.0]))
    if loaded is not None:
        assert loaded == 0.75


def test_checkpoint_save_leaves_no_temporary_files(tmp_path):
    model = small_model(0)
    for _ in range(3):  # overwriting works and leaves nothing behind either
        save_checkpoint(tmp_path / "ckpt.pt", model, epoch=1)
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_checkpoint_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    old_model = small_model(0)
    save_checkpoint(path, old_model, epoch=1)
    old_bytes = path.read_bytes()

    def save_half_then_interrupt(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", save_half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, small_model(1), epoch=2)

    assert os.listdir(tmp_path) == ["ckpt.pt"]  # no temporary file left
    assert path.read_bytes() == old_bytes
    restored = small_model(3)
    assert load_checkpoint(path, restored) == {"epoch": 1}
    assert torch.equal(restored[0].weight, old_model[0].weight)


def test_checkpoint_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    def broken_save(obj, f, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "ckpt.pt", small_model(0))
    assert os.listdir(tmp_path) == []


def test_save_checkpoint_model_must_be_a_module(tmp_path):
    with pytest.raises(TypeError, match="model"):
        save_checkpoint(tmp_path / "x.pt", small_model().state_dict())
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("damage", ["random bytes", "truncated", "empty"])
def test_load_checkpoint_damaged_file(tmp_path, damage):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, small_model(0), epoch=1)
    good = path.read_bytes()
    blob = {
        "random bytes": np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes(),
        "truncated": good[: len(good) // 2],
        "empty": b"",
    }[damage]
    path.write_bytes(blob)
    with pytest.raises(CheckpointError, match="damaged") as info:
        load_checkpoint(path, small_model(1))
    assert str(path) in str(info.value)
    assert info.value.__cause__ is None


def test_load_checkpoint_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint") as info:
        load_checkpoint(tmp_path / "nothing.pt", small_model())
    assert "nothing.pt" in str(info.value)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path, small_model())  # a folder is not a checkpoint


def test_load_checkpoint_of_another_architecture(tmp_path):
    path = save_checkpoint(tmp_path / "ckpt.pt", small_model(0))
    wider = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    with pytest.raises(CheckpointError, match="architecture") as info:
        load_checkpoint(path, wider)
    assert info.value.__cause__ is None
    with pytest.raises(CheckpointError, match="architecture"):
        load_checkpoint(path, cnnkit.models.lenet5())


def test_load_checkpoint_refuses_a_pickled_whole_model(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(small_model(0), path)  # the unsafe habit: pickling the model object itself
    with pytest.raises(CheckpointError):
        load_checkpoint(path, small_model(1))


class Payload:
    """An object whose unpickling runs code: it creates a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_load_checkpoint_never_runs_code_from_the_file(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"model": small_model(0).state_dict(), "extra": {"x": Payload(marker)}}, path)
    assert not marker.exists()
    with pytest.raises(CheckpointError):
        load_checkpoint(path, small_model(1))
    assert not marker.exists()


def test_load_checkpoint_refuses_other_plain_files(tmp_path):
    plain = tmp_path / "state.pt"
    torch.save(small_model(0).state_dict(), plain)  # a bare state_dict, not a save_checkpoint file
    with pytest.raises(CheckpointError, match="save_checkpoint"):
        load_checkpoint(plain, small_model(1))
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(CheckpointError, match="save_checkpoint"):
        load_checkpoint(tensor, small_model(1))


def test_package_exports_what_it_promises():
    for name in cnnkit.__all__:
        assert hasattr(cnnkit, name), name
    assert cnnkit.fit is fit and cnnkit.load_checkpoint is load_checkpoint and cnnkit.setup is setup
    assert issubclass(CheckpointError, RuntimeError)


def test_evaluating_switches_to_eval_without_gradients_and_restores_the_mode():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Dropout(0.5))
    model.train()
    with cnnkit.evaluating(model) as same:
        assert same is model and not model.training and not torch.is_grad_enabled()
        assert not model(torch.ones(1, 3)).requires_grad
    assert model.training and torch.is_grad_enabled()
    model.eval()
    with pytest.raises(RuntimeError, match="boom"), cnnkit.evaluating(model):
        raise RuntimeError("boom")
    assert not model.training  # an eval-mode model stays in eval mode, even after an error


def test_model_device_reads_the_parameters_and_defaults_to_the_cpu():
    assert cnnkit.model_device(torch.nn.Linear(2, 2)) == torch.device("cpu")
    assert cnnkit.model_device(torch.nn.ReLU()) == torch.device("cpu")  # no parameters at all
    assert cnnkit.model_device(torch.nn.Linear(2, 2).to("meta")) == torch.device("meta")
