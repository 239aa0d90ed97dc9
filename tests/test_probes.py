"""Gradient norms per layer, and the plain deep nets of lesson 05."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnkit import probes


def batch(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_deep_net_structure():
    model = probes.deep_net(4, "tanh", width=16)
    assert sum(isinstance(m, nn.Linear) for m in model) == 5
    assert sum(isinstance(m, nn.Tanh) for m in model) == 4
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_gradient_norms_match_a_manual_backward_and_leave_grads_alone():
    torch.manual_seed(0)
    model = probes.deep_net(3, "relu", width=8)
    x, y = batch()
    sentinel = torch.full_like(model[1].weight, 7.0)
    model[1].weight.grad = sentinel.clone()
    norms = probes.gradient_norms(model, x, y)
    assert list(norms) == ["1", "3", "5", "7"]
    assert torch.equal(model[1].weight.grad, sentinel)
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    for name, value in norms.items():
        assert value == pytest.approx(float(dict(model.named_modules())[name].weight.grad.norm()))


def test_sigmoid_gradients_vanish_much_faster_than_relu():
    ratios = {}
    for activation in ("sigmoid", "relu"):
        norms = list(probes.gradient_profile(activation, 12).values())
        ratios[activation] = norms[0] / norms[-1]
    assert ratios["sigmoid"] < 1e-4 < ratios["relu"]


def test_gradient_profile_is_deterministic():
    assert probes.gradient_profile("tanh", 5) == probes.gradient_profile("tanh", 5)


def test_gradient_norms_works_on_conv_nets():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    assert list(probes.gradient_norms(model, *batch(8))) == ["0", "3"]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: probes.deep_net(0), ValueError, "depth must be at least 1"),
        (lambda: probes.deep_net(3, "swish"), ValueError, "activation must be one of"),
        (lambda: probes.gradient_norms("net", *batch(2)), TypeError, "nn.Module"),
        (lambda: probes.gradient_norms(nn.ReLU(), *batch(2)), ValueError, "no Linear or Conv2d"),
        (lambda: probes.gradient_norms(probes.deep_net(1), batch(4)[0], batch(3)[1]), ValueError, "same number"),
        (
            lambda: probes.gradient_norms(probes.deep_net(1, num_classes=3), *batch(4)),
            ValueError,
            "the loss cannot compare",
        ),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------------------------------------------------
# what a trained network sees


def tiny_cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3),
    )  # fmt: skip


def test_feature_maps_in_forward_order_with_their_shapes():
    maps = probes.feature_maps(tiny_cnn(), torch.rand(1, 8, 8))
    assert list(maps) == ["0", "1", "2", "3", "4"]
    assert maps["0"].shape == (4, 8, 8) and maps["2"].shape == (4, 4, 4) and maps["4"].shape == (6, 4, 4)
    assert torch.all(maps["1"] >= 0)


def test_saliency_is_the_input_gradient_of_the_class_score():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[1.0, -2.0, 0.0, 3.0], [0.0, 0.0, 5.0, 0.0]]))
    image = torch.ones(1, 2, 2)
    assert probes.saliency(model, image, target=0).tolist() == [[1.0, 2.0], [0.0, 3.0]]
    assert probes.saliency(model, image).tolist() == [[0.0, 0.0], [5.0, 0.0]]  # predicted class: 1 (score 5)


def test_grad_cam_finds_the_evidence_and_is_scaled_to_one():
    model = tiny_cnn()
    image = torch.zeros(1, 8, 8)
    image[0, :3, :3] = 1.0
    cam = probes.grad_cam(model, image, model[3], target=0)
    assert cam.shape == (8, 8) and 0 <= cam.min() and cam.max() <= 1
    with pytest.raises(ValueError, match="model's own modules"):
        probes.grad_cam(model, image, nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match="feature maps"):
        probes.grad_cam(model, image, model[7])


class Corner(nn.Module):
    """A two-class model whose class 0 score is the brightness of the image's top-left 2x2 corner."""

    def forward(self, x):
        corner = x[:, :, :2, :2].sum(dim=(1, 2, 3))
        return torch.stack([4 * corner, torch.zeros_like(corner)], 1)


