"""Tests for cnnkit.data: bundled MNIST, full MNIST (offline), the generated shapes, stratified splits."""

import gzip
import hashlib
import shutil
import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import cnnkit
from cnnkit import data as cdata
from cnnkit.data import (
    MNIST_SUBSET_SHA256,
    SHAPE_CLASSES,
    DataUnavailableError,
    TensorImages,
    data_dir,
    load_mnist,
    load_shapes,
    make_shapes,
    stratified_split,
)

REPO_DATA = Path(cnnkit.__file__).resolve().parent.parent / "data"
MNIST_RAW_FILES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """The tests decide the mode and the data folder themselves, whatever the shell has set."""
    for name in ("CNNKIT_FULL", "CNNKIT_DATA", "CNNKIT_DOWNLOAD_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fresh_mnist_cache():
    cdata._mnist_subset_arrays.cache_clear()
    yield
    cdata._mnist_subset_arrays.cache_clear()


def row_hashes(images: torch.Tensor) -> list:
    return [hashlib.sha1(row.tobytes()).hexdigest() for row in images.reshape(len(images), -1).numpy()]


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    """Write uint8 data in MNIST's IDX format (big-endian; magic 2051 for images, 2049 for labels)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = {3: 2051, 1: 2049}[array.ndim]
    blob = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()
    if compress:
        blob = gzip.compress(blob)
    path.write_bytes(blob)


@pytest.fixture
def fake_mnist_parts():
    rng = np.random.default_rng(5)
    train_images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    train_images[0, 0, 0], train_images[0, 0, 1] = 0, 255
    test_images = rng.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    return {
        "train-images-idx3-ubyte": train_images,
        "train-labels-idx1-ubyte": np.array([3, 1, 4, 1, 5, 9], dtype=np.uint8),
        "t10k-images-idx3-ubyte": test_images,
        "t10k-labels-idx1-ubyte": np.array([2, 7, 1, 8], dtype=np.uint8),
    }


# ----------------------------------------------------------------------------------------------------------------
# data_dir and the bundled (quick-mode) MNIST


def test_data_dir_defaults_to_repo_data_and_follows_env(monkeypatch, tmp_path):
    assert data_dir() == REPO_DATA
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    assert data_dir() == tmp_path


def test_bundled_file_has_the_recorded_checksum():
    assert hashlib.sha256((REPO_DATA / "mnist_5k.csv.gz").read_bytes()).hexdigest() == MNIST_SUBSET_SHA256


def test_load_mnist_quick_sizes_shapes_dtypes_and_range():
    train, test = load_mnist(), load_mnist(train=False)
    (x_train, y_train), (x_test, y_test) = train.tensors, test.tensors
    assert len(train) == 4000 and len(test) == 1000
    assert x_train.shape == (4000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == torch.float32 and x_test.dtype == torch.float32
    assert y_train.dtype == torch.int64 and y_test.dtype == torch.int64
    for x in (x_train, x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        # pixels were divided by 255: every value is a whole number of 1/255 steps
        assert torch.allclose(x * 255, (x * 255).round(), atol=1e-3)
        assert 0.05 < x.mean() < 0.25  # dark background, light strokes: real digits, not noise
    assert torch.bincount(y_train, minlength=10).tolist() == [400] * 10
    assert torch.bincount(y_test, minlength=10).tolist() == [100] * 10
    assert train.classes == [str(d) for d in range(10)] == test.classes


def test_load_mnist_train_and_test_are_disjoint():
    train_hashes = set(row_hashes(load_mnist().tensors[0]))
    test_hashes = row_hashes(load_mnist(train=False).tensors[0])
    assert len(set(test_hashes)) == 1000
    assert train_hashes.isdisjoint(test_hashes)


def test_load_mnist_is_deterministic_and_returns_independent_copies():
    first = load_mnist()
    first.tensors[0][0] += 1  # a learner scribbling on their copy ...
    first.tensors[1][0] = 99
    second, third = load_mnist(), load_mnist()
    assert torch.equal(second.tensors[0], third.tensors[0])
    assert torch.equal(second.tensors[1], third.tensors[1])
    assert second.tensors[0].max() == 1.0 and second.tensors[1].max() == 9  # ... does not change the next load
    assert torch.equal(load_mnist(train=False).tensors[0], load_mnist(train=False).tensors[0])


def test_load_mnist_train_must_be_bool():
    with pytest.raises(TypeError, match="train"):
        load_mnist(train="test")
    with pytest.raises(TypeError, match="train"):
        load_mnist(1)


def test_missing_bundled_file_raises_actionable_error(monkeypatch, tmp_path, fresh_mnist_cache):
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError) as info:
        load_mnist()
    message = str(info.value)
    assert "mnist_5k.csv.gz" in message and str(tmp_path) in message
    assert "git checkout -- data/" in message and "CNNKIT_DATA" in message


@pytest.mark.parametrize("content", ["garbage", "truncated", "other digits"])
def test_damaged_bundled_file_raises_actionable_error(monkeypatch, tmp_path, fresh_mnist_cache, content):
    real = (REPO_DATA / "mnist_5k.csv.gz").read_bytes()
    blob = {
        "garbage": b"\x00\x01 not a csv at all",
        "truncated": real[: len(real) // 2],
        "other digits": gzip.compress(b"0,0,0,1\n" * 20),
    }[content]
    (tmp_path / "mnist_5k.csv.gz").write_bytes(blob)
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError, match="damaged") as info:
        load_mnist(train=False)
    assert "git checkout -- data/" in str(info.value)


def test_isinstance_data_unavailable_error_is_runtime_error():
    assert issubclass(DataUnavailableError, RuntimeError)


# ----------------------------------------------------------------------------------------------------------------
# full MNIST, offline


def assert_missing_message(message: str, folder: Path):
    assert str(folder / "MNIST" / "raw") in message
    for name in MNIST_RAW_FILES:
        assert name in message
    assert "quick mode" in message


def test_full_mode_download_failure_is_reported_quickly(monkeypatch, tmp_path, capsys):
    # The real torchvision download runs; its mirrors are pointed at a reserved name that never resolves
    # (RFC 2606), so the download fails the same way with or without internet access.
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", ["http://mnist-mirror.invalid/", "https://mnist-mirror-2.invalid/"])
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    timeout_before = socket.getdefaulttimeout()
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError) as info:
        load_mnist(full=True)
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"an offline download should fail fast, took {elapsed:.1f} s"
    assert_missing_message(str(info.value), tmp_path)
    assert "download failed" in str(info.value)
    assert info.value.__cause__ is None
    assert "downloading" in capsys.readouterr().out
    assert socket.getdefaulttimeout() == timeout_before  # the global socket timeout is put back


def test_full_mode_without_download_fails_immediately(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError, match="download=False") as info:
        load_mnist(train=False, full=True, download=False)
    assert time.perf_counter() - start < 1.0
    assert_missing_message(str(info.value), tmp_path)


@pytest.fixture
def hanging_download(monkeypatch):
    """Replace torchvision: the files are missing, and downloading hangs for 30 s (or until released)."""
    release = threading.Event()
    calls = []

    def fake_torchvision_dataset(name, root, train, download):
        calls.append(download)
        if not download:
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        release.wait(30)
        raise RuntimeError("too late")

    monkeypatch.setattr(cdata, "_torchvision_dataset", fake_torchvision_dataset)
    yield calls
    release.set()


def test_full_mode_hanging_download_gives_up_after_timeout(monkeypatch, tmp_path, hanging_download):
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError, match="within 1 s") as info:
        load_mnist(full=True, timeout=1)
    elapsed = time.perf_counter() - start
    assert 0.9 < elapsed < 5, f"gave up after {elapsed:.2f} s"
    assert hanging_download == [False, True]
    assert_missing_message(str(info.value), tmp_path)


def test_full_mode_timeout_from_environment(monkeypatch, tmp_path, hanging_download):
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    monkeypatch.setenv("CNNKIT_DOWNLOAD_TIMEOUT", "0.5")
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError, match="within 0.5 s"):
        load_mnist(full=True)
    assert time.perf_counter() - start < 4


@pytest.mark.parametrize("timeout", [0, -1.5])
def test_full_mode_bad_timeout_raises(monkeypatch, tmp_path, hanging_download, timeout):
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="timeout"):
        load_mnist(full=True, timeout=timeout)


def test_full_mode_reads_raw_mnist_files(monkeypatch, tmp_path, fake_mnist_parts):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, array in fake_mnist_parts.items():
        write_idx(raw / name, array)
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))

    train = load_mnist(full=True, download=False)
    x, y = train.tensors
    assert x.shape == (6, 1, 28, 28) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and y.tolist() == [3, 1, 4, 1, 5, 9]
    expected = torch.from_numpy(fake_mnist_parts["train-images-idx3-ubyte"]).float().unsqueeze(1) / 255
    assert torch.allclose(x, expected)
    assert x[0, 0, 0, 0] == 0.0 and x[0, 0, 0, 1] == 1.0
    assert train.classes == [str(d) for d in range(10)]

    monkeypatch.setenv("CNNKIT_FULL", "1")  # the environment switch works the same way
    test = load_mnist(train=False)
    assert test.tensors[1].tolist() == [2, 7, 1, 8]
    expected = torch.from_numpy(fake_mnist_parts["t10k-images-idx3-ubyte"]).float().unsqueeze(1) / 255
    assert torch.allclose(test.tensors[0], expected)


def test_full_mode_never_falls_back_to_the_quick_subset(monkeypatch, tmp_path, fresh_mnist_cache):
    shutil.copy(REPO_DATA / "mnist_5k.csv.gz", tmp_path / "mnist_5k.csv.gz")
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    assert len(load_mnist(full=False)) == 4000  # the folder does hold the quick subset ...
    with pytest.raises(DataUnavailableError):  # ... but full mode refuses to hand it out
        load_mnist(full=True, download=False)
    monkeypatch.setenv("CNNKIT_FULL", "1")
    with pytest.raises(DataUnavailableError):
        load_mnist(download=False)


def test_full_mode_loads_the_gz_files_the_error_message_asks_for(monkeypatch, tmp_path, fake_mnist_parts):
    """Follow the error message literally: put the four files it names into the folder it names, run again."""
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError) as info:
        load_mnist(full=True, download=False)
    message = str(info.value)
    raw = tmp_path / "MNIST" / "raw"
    assert str(raw) in message
    raw.mkdir(parents=True)
    for name, array in fake_mnist_parts.items():
        assert name in message
        if f"{name}.gz" in message:  # the message asks for the compressed files ...
            write_idx(raw / f"{name}.gz", array, compress=True)
        else:  # ... or, should it ever ask for the plain ones, give those
            write_idx(raw / name, array)
    train = load_mnist(full=True, download=False)
    assert train.tensors[1].tolist() == [3, 1, 4, 1, 5, 9]


# ----------------------------------------------------------------------------------------------------------------
# make_shapes / load_shapes


def test_make_shapes_shape_range_and_balance():
    ds = make_shapes(50, seed=3)
    x, y = ds.tensors
    assert x.shape == (50, 3, 32, 32) and x.dtype == torch.float32
    assert y.dtype == torch.int64
    assert x.min() >= 0 and x.max() <= 1
    assert x.std() > 0.1  # real pictures, not a constant
    assert torch.bincount(y, minlength=10).tolist() == [5] * 10
    assert ds.classes == SHAPE_CLASSES and len(SHAPE_CLASSES) == 10
    counts = torch.bincount(make_shapes(23).tensors[1], minlength=10)
    assert counts.sum() == 23 and counts.max() - counts.min() <= 1


def test_make_shapes_is_deterministic_per_seed():
    a, b, c = make_shapes(40, seed=1), make_shapes(40, seed=1), make_shapes(40, seed=2)
    assert torch.equal(a.tensors[0], b.tensors[0]) and torch.equal(a.tensors[1], b.tensors[1])
    assert not torch.equal(a.tensors[0], c.tensors[0])
    assert not torch.equal(a.tensors[1], c.tensors[1])


def test_make_shapes_other_size_and_noise():
    x = make_shapes(10, size=48).tensors[0]
    assert x.shape == (10, 3, 48, 48)
    # the noise is drawn last, so the same seed gives the same pictures plus pixel noise of about that size
    clean = make_shapes(20, noise=0.0).tensors[0]
    light, heavy = make_shapes(20, noise=0.1).tensors[0], make_shapes(20, noise=0.3).tensors[0]
    assert 0.08 < (light - clean).std() < 0.105
    assert 0.2 < (heavy - clean).std() < 0.3  # a little less than 0.3: values are clipped to [0, 1]


def test_make_shapes_hard_is_the_same_classes_with_less_contrast_and_more_noise():
    easy, hard = make_shapes(400, seed=2), make_shapes(400, seed=2, hard=True)
    assert torch.equal(easy.tensors[1], hard.tensors[1])  # the same labels, other pictures
    assert hard.tensors[0].shape == easy.tensors[0].shape and hard.classes == easy.classes
    assert 0 <= hard.tensors[0].min() and hard.tensors[0].max() <= 1

    def roughness(x):  # mean absolute difference between horizontal neighbours
        return (x[..., 1:] - x[..., :-1]).abs().mean().item()

    assert roughness(hard.tensors[0]) > 1.2 * roughness(easy.tensors[0])
    with pytest.raises(TypeError, match="hard must be True or False"):
        make_shapes(10, hard="yes")
    with pytest.raises(TypeError, match="hard must be True or False"):
        load_shapes(hard=1)


def test_make_shapes_colour_does_not_give_the_class_away():
    x, y = make_shapes(2000, seed=4).tensors
    mean_colour = x.mean(dim=(2, 3))  # N×3
    per_class = torch.stack([mean_colour[y == c].mean(0) for c in range(10)])
    assert (per_class.max(0).values - per_class.min(0).values).max() < 0.08


@pytest.mark.parametrize("bad_n", [0, -5, 2.5, True, "10", None])
def test_make_shapes_bad_n_raises(bad_n):
    with pytest.raises(ValueError, match="n must be"):
        make_shapes(bad_n)


@pytest.mark.parametrize("bad_size", [15, 0, 32.0, True, "32"])
def test_make_shapes_bad_size_raises(bad_size):
    with pytest.raises(ValueError, match="size"):
        make_shapes(10, size=bad_size)


def test_make_shapes_is_fast():
    start = time.perf_counter()
    ds = make_shapes(6000, seed=9)
    elapsed = time.perf_counter() - start
    print(f"make_shapes(6000): {elapsed:.2f} s")
    assert len(ds) == 6000
    assert elapsed < 3, f"generating 6000 images took {elapsed:.2f} s"


def test_load_shapes_quick_sizes_and_separate_streams():
    train, test = load_shapes(), load_shapes(train=False)
    assert train.tensors[0].shape == (5000, 3, 32, 32)
    assert test.tensors[0].shape == (1000, 3, 32, 32)
    assert train.classes == SHAPE_CLASSES == test.classes
    assert torch.bincount(train.tensors[1], minlength=10).tolist() == [500] * 10
    assert set(row_hashes(train.tensors[0])).isdisjoint(row_hashes(test.tensors[0]))
    again = load_shapes()
    assert torch.equal(again.tensors[0], train.tensors[0])
    train.tensors[0].zero_()  # changing a loaded copy does not change the next one
    assert torch.equal(load_shapes().tensors[0], again.tensors[0])


def test_load_shapes_sizes_and_seeds_requested(monkeypatch):
    calls = []

    def fake_cached(n, seed, hard):
        calls.append((n, seed) + (("hard",) if hard else ()))
        return make_shapes(10, seed=seed)

    monkeypatch.setattr(cdata, "_shapes_cached", fake_cached)
    load_shapes(full=True)
    load_shapes(train=False, full=True)
    load_shapes(full=False, seed=3)
    load_shapes(train=False, full=False, seed=3)
    monkeypatch.setenv("CNNKIT_FULL", "1")
    load_shapes(train=False)
    load_shapes(train=False, full=False, hard=True)
    assert calls == [(50_000, 0), (10_000, 1), (5_000, 6), (1_000, 7), (10_000, 1), (1_000, 1, "hard")]


def test_load_shapes_train_must_be_bool():
    with pytest.raises(TypeError, match="train"):
        load_shapes(train=None)


# ----------------------------------------------------------------------------------------------------------------
# stratified_split


def test_stratified_split_keeps_class_proportions():
    labels = torch.tensor([0] * 100 + [1] * 50 + [2] * 30)[
        torch.randperm(180, generator=torch.Generator().manual_seed(0))
    ]
    parts = stratified_split(labels, (0.6, 0.2, 0.2), seed=1)
    counts = [torch.bincount(labels[p], minlength=3).tolist() for p in parts]
    assert counts == [[60, 30, 18], [20, 10, 6], [20, 10, 6]]
    everything = torch.cat(parts)
    assert sorted(everything.tolist()) == list(range(180))  # disjoint and covering
    for p in parts:
        assert p.dtype == torch.int64
        assert torch.equal(p, torch.sort(p).values)


def test_stratified_split_is_deterministic_per_seed():
    labels = np.repeat(np.arange(4), 25)
    a = stratified_split(labels, [0.8, 0.2], seed=0)
    b = stratified_split(list(labels), [0.8, 0.2], seed=0)
    c = stratified_split(labels, [0.8, 0.2], seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[1], c[1])
    assert [len(p) for p in a] == [80, 20]


@pytest.mark.parametrize("fractions", [(0.5, 0.4), (0.7, 0.4), (1.2, -0.2), (1.0, 0.0), (), (0.5, float("nan"))])
def test_stratified_split_bad_fractions_raise(fractions):
    with pytest.raises(ValueError, match="fractions"):
        stratified_split(torch.arange(10) % 2, fractions)


@pytest.mark.parametrize("labels", [torch.zeros(0, dtype=torch.long), torch.zeros(3, 4, dtype=torch.long)])
def test_stratified_split_bad_labels_raise(labels):
    with pytest.raises(ValueError, match="labels"):
        stratified_split(labels, (0.5, 0.5))


# ----------------------------------------------------------------------------------------------------------------
# bundled photos and digits on a canvas


@pytest.mark.parametrize("name, shape", [("chelsea", (3, 150, 225)), ("camera", (1, 256, 256))])
def test_load_photo_shapes_range_and_checksum(name, shape):
    photo = cdata.load_photo(name)
    assert tuple(photo.shape) == shape and photo.dtype == torch.float32
    assert 0 <= photo.min() < 0.2 and 0.8 < photo.max() <= 1
    filename, sha256 = cdata.PHOTOS[name]
    assert hashlib.sha256((REPO_DATA / filename).read_bytes()).hexdigest() == sha256


def test_load_photo_gray_and_resize():
    gray = cdata.load_photo("chelsea", gray=True, size=50)
    assert tuple(gray.shape) == (1, 50, 75)
    colour = cdata.load_photo("chelsea", size=50)
    assert torch.allclose(gray[0], (colour * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0), atol=0.02)


def test_load_photo_bad_name_and_damaged_file(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="chelsea"):
        cdata.load_photo("dog")
    with pytest.raises(ValueError, match="size must be at least 8"):
        cdata.load_photo("camera", size=2)
    (tmp_path / "camera.png").write_bytes(b"not a png")
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError, match="damaged"):
        cdata.load_photo("camera")
    with pytest.raises(DataUnavailableError, match="missing"):
        cdata.load_photo("chelsea")


def test_scatter_on_canvas_moves_each_digit_intact():
    digits = load_mnist(train=False)
    scattered = cdata.scatter_on_canvas(digits, canvas_size=56, seed=3)
    images, labels = scattered.tensors
    assert tuple(images.shape) == (1000, 1, 56, 56) and torch.equal(labels, digits.tensors[1])
    assert scattered.classes == digits.classes
    assert torch.allclose(images.sum(dim=(1, 2, 3)), digits.tensors[0].sum(dim=(1, 2, 3)))
    rows = (images[:, 0].sum(2) > 0).float().argmax(1)
    assert rows.min() < 5 and rows.max() > 20  # digits land all over the canvas
    again = cdata.scatter_on_canvas(digits, canvas_size=56, seed=3)
    assert torch.equal(again.tensors[0], images)


def test_scatter_on_canvas_bad_input():
    with pytest.raises(TypeError, match="TensorDataset"):
        cdata.scatter_on_canvas([1, 2, 3])
    with pytest.raises(ValueError, match="canvas_size must be at least 28"):
        cdata.scatter_on_canvas(load_mnist(train=False), canvas_size=20)


# ----------------------------------------------------------------------------------------------------------------
# Fashion-MNIST and CIFAR-10 (full mode only), offline


@pytest.mark.parametrize("loader, folder", [(cdata.load_fashion_mnist, "FashionMNIST/raw"), (cdata.load_cifar10, "")])
def test_full_datasets_without_download_say_what_to_put_where(monkeypatch, tmp_path, loader, folder):
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError, match="download=False") as info:
        loader(train=False, download=False)
    assert time.perf_counter() - start < 1.0
    message = str(info.value)
    assert str(tmp_path / folder) in message and "quick mode" in message
    assert ("t10k-images-idx3-ubyte.gz" if folder else "cifar-10-python.tar.gz") in message


def test_cifar10_offline_download_fails_fast(monkeypatch, tmp_path):
    from torchvision.datasets import CIFAR10

    monkeypatch.setattr(CIFAR10, "url", "http://cifar-mirror.invalid/cifar-10-python.tar.gz")
    monkeypatch.setenv("CNNKIT_DATA", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError, match="download failed"):
        cdata.load_cifar10()
    assert time.perf_counter() - start < 10


def test_cifar10_layout_and_load_colour_switches_with_the_mode(monkeypatch):
    class FakeCifar:
        data = np.arange(2 * 32 * 32 * 3, dtype=np.uint8).reshape(2, 32, 32, 3)
        targets = [3, 7]

    monkeypatch.setattr(cdata, "_torchvision_dataset", lambda name, root, train, download: FakeCifar())
    full = cdata.load_colour(full=True)
    x, y = full.tensors
    assert x.shape == (2, 3, 32, 32) and y.tolist() == [3, 7] and full.classes == cdata.CIFAR10_CLASSES
    assert x[0, :, 0, 0].tolist() == pytest.approx([0, 1 / 255, 2 / 255])  # channels moved first, scaled to [0, 1]
    quick = cdata.load_colour(full=False)
    assert len(quick) == 5000 and quick.classes == SHAPE_CLASSES


def test_load_mnist_quick_order_is_mixed_so_slices_hold_every_class():
    for train in (True, False):
        labels = load_mnist(train=train).tensors[1]
        assert len(set(labels[:100].tolist())) == 10
        assert torch.bincount(labels[:500], minlength=10).min() >= 25


# --------------------------------------------------------------------------------------
# TensorImages: lesson 08's Dataset with a per-image transform


def test_tensor_images_serves_pairs_and_transforms_each_read():
    images, labels = torch.rand(6, 3, 8, 8), torch.arange(6)
    plain = TensorImages(images, labels)
    assert len(plain) == 6
    image, label = plain[4]
    assert torch.equal(image, images[4]) and label == 4

    calls = []

    def jitter(x):
        calls.append(x.shape)
        return x + torch.rand(())

    jittered = TensorImages(images, labels, transform=jitter)
    first, second = jittered[2][0], jittered[2][0]
    assert calls == [(3, 8, 8), (3, 8, 8)]  # one image at a time
    assert not torch.equal(first, second)  # a random transform gives a new version on every read
    assert torch.equal(images[2], plain[2][0])  # the stored images are never changed


def test_tensor_images_trains_with_fit_through_the_transform():
    seen = []
    images, labels = torch.rand(40, 1, 4, 4), torch.arange(40) % 2
    data = TensorImages(images, labels, transform=lambda x: seen.append(1) or x)
    cnnkit.fit(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2)), data, epochs=2, batch_size=8,
               progress=False, verbose=False)  # fmt: skip
    assert len(seen) >= 2 * 40  # every image, every epoch


@pytest.mark.parametrize(
    "images, labels, transform, error, message",
    [
        (torch.rand(3, 1, 2, 2), torch.arange(4), None, ValueError, "3 images and 4 labels"),
        (np.zeros((3, 1, 2, 2)), torch.arange(3), None, TypeError, "torch.as_tensor"),
        (torch.rand(3, 1, 2, 2), torch.arange(3), "flip", TypeError, "transform must be a function"),
    ],
)
def test_tensor_images_bad_input(images, labels, transform, error, message):
    with pytest.raises(error, match=message):
        TensorImages(images, labels, transform)
