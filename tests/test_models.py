"""Tests for cnnkit.models: parameter counts against torchvision, shapes, blocks, and summary()."""

import pytest
import torch
from torch import nn

import cnnkit
from cnnkit import models
from cnnkit.arithmetic import conv_params
from cnnkit.models import lenet5


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_lenet5_has_61706_parameters_for_mnist():
    model = lenet5()
    assert count(model) == 61_706
    assert count(model) == conv_params(1, 6, 5) + conv_params(6, 16, 5) + (400 * 120 + 120) + (120 * 84 + 84) + (
        84 * 10 + 10
    )


def test_lenet5_maps_digits_to_ten_scores():
    torch.manual_seed(0)
    model = lenet5()
    out = model(torch.rand(2, 1, 28, 28))
    assert out.shape == (2, 10) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_lenet5_default_layers_are_relu_and_max_pool():
    model = lenet5()
    assert isinstance(model, nn.Sequential)
    kinds = [type(m) for m in model]
    assert kinds.count(nn.ReLU) == 4 and kinds.count(nn.MaxPool2d) == 2
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (1, 6, (5, 5), (2, 2)),
        (6, 16, (5, 5), (0, 0)),
    ]
    assert [m.out_features for m in model if isinstance(m, nn.Linear)] == [120, 84, 10]


def test_lenet5_1998_flavour_has_the_same_size():
    model = lenet5(activation="sigmoid", pool="avg")
    assert count(model) == 61_706
    kinds = [type(m) for m in model]
    assert kinds.count(nn.Sigmoid) == 4 and kinds.count(nn.AvgPool2d) == 2
    assert nn.ReLU not in kinds and nn.MaxPool2d not in kinds
    assert lenet5(activation="tanh")(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_lenet5_for_colour_32x32_images():
    model = lenet5(num_classes=10, in_channels=3, input_size=32)
    assert model(torch.rand(4, 3, 32, 32)).shape == (4, 10)
    assert count(model) == conv_params(3, 6, 5) + conv_params(6, 16, 5) + (576 * 120 + 120) + 10_164 + 850
    with pytest.raises(RuntimeError):
        model(torch.rand(4, 1, 32, 32))  # it really expects 3 channels


@pytest.mark.parametrize("input_size", [12, 13, 14, 15, 16, 21, 27, 28, 29, 31, 32, 33, 48, 64])
def test_lenet5_works_for_every_input_size(input_size):
    model = lenet5(num_classes=7, input_size=input_size)
    assert model(torch.rand(2, 1, input_size, input_size)).shape == (2, 7)


@pytest.mark.parametrize("num_classes", [1, 2, 100])
def test_lenet5_num_classes(num_classes):
    assert lenet5(num_classes)(torch.rand(1, 1, 28, 28)).shape == (1, num_classes)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"activation": "gelu"}, ValueError, "activation"),
        ({"activation": "ReLU"}, ValueError, "activation"),
        ({"pool": "min"}, ValueError, "pool"),
        ({"pool": None}, ValueError, "pool"),
        ({"num_classes": 0}, ValueError, "num_classes"),
        ({"num_classes": 2.5}, TypeError, "num_classes"),
        ({"num_classes": "10"}, TypeError, "num_classes"),
        ({"in_channels": 0}, ValueError, "in_channels"),
        ({"in_channels": True}, TypeError, "in_channels"),
        ({"input_size": 11}, ValueError, "input_size"),
        ({"input_size": 28.0}, TypeError, "input_size"),
    ],
)
def test_lenet5_bad_arguments(kwargs, error, name):
    with pytest.raises(error, match=name):
        lenet5(**kwargs)


def test_lenet5_too_small_input_hint():
    with pytest.raises(ValueError, match="12×12"):
        lenet5(input_size=8)


# ----------------------------------------------------------------------------------------------------------------
# The classic architectures


def torchvision_reference(name):
    import torchvision.models as tv

    if name == "googlenet":
        return tv.googlenet(weights=None, aux_logits=False, init_weights=False)
    return getattr(tv, name)(weights=None)


@pytest.mark.parametrize(
    "name, kwargs, expected",
    [
        ("alexnet", {}, 61_100_840),
        ("vgg11", {}, 132_863_336),
        ("vgg16", {}, 138_357_544),
        ("googlenet", {"branch3_kernel": 3}, 6_624_904),
        ("resnet18", {}, 11_689_512),
    ],
)
def test_original_configurations_have_torchvisions_parameter_count(name, kwargs, expected):
    ours = getattr(models, name)(num_classes=1000, in_channels=3, **kwargs)
    assert count(ours) == count(torchvision_reference(name)) == expected