def test_occlusion_marks_the_pixels_the_class_depends_on():
    image = torch.ones(1, 6, 6)
    drop = probes.occlusion(Corner(), image, target=0, patch=2, stride=2)
    assert drop.shape == (6, 6)
    assert drop[:2, :2].min() > 0.49 and drop[2:, 2:].abs().max() < 1e-6  # p: 1.0 -> 0.5 when covered
    with pytest.raises(ValueError, match="larger than the image"):
        probes.occlusion(Corner(), image, patch=7)


def test_rank_correlation_is_spearmans_with_tied_ranks():
    a = torch.tensor([[1.0, 2.0], [2.0, 3.0]])
    assert probes.rank_correlation(a, a * 10 + 1) == pytest.approx(1.0)
    assert probes.rank_correlation(a, -a) == pytest.approx(-1.0)
    # ranks of a: 1, 2.5, 2.5, 4; of b: 2, 1, 3, 4 -> Pearson of the ranks
    b = torch.tensor([[5.0, 1.0], [7.0, 9.0]])
    ra, rb = torch.tensor([1, 2.5, 2.5, 4]), torch.tensor([2.0, 1, 3, 4])
    ra, rb = ra - ra.mean(), rb - rb.mean()
    assert probes.rank_correlation(a, b) == pytest.approx(float(ra @ rb / (ra.norm() * rb.norm())))
    assert probes.rank_correlation(torch.ones(4), torch.arange(4.0)) != probes.rank_correlation(a, a)  # NaN
    with pytest.raises(ValueError, match="same number"):
        probes.rank_correlation(torch.ones(3), torch.ones(4))


def test_deletion_and_insertion_curves_follow_the_map():
    image = torch.ones(1, 4, 4)
    good = torch.zeros(4, 4)
    good[:2, :2] = 1.0  # the corner first
    bad = 1.0 - good  # the corner last
    deleted = probes.deletion_curve(Corner(), image, good, 0, steps=4)
    assert deleted.shape == (5,) and deleted[0] == pytest.approx(torch.sigmoid(torch.tensor(16.0)).item())
    assert deleted[1] == pytest.approx(0.5) and torch.all(deleted[1:] == deleted[1])  # corner gone after 1/4
    late = probes.deletion_curve(Corner(), image, bad, 0, steps=4)
    assert late[3] == pytest.approx(deleted[0]) and late[4] == pytest.approx(0.5)
    assert torch.trapezoid(deleted, dx=0.25) < torch.trapezoid(late, dx=0.25)
    inserted = probes.deletion_curve(Corner(), image, good, 0, mode="insertion", steps=4)
    assert inserted[0] == pytest.approx(0.5) and inserted[1] == pytest.approx(deleted[0])
    assert torch.equal(image, torch.ones(1, 4, 4))  # the image is left alone
    with pytest.raises(ValueError, match="mode"):
        probes.deletion_curve(Corner(), image, good, 0, mode="erase")
    with pytest.raises(ValueError, match="height and width"):
        probes.deletion_curve(Corner(), image, torch.zeros(3, 3), 0)


def test_confusion_matrix_and_most_confused():
    cm = probes.confusion_matrix([0, 1, 1, 2, 2, 2, 0], [0, 1, 2, 2, 1, 1, 2], num_classes=3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 2], [1, 1, 1]]
    assert probes.most_confused(cm, k=2) == [(1, 2, 2), (2, 0, 1)]
    with pytest.raises(ValueError, match="same length"):
        probes.confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match="between 0 and 2"):
        probes.confusion_matrix([0, 3], [0, 1], num_classes=3)


def test_inspection_bad_image():
    with pytest.raises(ValueError, match="C×H×W"):
        probes.saliency(tiny_cnn(), torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="class index below 3"):
        probes.saliency(tiny_cnn(), torch.rand(1, 8, 8), target=5)
