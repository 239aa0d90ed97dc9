"""The course's datasets: real MNIST digits shipped with the repo, full MNIST on request,
and a generated colour dataset of shapes.

Quick mode never touches the network. Full mode downloads with a deadline and, when
the download fails, stops with a message that says where to put the files; it never
hangs and never silently swaps one dataset for another.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import math
import os
import socket
import threading
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from ._validate import check_int
from .utils import full_mode

__all__ = [
    "DataUnavailableError",
    "MNIST_SUBSET_SHA256",
    "SHAPE_CLASSES",
    "HARD_SHAPES",
    "TensorImages",
    "data_dir",
    "PHOTOS",
    "CIFAR10_CLASSES",
    "FASHION_CLASSES",
    "load_cifar10",
    "load_colour",
    "load_fashion_mnist",
    "load_mnist",
    "load_photo",
    "load_shapes",
    "make_shapes",
    "scatter_on_canvas",
    "stratified_split",
]

DATA_ENV = "CNNKIT_DATA"
TIMEOUT_ENV = "CNNKIT_DOWNLOAD_TIMEOUT"
MNIST_SUBSET = "mnist_5k.csv.gz"
MNIST_SUBSET_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
MNIST_TEST_PER_CLASS = 100  # of the 500 digits per class, 100 are held out for testing
MNIST_CLASSES = [str(d) for d in range(10)]
MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


# Photos bundled in data/ (from scikit-image's sample data, CC0; see data/README.md).
PHOTOS = {
    "chelsea": ("chelsea.png", "d08cc6234564a8f0e32a7523581439714c6b82fd0772df66febca5e97b227ebd"),
    "camera": ("camera.png", "75e9b7723f3b6bf6a8050e94f2e686086e759fc0796b80e73bc3a9a42b76566b"),
}


class DataUnavailableError(RuntimeError):
    """The data asked for is not on disk and could not be fetched."""


def data_dir() -> Path:
    """The folder holding the course's data: ``data/`` in the repo, or ``$CNNKIT_DATA``."""
    override = os.environ.get(DATA_ENV)
    return Path(override) if override else Path(__file__).resolve().parent.parent / "data"


def _with_classes(dataset: TensorDataset, classes) -> TensorDataset:
    dataset.classes = list(classes)
    return dataset


class TensorImages(Dataset):
    """Images and labels held in tensors; ``transform`` (if given) is applied to each image as it is read.

    This is the ``Dataset`` that lesson 08 writes by hand: with a random ``transform``
    (augmentation) every epoch sees new versions of the images. ``cnnkit.fit`` reads it
    through a ``DataLoader``, so the transform runs per image, on the fly.
    """

    def __init__(self, images, labels, transform=None):
        if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
            raise TypeError(
                f"images and labels must be tensors, got {type(images).__name__} and {type(labels).__name__}; "
                "convert them with torch.as_tensor(...)."
            )
        if len(images) != len(labels):
            raise ValueError(
                f"images and labels must pair up, but there are {len(images)} images and {len(labels)} labels."
            )
        if transform is not None and not callable(transform):
            raise TypeError(
                f"transform must be a function of one image (such as a torchvision v2.Compose) or None, "
                f"got {type(transform).__name__}."
            )
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[index]