def test_googlenet_with_the_papers_5x5_branch_has_exactly_the_extra_5x5_weights():
    extra = sum(c3[0] * c3[1] * (25 - 9) for _, _, _, c3, _ in models._INCEPTION.values())
    assert count(models.googlenet()) - count(models.googlenet(branch3_kernel=3)) == extra


def test_nin_parameter_count_by_hand():
    def block(c_in, c_out, k):
        return conv_params(c_in, c_out, k) + 2 * conv_params(c_out, c_out, 1)

    expected = block(3, 96, 11) + block(96, 256, 5) + block(256, 384, 3) + block(384, 1000, 3)
    assert count(models.nin()) == expected


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "nin", "googlenet", "resnet18"])
def test_original_configurations_map_224_images_to_1000_scores(name):
    model = getattr(models, name)().eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


def test_vgg16_maps_224_images_to_1000_scores():
    model = models.vgg16().eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "vgg16", "nin", "googlenet", "resnet18"])
@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3)])
def test_small_configurations_fit_28_and_32_pixel_images(name, size, channels):
    model = getattr(models, name)(num_classes=10, in_channels=channels, small=True).eval()
    assert count(model) < 1_000_000
    with torch.no_grad():
        assert model(torch.zeros(2, channels, size, size)).shape == (2, 10)


def test_alexnet_lrn_is_the_papers_formula():
    """Krizhevsky et al. 2012, section 3.3: b = a / (k + α Σ_{j near i} a_j²)^β, n = 5, k = 2, α = 1e-4, β = 0.75."""
    lrn = next(m for m in models.alexnet(lrn=True) if isinstance(m, nn.LocalResponseNorm))
    a = torch.randn(1, 8, 3, 3) * 30  # large activations, so that the α term matters
    squares = torch.nn.functional.pad(a.pow(2), (0, 0, 0, 0, 2, 2))  # channels i-2 .. i+2, zero outside
    window = sum(squares[:, j : j + 8] for j in range(5))
    paper = a / (2.0 + 1e-4 * window) ** 0.75
    assert torch.allclose(lrn(a), paper, rtol=1e-5)


def test_alexnet_lrn_adds_no_parameters():
    with_lrn = models.alexnet(lrn=True)
    assert count(with_lrn) == count(models.alexnet())
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in with_lrn) == 2


def test_blocks_shapes():
    assert models.vgg_block(2, 3, 8)(torch.zeros(1, 3, 16, 16)).shape == (1, 8, 8, 8)
    assert models.nin_block(3, 8, 3, padding=1)(torch.zeros(1, 3, 16, 16)).shape == (1, 8, 16, 16)
    block = models.Inception(16, 4, (4, 8), (2, 4), 4)
    assert block(torch.zeros(2, 16, 9, 9)).shape == (2, 20, 9, 9) and block.out_channels == 20


def test_residual_block_shapes_from_the_seed():
    x = torch.rand(4, 3, 6, 6)
    same = models.Residual(3, 3)
    assert same(x).shape == (4, 3, 6, 6) and same.projection is None
    down = models.Residual(3, 6, stride=2, use_1x1conv=True)
    assert down(x).shape == (4, 6, 3, 3) and down.projection is not None


def test_residual_block_identity_when_the_main_path_is_zero():
    block = models.Residual(3, 3).eval()
    with torch.no_grad():
        block.bn2.weight.zero_()  # F(x) = 0: the block passes relu(x) through
    x = torch.randn(2, 3, 5, 5)
    assert torch.allclose(block(x), torch.relu(x))


def test_residual_without_shortcut_and_impossible_identity():
    plain = models.resnet18(num_classes=10, in_channels=1, small=True, shortcut=False)
    assert all(b.projection is None and not b.shortcut for b in plain.modules() if isinstance(b, models.Residual))
    with pytest.raises(ValueError, match="use_1x1conv=True"):
        models.Residual(3, 6, use_1x1conv=False)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: models.alexnet(num_classes=0), ValueError, "num_classes must be at least 1"),
        (lambda: models.vgg11(in_channels="3"), TypeError, "in_channels must be a whole number"),
        (lambda: models.googlenet(branch3_kernel=7), ValueError, "branch3_kernel must be 5"),
        (lambda: models.resnet18(width=0), ValueError, "width must be at least 1"),
        (lambda: models.vgg_block(0, 3, 8), ValueError, "num_convs must be at least 1"),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------------------------------------------------
# summary()


