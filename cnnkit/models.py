"""Network architectures used across the course."""

from __future__ import annotations

import torch
from torch import nn

from ._validate import check_int
from .structure import Summary, count_parameters, summary  # re-exported: they used to live here

__all__ = [
    "ACTIVATIONS",
    "Inception",
    "Residual",
    "Summary",
    "alexnet",
    "googlenet",
    "lenet5",
    "nin",
    "nin_block",
    "resnet18",
    "summary",
    "count_parameters",
    "vgg11",
    "vgg16",
    "vgg_block",
]

# The one table of activation functions by name (lenet5 takes the three of its history; probes.deep_net all).
ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
}
_LENET_ACTIVATIONS = ("relu", "sigmoid", "tanh")
_POOLS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


def lenet5(
    num_classes: int = 10,
    in_channels: int = 1,
    *,
    activation: str = "relu",
    pool: str = "max",
    input_size: int = 28,
    batch_norm: bool = False,
) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998, "Gradient-based learning applied to document recognition").

    Two 5×5 convolutions (6 and 16 filters), each followed by 2×2 pooling, then dense
    layers of 120, 84 and ``num_classes`` units: 61,706 parameters for 28×28 digits.
    ``activation="sigmoid", pool="avg"`` gives the 1998 flavour; the defaults (ReLU and
    max pooling) are the modern one, which trains much faster. ``batch_norm=True`` adds
    Batch Normalization after each convolution (not in the 1998 design; the architecture
    shoot-out uses it so that every network there has the same normalisation).
    """
    num_classes = check_int("num_classes", num_classes, minimum=1)
    in_channels = check_int("in_channels", in_channels, minimum=1)
    input_size = check_int(
        "input_size",
        input_size,
        minimum=12,
        hint="LeNet-5 needs at least 12×12 pixels to survive two 5×5 convolutions and pooling.",
    )
    if activation not in _LENET_ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_LENET_ACTIVATIONS)}, got {activation!r}.")
    if pool not in _POOLS:
        raise ValueError(f"pool must be one of {sorted(_POOLS)}, got {pool!r}.")
    act, pooling = ACTIVATIONS[activation], _POOLS[pool]
    side = ((input_size + 4 - 4) // 2 - 4) // 2  # conv 5 pad 2, pool 2, conv 5, pool 2
    _check_flag("batch_norm", batch_norm)

    def conv(c_in, c_out, **kwargs):  # a convolution, then (with batch_norm) BN, then the activation
        layers = [nn.Conv2d(c_in, c_out, bias=not batch_norm, **kwargs)]
        return layers + ([nn.BatchNorm2d(c_out)] if batch_norm else []) + [act()]

    return nn.Sequential(
        *conv(in_channels, 6, kernel_size=5, padding=2),
        pooling(2, 2),
        *conv(6, 16, kernel_size=5),
        pooling(2, 2),
        nn.Flatten(),
        nn.Linear(16 * side * side, 120),
        act(),
        nn.Linear(120, 84),
        act(),
        nn.Linear(84, num_classes),
    )


# ------------------------------------------------------------------------------------------------------------
# Shared pieces


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return value


def _check_common(num_classes, in_channels):
    return check_int("num_classes", num_classes, minimum=1), check_int("in_channels", in_channels, minimum=1)


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0):
    """Convolution (no bias: BN's shift replaces it), Batch Normalization, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False),
        nn.BatchNorm2d(out_channels, eps=0.001),
        nn.ReLU(inplace=True),
    )


# ------------------------------------------------------------------------------------------------------------
# AlexNet (Krizhevsky, Sutskever & Hinton, 2012)