def stratified_split(labels, fractions, seed: int = 0):
    """Split indices so that every part keeps the class proportions of ``labels``.

    ``fractions`` is a sequence summing to 1, e.g. ``(0.7, 0.15, 0.15)``. Returns one
    sorted index tensor per part; the same ``seed`` always gives the same split.
    """
    labels = torch.as_tensor(labels)
    if labels.ndim != 1 or labels.numel() == 0:
        raise ValueError(f"labels must be a non-empty 1-D sequence of class ids, got shape {tuple(labels.shape)}.")
    try:
        fractions = [float(f) for f in fractions]
    except (TypeError, ValueError):
        raise ValueError(f"fractions must be a sequence of numbers, like (0.8, 0.2), got {fractions!r}.") from None
    if not fractions or not all(math.isfinite(f) and f > 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions must be positive and sum to 1, got {fractions}.")
    generator = torch.Generator().manual_seed(seed)
    parts = [[] for _ in fractions]
    bounds = np.cumsum(fractions)
    for cls in torch.unique(labels):
        idx = torch.nonzero(labels == cls).flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        cuts = [0, *[round(b * len(idx)) for b in bounds]]
        for p in range(len(fractions)):
            parts[p].append(idx[cuts[p] : cuts[p + 1]])
    return [torch.sort(torch.cat(p)).values for p in parts]


def _verified_bundle(path: Path, sha256: str, what: str) -> bytes:
    """The bytes of a file that ships in ``data/``, after checking it is there and intact."""
    if not path.is_file():
        raise DataUnavailableError(
            f"the bundled {what} {path.name} is missing from {path.parent}. It ships with the course: "
            "restore it with `git checkout -- data/`, or set CNNKIT_DATA to the folder that holds it."
        )
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    if digest != sha256:
        raise DataUnavailableError(
            f"{path} is damaged or not the expected file (sha256 {digest[:12]}…, expected "
            f"{sha256[:12]}…). Restore it with `git checkout -- data/`."
        )
    return content


@functools.lru_cache(maxsize=1)
def _mnist_subset_arrays(path_str: str):
    path = Path(path_str)
    _verified_bundle(path, MNIST_SUBSET_SHA256, "MNIST subset")
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    images = torch.from_numpy(table[:, :-1].reshape(-1, 1, 28, 28).copy())
    labels = torch.from_numpy(table[:, -1].astype(np.int64))
    test_fraction = MNIST_TEST_PER_CLASS / 500
    train_idx, test_idx = stratified_split(labels, (1 - test_fraction, test_fraction), seed=0)
    # The file lists the digits class by class; shuffle each part once (always the same way), so
    # that images[:16] shows a mix of digits and any slice has roughly every class.
    generator = torch.Generator().manual_seed(0)
    train_idx = train_idx[torch.randperm(len(train_idx), generator=generator)]
    test_idx = test_idx[torch.randperm(len(test_idx), generator=generator)]
    return images, labels, train_idx, test_idx


def load_mnist(
    train: bool = True, full: bool | None = None, *, download: bool = True, timeout: float | None = None
) -> TensorDataset:
    """Handwritten digits as a ``TensorDataset`` of (N×1×28×28 float32 in [0, 1], int64 labels).

    Quick mode (the default): real MNIST digits bundled in ``data/`` — 4,000 for training
    and 1,000 for testing, 10% of each class held out the same way every time, in a fixed
    shuffled order (so a slice such as ``images[:500]`` holds every class).
    Full mode (``full=True`` or ``CNNKIT_FULL=1``): the 60,000/10,000 torchvision MNIST in
    ``data/MNIST``, downloaded when missing (give up after ``timeout`` seconds).
    """
    _check_train(train)
    if full_mode(full):
        images, labels = _load_full("MNIST", train, download=download, timeout=timeout)
    else:
        images, labels, train_idx, test_idx = _mnist_subset_arrays(str(data_dir() / MNIST_SUBSET))
        idx = train_idx if train else test_idx
        images, labels = images[idx], labels[idx]
    return _with_classes(TensorDataset(images.float().div_(255), labels.clone()), MNIST_CLASSES)


def _download_timeout(timeout: float | None) -> float:
    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_ENV, "30"))
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    return timeout


def _run_with_deadline(fn, timeout: float):
    """Run ``fn`` in a worker thread; raise TimeoutError if it is not done within ``timeout`` s."""
    outcome = {}

    def work():
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(min(timeout, 10.0))  # no single connection may stall longer than this
    try:
        worker = threading.Thread(target=work, name="cnnkit-download", daemon=True)
        worker.start()
        worker.join(timeout)
    finally:
        socket.setdefaulttimeout(old)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# The full datasets, through torchvision: folder (under data/), files to fetch by hand, classes.
FASHION_CLASSES = ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_FULL_DATASETS = {
    "MNIST": ("MNIST/raw", [f"{name}.gz" for name in MNIST_FILES], MNIST_CLASSES),
    "FashionMNIST": ("FashionMNIST/raw", [f"{name}.gz" for name in MNIST_FILES], FASHION_CLASSES),
    "CIFAR10": ("", ["cifar-10-python.tar.gz"], CIFAR10_CLASSES),
}


def _check_train(train) -> None:
    if not isinstance(train, bool):
        raise TypeError(f"train must be True (training part) or False (test part), got {train!r}.")


def _torchvision_dataset(name: str, root: Path, train: bool, download: bool):
    from torchvision import datasets

    return getattr(datasets, name)(root=str(root), train=train, download=download)