def test_summary_of_lenet_rows_params_and_receptive_field():
    table = cnnkit.summary(lenet5(), (1, 28, 28))
    assert table.total_params == 61_706 == sum(r["params"] for r in table.rows)
    assert [r["output_shape"] for r in table.rows][:3] == [(1, 6, 28, 28), (1, 6, 28, 28), (1, 6, 14, 14)]
    assert [r["receptive_field"] for r in table.rows][:6] == [5, 5, 6, 14, 14, 16]
    assert table.rows[-1]["receptive_field"] == "all"
    text = repr(table)
    assert "1 × 16 × 5 × 5" in text and "61,706" in text and text.count("\n") == len(table.rows) + 3


def test_summary_receptive_field_matches_arithmetic_for_a_conv_chain():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3, dilation=2), nn.Conv2d(2, 2, 5, 2))
    table = cnnkit.summary(net, (1, 1, 40, 40))
    assert [r["receptive_field"] for r in table.rows] == cnnkit.arithmetic.receptive_field(net, per_layer=True)


def test_summary_of_the_original_resnet_and_googlenet():
    resnet = cnnkit.summary(models.resnet18(), (3, 224, 224))
    assert resnet.total_params == 11_689_512 and resnet.rows[-1]["output_shape"] == (1, 1000)
    assert resnet.rows[7]["output_shape"] == (1, 512, 7, 7) and resnet.rows[7]["receptive_field"] == 435
    google = cnnkit.summary(models.googlenet(num_classes=10, small=True), (3, 32, 32))
    # stem 3 → pool 3/2 gives 5 with jump 2 → the 5×5 branch adds (5 − 1)·2
    assert google.rows[2]["type"] == "Inception" and google.rows[2]["receptive_field"] == 13


def test_summary_depth_and_non_sequential_models():
    table = cnnkit.summary(models.Residual(3, 6, stride=2), (3, 8, 8))
    assert [r["name"] for r in table.rows][:2] == ["conv1", "bn1"]
    assert all(r["receptive_field"] is None for r in table.rows)
    deeper = cnnkit.summary(models.vgg11(num_classes=10, in_channels=1, small=True), (1, 28, 28), depth=2)
    assert deeper.rows[0]["name"] == "0.0" and deeper.rows[0]["type"] == "Conv2d"


def test_summary_bad_input():
    with pytest.raises(ValueError, match="C×H×W"):
        cnnkit.summary(lenet5(), (28, 28))
    with pytest.raises(ValueError, match="does not accept an input of shape"):
        cnnkit.summary(lenet5(), (3, 28, 28))
    with pytest.raises(TypeError, match="nn.Module"):
        cnnkit.summary("lenet", (1, 28, 28))


def test_nin_batch_norm_option_adds_bn_to_every_block():
    plain, with_bn = models.nin(num_classes=10, small=True), models.nin(num_classes=10, small=True, batch_norm=True)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules()) == 12
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert with_bn.eval()(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_count_macs_counts_convolutions_and_dense_layers():
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, groups=2), nn.Flatten(), nn.Linear(8 * 6 * 6, 10)
    )
    conv1 = 8 * 8 * 8 * 3 * 9  # outputs × in_channels × 3 × 3
    conv2 = 8 * 6 * 6 * 4 * 9  # grouped: 4 input channels per output
    dense = 10 * 8 * 6 * 6
    assert cnnkit.count_macs(net, (3, 8, 8)) == conv1 + conv2 + dense
    lenet = 6 * 28 * 28 * 25 + 16 * 10 * 10 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10  # = 416,520, by hand
    assert cnnkit.count_macs(models.lenet5(), (1, 28, 28)) == lenet
    with pytest.raises(ValueError, match="C×H×W"):
        cnnkit.count_macs(net, (8, 8))


@pytest.mark.parametrize(
    "build, convs",
    [
        (lambda bn: models.lenet5(10, 3, input_size=32, batch_norm=bn), 2),
        (lambda bn: models.alexnet(10, 3, small=True, batch_norm=bn), 5),
    ],
    ids=["lenet5", "alexnet"],
)
def test_lenet_and_alexnet_take_batch_norm_after_every_convolution(build, convs):
    plain, normed = build(False), build(True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    layers = list(normed)
    bns = [i for i, m in enumerate(layers) if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == convs and all(isinstance(layers[i - 1], nn.Conv2d) for i in bns)
    assert all(layers[i - 1].bias is None for i in bns)  # BN's shift replaces the bias
    assert normed(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(TypeError, match="batch_norm must be True or False"):
        build("yes")