def alexnet(
    num_classes: int = 1000,
    in_channels: int = 3,
    *,
    small: bool = False,
    lrn: bool = False,
    dropout: float = 0.5,
    batch_norm: bool = False,
) -> nn.Sequential:
    """AlexNet (Krizhevsky, Sutskever & Hinton, 2012, "ImageNet classification with deep convolutional
    neural networks").

    Five convolutions with ReLU, overlapping 3×3/2 max pooling, and three dense layers with
    dropout. The original configuration (224×224 input) is torchvision's single-tower
    variant, 61,100,840 parameters for 1,000 classes; the paper split the layers across two
    GPUs. ``lrn=True`` adds the paper's local response normalisation after the first two
    convolutions (no parameters), with the paper's constants (PyTorch's ``alpha`` is the
    paper's α times n = 5, since PyTorch divides by n). ``small=True`` keeps the design (ReLU, overlapping
    pooling, dropout, five convolutions) at a width and stride that suit 28×28 or 32×32 images.
    ``batch_norm=True`` adds Batch Normalization after each convolution (not in the 2012
    design; the architecture shoot-out uses it so that every network there has the same
    normalisation).
    """
    num_classes, in_channels = _check_common(num_classes, in_channels)
    _check_flag("batch_norm", batch_norm)

    def conv(c_in, c_out, **kwargs):  # a convolution, then (with batch_norm) BN, then ReLU
        layers = [nn.Conv2d(c_in, c_out, bias=not batch_norm, **kwargs)]
        return layers + ([nn.BatchNorm2d(c_out)] if batch_norm else []) + [nn.ReLU(inplace=True)]

    def norm():  # the paper: b = a / (k + α Σ a²)^β over n = 5 channels, k = 2, α = 1e-4, β = 0.75.
        # PyTorch divides alpha by n (b = a / (k + alpha/n Σ a²)^β), so the paper's α is alpha = 5 × 1e-4.
        return [nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)] if lrn else []

    if small:
        widths, first, head, pooled = (32, 64, 96, 96, 64), dict(kernel_size=5, stride=1, padding=2), 256, 2
    else:
        widths, first, head, pooled = (64, 192, 384, 256, 256), dict(kernel_size=11, stride=4, padding=2), 4096, 6
    c1, c2, c3, c4, c5 = widths
    return nn.Sequential(
        *conv(in_channels, c1, **first),
        *norm(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        *conv(c1, c2, kernel_size=5 if not small else 3, padding=2 if not small else 1),
        *norm(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        *conv(c2, c3, kernel_size=3, padding=1),
        *conv(c3, c4, kernel_size=3, padding=1),
        *conv(c4, c5, kernel_size=3, padding=1),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.AdaptiveAvgPool2d(pooled),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(c5 * pooled * pooled, head),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(head, head),
        nn.ReLU(inplace=True),
        nn.Linear(head, num_classes),
    )


# ------------------------------------------------------------------------------------------------------------
# VGG (Simonyan & Zisserman, 2014)


def vgg_block(num_convs: int, in_channels: int, out_channels: int, *, batch_norm: bool = False) -> nn.Sequential:
    """``num_convs`` 3×3 convolutions (padding 1, so the size stays) with ReLU, then 2×2 max pooling (halves it)."""
    num_convs = check_int("num_convs", num_convs, minimum=1)
    layers: list[nn.Module] = []
    for i in range(num_convs):
        layers.append(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


_VGG_CONFIGS = {
    "vgg11": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),
    "vgg16": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),
}


def _vgg(name, num_classes, in_channels, small, batch_norm, dropout):
    num_classes, in_channels = _check_common(num_classes, in_channels)
    config = _VGG_CONFIGS[name]
    if small:  # four blocks at 1/4 width: 28 → 14 → 7 → 3 → 1 (32 → 2)
        config, head, pooled = tuple((n, c // 4) for n, c in config[:4]), 256, 1
    else:
        head, pooled = 4096, 7
    blocks, channels = [], in_channels
    for num_convs, out_channels in config:
        blocks.append(vgg_block(num_convs, channels, out_channels, batch_norm=batch_norm))
        channels = out_channels
    return nn.Sequential(
        *blocks,
        nn.AdaptiveAvgPool2d(pooled),
        nn.Flatten(),
        nn.Linear(channels * pooled * pooled, head),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(head, head),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(head, num_classes),
    )


def vgg11(
    num_classes: int = 1000, in_channels: int = 3, *, small: bool = False, batch_norm: bool = False, dropout=0.5
) -> nn.Sequential:
    """VGG-11 (Simonyan & Zisserman, 2014, "Very deep convolutional networks for large-scale image
    recognition", configuration A): five VGG blocks with 1, 1, 2, 2, 2 convolutions of 64–512 channels,
    then three dense layers; 132,863,336 parameters at 224×224 for 1,000 classes, as torchvision's.
    ``small=True``: the first four blocks at a quarter of the width, for 28×28 / 32×32 images.
    ``batch_norm=True`` adds BN after every convolution (not in the paper; it trains far more easily)."""
    return _vgg("vgg11", num_classes, in_channels, small, batch_norm, dropout)


def vgg16(
    num_classes: int = 1000, in_channels: int = 3, *, small: bool = False, batch_norm: bool = False, dropout=0.5
) -> nn.Sequential:
    """VGG-16 (configuration D): blocks of 2, 2, 3, 3, 3 convolutions; 138,357,544 parameters at 224×224.
    See :func:`vgg11` for ``small`` and ``batch_norm``."""
    return _vgg("vgg16", num_classes, in_channels, small, batch_norm, dropout)


# ------------------------------------------------------------------------------------------------------------
# Network in Network (Lin, Chen & Yan, 2013)


def nin_block(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0, *, batch_norm=False
):
    """One convolution, then two 1×1 convolutions — a small fully connected network at every pixel — each
    with ReLU (and Batch Normalization before the ReLU with ``batch_norm=True``, which the paper did not have)."""

    def conv(c_in, k, **kw):
        layers = [nn.Conv2d(c_in, out_channels, k, **kw)]
        return layers + ([nn.BatchNorm2d(out_channels)] if batch_norm else []) + [nn.ReLU(inplace=True)]

    return nn.Sequential(
        *conv(in_channels, kernel_size, stride=stride, padding=padding),
        *conv(out_channels, 1),
        *conv(out_channels, 1),
    )


def nin(
    num_classes: int = 1000, in_channels: int = 3, *, small: bool = False, dropout: float = 0.5, batch_norm=False
) -> nn.Sequential:
    """Network in Network (Lin, Chen & Yan, 2013, "Network in network").

    NiN blocks instead of plain convolutions, and no dense layers at all: the last block
    has one channel per class and global average pooling turns each channel into a
    score. The original configuration follows the AlexNet-sized layout (96, 256, 384
    channels; 224×224 input). ``small=True``: 32, 64, 96 channels for 28×28 / 32×32.
    ``batch_norm=True`` adds BN inside every block (not in the paper; the small network
    hardly trains in a few epochs without it).
    """
    num_classes, in_channels = _check_common(num_classes, in_channels)
    if small:
        (c1, c2, c3), first = (32, 64, 96), dict(kernel_size=5, stride=1, padding=2)
    else:
        (c1, c2, c3), first = (96, 256, 384), dict(kernel_size=11, stride=4, padding=0)
    bn = {"batch_norm": batch_norm}
    return nn.Sequential(
        nin_block(in_channels, c1, **first, **bn),
        nn.MaxPool2d(3, stride=2),
        nin_block(c1, c2, kernel_size=5, stride=1, padding=2, **bn),
        nn.MaxPool2d(3, stride=2),
        nin_block(c2, c3, kernel_size=3, stride=1, padding=1, **bn),
        nn.MaxPool2d(3, stride=2),
        nn.Dropout(dropout),
        nin_block(c3, num_classes, kernel_size=3, stride=1, padding=1, **bn),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


# ------------------------------------------------------------------------------------------------------------
# GoogLeNet (Szegedy et al., 2014)


class Inception(nn.Module):
    """The Inception block: four branches side by side, their outputs stacked along the channels.

    1. a 1×1 convolution (``c1`` channels);
    2. a 1×1 reduction to ``c2[0]`` channels, then a 3×3 convolution (``c2[1]``);
    3. a 1×1 reduction to ``c3[0]`` channels, then a ``branch3_kernel``×``branch3_kernel``
       convolution (``c3[1]``): 5×5 in the paper; torchvision's GoogLeNet uses 3×3 here;
    4. 3×3 max pooling (stride 1), then a 1×1 convolution (``c4``).

    Every branch keeps the height and width, so the output has c1 + c2[1] + c3[1] + c4
    channels. Each convolution is followed by Batch Normalization and ReLU, as in torchvision.
    """

    def __init__(self, in_channels: int, c1: int, c2, c3, c4: int, *, branch3_kernel: int = 5):
        super().__init__()
        if branch3_kernel not in (3, 5):
            raise ValueError(f"branch3_kernel must be 5 (the paper) or 3 (torchvision), got {branch3_kernel!r}.")
        self.branch1 = _conv_bn_relu(in_channels, c1, 1)
        self.branch2 = nn.Sequential(_conv_bn_relu(in_channels, c2[0], 1), _conv_bn_relu(c2[0], c2[1], 3, padding=1))
        self.branch3 = nn.Sequential(
            _conv_bn_relu(in_channels, c3[0], 1),
            _conv_bn_relu(c3[0], c3[1], branch3_kernel, padding=branch3_kernel // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), _conv_bn_relu(in_channels, c4, 1)
        )
        self.out_channels = c1 + c2[1] + c3[1] + c4

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


# in_channels, 1×1, (3×3 reduce, 3×3), (5×5 reduce, 5×5), pool proj — Table 1 of the paper
_INCEPTION = {
    "3a": (192, 64, (96, 128), (16, 32), 32),
    "3b": (256, 128, (128, 192), (32, 96), 64),
    "4a": (480, 192, (96, 208), (16, 48), 64),
    "4b": (512, 160, (112, 224), (24, 64), 64),
    "4c": (512, 128, (128, 256), (24, 64), 64),
    "4d": (512, 112, (144, 288), (32, 64), 64),
    "4e": (528, 256, (160, 320), (32, 128), 128),
    "5a": (832, 256, (160, 320), (32, 128), 128),
    "5b": (832, 384, (192, 384), (48, 128), 128),
}


def googlenet(
    num_classes: int = 1000,
    in_channels: int = 3,
    *,
    small: bool = False,
    branch3_kernel: int = 5,
    dropout: float = 0.2,
) -> nn.Sequential:
    """GoogLeNet (Szegedy et al., 2014, "Going deeper with convolutions"), without the auxiliary heads.

    A stem of ordinary convolutions, nine Inception blocks in three stages separated by
    max pooling, global average pooling and one dense layer. ``branch3_kernel=3`` gives
    torchvision's layout exactly (6,624,904 parameters at 224×224 for 1,000 classes);
    the default 5 is the paper's 5×5 branch. ``small=True``: a 3×3 stem, pooling, and the
    3a, 3b, 4a, 4b blocks at a quarter of their width, for 28×28 / 32×32 images.
    """
    num_classes, in_channels = _check_common(num_classes, in_channels)
    pool = lambda k=3: nn.MaxPool2d(k, stride=2, ceil_mode=True)  # noqa: E731
    configs = _INCEPTION
    if small:
        configs = {
            k: (c // 4, a // 4, (b[0] // 4, b[1] // 4), (c3[0] // 4, c3[1] // 4), d // 4)
            for k, (c, a, b, c3, d) in _INCEPTION.items()
        }
    stage = lambda *names: [Inception(*configs[n], branch3_kernel=branch3_kernel) for n in names]  # noqa: E731
    if small:
        blocks, later = stage("3a", "3b"), stage("4a", "4b")
        return nn.Sequential(
            _conv_bn_relu(in_channels, 48, 3, padding=1),
            pool(),  # 32 → 16 (28 → 14): the Inception blocks run at a quarter of the pixels
            *blocks,
            pool(),
            *later,
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(later[-1].out_channels, num_classes),
        )
    return nn.Sequential(
        _conv_bn_relu(in_channels, 64, 7, stride=2, padding=3),
        pool(),
        _conv_bn_relu(64, 64, 1),
        _conv_bn_relu(64, 192, 3, padding=1),
        pool(),
        *stage("3a", "3b"),
        pool(),
        *stage("4a", "4b", "4c", "4d", "4e"),
        pool(2),
        *stage("5a", "5b"),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(1024, num_classes),
    )


# ------------------------------------------------------------------------------------------------------------
# ResNet (He, Zhang, Ren & Sun, 2015)


class Residual(nn.Module):
    """The residual block: ``relu(F(x) + shortcut(x))`` with F = conv3×3 → BN → ReLU → conv3×3 → BN.

    When the block changes the shape (``stride`` > 1 or other channel counts) the shortcut is
    a 1×1 convolution with the same stride (and BN), so that the two can be added;
    otherwise it is the identity. ``use_1x1conv=True`` forces the projection.
    ``shortcut=False`` drops it: the block becomes two plain convolutions (for comparisons).
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, *, use_1x1conv: bool | None = None, shortcut=True
    ):
        super().__init__()
        in_channels = check_int("in_channels", in_channels, minimum=1)
        out_channels = check_int("out_channels", out_channels, minimum=1)
        stride = check_int("stride", stride, minimum=1)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        needs_projection = stride != 1 or in_channels != out_channels
        if use_1x1conv is None:
            use_1x1conv = needs_projection
        if shortcut and needs_projection and not use_1x1conv:
            raise ValueError(
                f"the block changes the shape ({in_channels}→{out_channels} channels, stride {stride}), so the "
                "identity shortcut cannot be added to its output: use use_1x1conv=True (or None)."
            )
        self.shortcut = shortcut
        self.projection = (
            nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )
            if shortcut and use_1x1conv
            else None
        )

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.shortcut:
            out = out + (x if self.projection is None else self.projection(x))
        return self.relu(out)


def _resnet_stage(in_channels, out_channels, blocks, stride, shortcut=True):
    layers = [Residual(in_channels, out_channels, stride, shortcut=shortcut)]
    layers += [Residual(out_channels, out_channels, shortcut=shortcut) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def resnet18(
    num_classes: int = 1000, in_channels: int = 3, *, small: bool = False, width: int | None = None, shortcut=True
) -> nn.Sequential:
    """ResNet-18 (He, Zhang, Ren & Sun, 2015, "Deep residual learning for image recognition").

    A 7×7 stem and max pooling, four stages of two residual blocks (64, 128, 256, 512
    channels; the later stages start with stride 2), global average pooling and a dense
    layer: 11,689,512 parameters at 224×224 for 1,000 classes, as torchvision's.
    ``small=True``: a 3×3 stem without pooling and ``width`` (default 16) channels in the
    first stage, for 28×28 / 32×32. ``shortcut=False`` removes every shortcut: the same
    network, plain.
    """
    num_classes, in_channels = _check_common(num_classes, in_channels)
    base = check_int("width", width if width is not None else (16 if small else 64), minimum=1)
    widths = [base, base * 2, base * 4, base * 8]
    if small:
        stem = [nn.Conv2d(in_channels, base, 3, padding=1, bias=False), nn.BatchNorm2d(base), nn.ReLU(inplace=True)]
    else:
        stem = [
            nn.Conv2d(in_channels, base, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(base),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
    stages = [_resnet_stage(base, widths[0], 2, 1, shortcut)]
    stages += [_resnet_stage(widths[i - 1], widths[i], 2, 2, shortcut) for i in range(1, 4)]
    return nn.Sequential(*stem, *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], num_classes))