def _load_full(name: str, train: bool, *, download: bool, timeout: float | None):
    """(images N×C×H×W uint8, labels int64) of a torchvision dataset, downloaded with a deadline."""
    root = data_dir()
    folder = root / _FULL_DATASETS[name][0]
    if name != "CIFAR10":
        try:
            _unpack_archives(folder)
        except (OSError, EOFError) as exc:
            raise DataUnavailableError(_missing_message(name, folder, f"a .gz file there is damaged: {exc}")) from None
    try:
        dataset = _torchvision_dataset(name, root, train, download=False)
    except RuntimeError:
        if not download:
            raise DataUnavailableError(_missing_message(name, folder, "download=False was given")) from None
        limit = _download_timeout(timeout)
        print(f"Full {name} is not in {folder} yet: downloading (giving up after {limit:g} s)…")
        try:
            dataset = _run_with_deadline(lambda: _torchvision_dataset(name, root, train, download=True), limit)
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise DataUnavailableError(_missing_message(name, folder, f"the download failed: {reason}")) from None
    data = dataset.data
    if name == "CIFAR10":  # a NumPy array N×H×W×C
        return torch.from_numpy(np.ascontiguousarray(data)).permute(0, 3, 1, 2).contiguous(), torch.tensor(
            dataset.targets, dtype=torch.long
        )
    return data.unsqueeze(1), dataset.targets.long()


def _unpack_archives(raw: Path) -> None:
    """Unpack ``*.gz`` files put into ``raw`` by hand, which torchvision only reads unpacked."""
    for name in MNIST_FILES:
        packed, plain = raw / f"{name}.gz", raw / name
        if packed.is_file() and not plain.is_file():
            tmp = plain.with_suffix(".part")
            with gzip.open(packed, "rb") as src, open(tmp, "wb") as dst:
                dst.write(src.read())
            tmp.replace(plain)


def _missing_message(name: str, folder: Path, why: str) -> str:
    files = ", ".join(_FULL_DATASETS[name][1])
    quick = "the digits bundled in data/" if "MNIST" in name else "the generated colour shapes"
    return (
        f"Full {name} is not available ({why}). Either put the file(s) {files} into {folder} "
        f"(a browser or another machine can fetch them from the dataset's site or any mirror) and run again, "
        f"or stay in quick mode (full=False, or unset CNNKIT_FULL), which uses {quick}."
    )


def load_fashion_mnist(train: bool = True, *, download: bool = True, timeout: float | None = None) -> TensorDataset:
    """Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 60,000/10,000 grey 28×28 pictures of ten kinds of
    clothing, through torchvision, downloaded into ``data/FashionMNIST`` with a deadline. Full mode only:
    there is no bundled subset (quick mode uses the bundled MNIST digits instead)."""
    _check_train(train)
    images, labels = _load_full("FashionMNIST", train, download=download, timeout=timeout)
    return _with_classes(TensorDataset(images.float().div_(255), labels), FASHION_CLASSES)


def load_cifar10(train: bool = True, *, download: bool = True, timeout: float | None = None) -> TensorDataset:
    """CIFAR-10 (Krizhevsky, 2009): 50,000/10,000 colour 32×32 photos of ten classes, through torchvision,
    downloaded into ``data/`` with a deadline. Full mode only (quick mode uses the generated shapes)."""
    _check_train(train)
    images, labels = _load_full("CIFAR10", train, download=download, timeout=timeout)
    return _with_classes(TensorDataset(images.float().div_(255), labels), CIFAR10_CLASSES)


def load_colour(train: bool = True, full: bool | None = None, **kwargs) -> TensorDataset:
    """The course's colour images: the generated shapes in quick mode, CIFAR-10 in full mode.

    Both are 10 classes of 3×32×32 images in [0, 1], so a network built for one runs on the other.
    """
    return load_cifar10(train, **kwargs) if full_mode(full) else load_shapes(train, full=False)


# --------------------------------------------------------------------------------------
# A generated colour dataset: ten shapes, anywhere in the picture, in any colours.

SHAPE_CLASSES = [
    "disc",
    "ring",
    "square",
    "frame",
    "triangle",
    "plus",
    "h-stripes",
    "v-stripes",
    "half-disc",
    "two-dots",
]


# make_shapes(hard=True): what it changes (HARD_SHAPES says it in words)
_HARD = {"radius": (5, 10), "contrast": (0.35, 0.6), "blotches": 0.15, "patches": 3, "extra_noise": 0.03}
HARD_SHAPES = (
    "shapes of radius 5–10 pixels instead of 6–10, "
    "a foreground only 0.35–0.6 brighter or darker than the background instead of 0.45–0.7, "
    "a blotchy background texture, three distracting patches instead of one, "
    "and pixel noise of 0.13 instead of 0.1"
)


def _shape_masks(label: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Boolean masks of shape ``label`` in coordinates where the shape has radius 1."""
    rho = np.hypot(u, v)
    box = np.maximum(np.abs(u), np.abs(v))
    name = SHAPE_CLASSES[label]
    if name == "disc":
        return rho < 1
    if name == "ring":
        return (rho < 1) & (rho > 0.55)
    if name == "square":
        return box < 0.8
    if name == "frame":
        return (box < 0.85) & (box > 0.5)
    if name == "triangle":
        return (v < 0.55) & (v > -1 + 1.8 * np.abs(u))
    if name == "plus":
        return ((np.abs(u) < 0.3) & (np.abs(v) < 1)) | ((np.abs(v) < 0.3) & (np.abs(u) < 1))
    if name == "h-stripes":
        return (rho < 1) & (np.cos(v * np.pi * 2.5) > 0)
    if name == "v-stripes":
        return (rho < 1) & (np.cos(u * np.pi * 2.5) > 0)
    if name == "half-disc":
        return (rho < 1) & (v > -0.1)
    return np.hypot(np.abs(u) - 0.55, v) < 0.4  # two-dots


def make_shapes(n: int, seed: int = 0, size: int = 32, noise: float = 0.1, hard: bool = False) -> TensorDataset:
    """Generate ``n`` colour images (N×3×size×size float32 in [0, 1]) of ten shapes.

    Each shape has a random position, size, slight rotation, and random colours on a
    shaded background with two distracting patches and pixel noise, so the class is
    only in the *form*: colour and position tell nothing. The same ``seed`` gives the
    same images. Classes are balanced; their names are in ``SHAPE_CLASSES``.

    ``hard=True`` makes a harder variant (the architecture shoot-out's data, on which no
    network reaches the ceiling in a short run; ``HARD_SHAPES`` lists every change): smaller
    shapes, a foreground that stands out less, a blotchy background texture, three
    distracting patches instead of one, and more pixel noise.
    """
    if not isinstance(hard, bool):
        raise TypeError(f"hard must be True or False, got {hard!r}.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}.")
    if isinstance(size, bool) or not isinstance(size, int) or size < 16:
        raise ValueError(f"size must be a whole number >= 16 (pixels), got {size!r}.")
    rng = np.random.default_rng(seed)
    f32 = np.float32
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES))
    scale = size / 32
    radius = rng.uniform(*(_HARD["radius"] if hard else (6, 10)), n).astype(f32) * scale
    cx, cy = (radius + rng.uniform(0, 1, (2, n)).astype(f32) * (size - 2 * radius)).astype(f32)
    angle = rng.uniform(-0.26, 0.26, n).astype(f32)  # at most 15 degrees, so a plus never looks like an x
    ys, xs = np.mgrid[0:size, 0:size].astype(f32) + f32(0.5)
    dx = (xs[None] - cx[:, None, None]) / radius[:, None, None]
    dy = (ys[None] - cy[:, None, None]) / radius[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u, v = dx * cos + dy * sin, dy * cos - dx * sin
    mask = np.zeros((n, size, size), dtype=bool)
    for label in range(len(SHAPE_CLASSES)):
        pick = labels == label
        mask[pick] = _shape_masks(label, u[pick], v[pick])
    # background: a gentle gradient between two colours; foreground: a colour that stands out
    bg0, bg1 = rng.uniform(0, 1, (2, n, 3)).astype(f32)
    direction = rng.uniform(0, 2 * np.pi, n).astype(f32)
    ramp = (np.cos(direction)[:, None, None] * xs + np.sin(direction)[:, None, None] * ys) / size
    ramp = (ramp - ramp.min(axis=(1, 2), keepdims=True))[:, None]
    ramp /= np.maximum(ramp.max(axis=(2, 3), keepdims=True), 1e-6)
    background = bg0[:, :, None, None] * (1 - 0.5 * ramp) + bg1[:, :, None, None] * 0.5 * ramp
    if hard:  # blotches: coarse random colour noise, smoothly interpolated to full size
        coarse = torch.from_numpy(rng.uniform(-_HARD["blotches"], _HARD["blotches"], (n, 3, 5, 5)).astype(f32))
        blotches = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
        background = np.clip(background + blotches.numpy(), 0, 1)
    mean_bg = background.mean(axis=(2, 3))
    shift = rng.uniform(*(_HARD["contrast"] if hard else (0.45, 0.7)), (n, 3)).astype(f32) * np.where(
        mean_bg > 0.5, -1, 1
    ).astype(f32)
    fg = np.clip(mean_bg + shift, 0, 1)
    images = np.where(mask[:, None], fg[:, :, None, None], background)
    rows = np.arange(size)[None, :]
    for _ in range(_HARD["patches"] if hard else 1):  # small patches of random colour, so "any blob" is not a shortcut
        side = rng.integers(2, 5, n)
        px, py = (rng.uniform(0, 1, (2, n)) * (size - side)).astype(int)
        inside = ((rows >= py[:, None]) & (rows < (py + side)[:, None]))[:, :, None] & (
            (rows >= px[:, None]) & (rows < (px + side)[:, None])
        )[:, None, :]
        patch = rng.uniform(0, 1, (n, 3)).astype(f32)
        images = np.where(inside[:, None], patch[:, :, None, None], images)
    images += rng.normal(0, noise + (_HARD["extra_noise"] if hard else 0.0), images.shape).astype(f32)
    np.clip(images, 0, 1, out=images)
    dataset = TensorDataset(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)))
    return _with_classes(dataset, SHAPE_CLASSES)


@functools.lru_cache(maxsize=4)
def _shapes_cached(n: int, seed: int, hard: bool = False) -> TensorDataset:
    return make_shapes(n, seed=seed, hard=hard)


def load_shapes(train: bool = True, full: bool | None = None, seed: int = 0, hard: bool = False) -> TensorDataset:
    """The colour shapes dataset: 5,000 training / 1,000 test images in quick mode,
    50,000 / 10,000 in full mode. Training and test images come from separate random streams.
    ``hard=True``: the harder variant of :func:`make_shapes` (the shoot-out's data)."""
    _check_train(train)
    if not isinstance(hard, bool):
        raise TypeError(f"hard must be True or False, got {hard!r}.")
    n_train, n_test = (50_000, 10_000) if full_mode(full) else (5_000, 1_000)
    cached = _shapes_cached(n_train if train else n_test, seed * 2 + (0 if train else 1), hard)
    images, labels = cached.tensors
    return _with_classes(TensorDataset(images.clone(), labels.clone()), SHAPE_CLASSES)


def load_photo(name: str = "chelsea", *, gray: bool = False, size: int | None = None) -> torch.Tensor:
    """A real photo bundled with the course, as a float32 tensor C×H×W with values in [0, 1].

    ``"chelsea"``: a cat, colour, 150×225. ``"camera"``: a photographer, grey, 256×256.
    ``gray=True`` gives one channel (ITU-R 601 luma); ``size`` resizes so that the
    shorter side has ``size`` pixels (antialiased).
    """
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of: {', '.join(PHOTOS)}.")
    if size is not None:
        size = check_int("size", size, minimum=8)
    from PIL import Image  # matplotlib depends on Pillow, so it is always installed

    filename, sha256 = PHOTOS[name]
    content = _verified_bundle(data_dir() / filename, sha256, "photo")
    image = Image.open(io.BytesIO(content))
    image = image.convert("L" if gray or image.mode == "L" else "RGB")
    if size is not None:
        scale = size / min(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255
    tensor = torch.from_numpy(array.copy())
    return tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1).contiguous()


def scatter_on_canvas(dataset, canvas_size: int = 56, seed: int = 0) -> TensorDataset:
    """Paste each image of ``dataset`` at a random place on a larger blank canvas.

    The digit is the same, only *where* it is changes: the experiment of lesson 01, in
    which a fully connected network has to learn every digit at every position while a
    convolution shares what it learns across positions. Keeps ``.classes``.
    """
    if not isinstance(dataset, TensorDataset) or len(dataset.tensors) != 2:
        raise TypeError(f"dataset must be a TensorDataset of (images, labels), got {type(dataset).__name__}.")
    images, labels = dataset.tensors
    if images.ndim != 4:
        raise ValueError(f"the images must have shape N×C×H×W, got {tuple(images.shape)}.")
    n, c, h, w = images.shape
    canvas_size = check_int("canvas_size", canvas_size, minimum=max(h, w))
    generator = torch.Generator().manual_seed(seed)
    tops = torch.randint(0, canvas_size - h + 1, (n,), generator=generator)
    lefts = torch.randint(0, canvas_size - w + 1, (n,), generator=generator)
    canvas = torch.zeros(n, c, canvas_size, canvas_size, dtype=images.dtype)
    for i in range(n):
        canvas[i, :, tops[i] : tops[i] + h, lefts[i] : lefts[i] + w] = images[i]
    return _with_classes(TensorDataset(canvas, labels.clone()), getattr(dataset, "classes", None) or [])
