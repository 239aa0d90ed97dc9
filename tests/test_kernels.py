"""The named kernels and apply()."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnkit import kernels, reference


def test_every_kernel_is_a_3x3_float_array_and_get_returns_a_copy():
    assert set(kernels.KERNELS) >= {"identity", "box_blur", "gaussian_blur", "sharpen", "sobel_x", "sobel_y", "edge"}
    for name, k in kernels.KERNELS.items():
        assert k.shape == (3, 3) and k.dtype == np.float32, name
    k = kernels.get("edge")
    k[1, 1] = 0
    assert kernels.KERNELS["edge"][1, 1] == 8


def test_blurs_sum_to_one_and_edge_detectors_to_zero():
    for name in ("identity", "box_blur", "gaussian_blur", "sharpen"):
        assert kernels.get(name).sum() == pytest.approx(1), name
    for name in ("sobel_x", "sobel_y", "edge"):
        assert kernels.get(name).sum() == 0, name


def test_get_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="sobel_x"):
        kernels.get("sobel")


def test_identity_keeps_the_image_and_a_flat_image_has_no_edges():
    image = torch.rand(3, 10, 12)
    assert torch.allclose(kernels.apply(image, "identity"), image)
    flat = torch.full((8, 8), 0.5)
    inner = kernels.apply(flat, "edge")[1:-1, 1:-1]
    assert torch.allclose(inner, torch.zeros_like(inner))


def test_sobel_x_responds_to_vertical_edges_only():
    step = torch.zeros(9, 9)
    step[:, 5:] = 1  # dark left, bright right: a vertical edge
    gx = kernels.apply(step, "sobel_x", padding="valid")
    gy = kernels.apply(step, "sobel_y", padding="valid")
    assert gx.abs().max() == 4 and gy.abs().max() == 0


def test_apply_matches_reference_and_keeps_layouts():
    image = np.random.default_rng(0).random((2, 7, 9))
    out = kernels.apply(image, kernels.get("sharpen"), padding="valid")
    expected = np.stack([reference.correlate2d(c, kernels.get("sharpen")) for c in image])
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)
    assert kernels.apply(image[0], "box_blur").shape == (7, 9)
    direct = F.conv2d(
        torch.tensor(image[:1, None]).float(), torch.tensor(kernels.get("sobel_y"))[None, None], padding=1
    )
    assert torch.allclose(kernels.apply(image[0], "sobel_y"), direct[0, 0], atol=1e-6)


@pytest.mark.parametrize(
    "image, kernel, padding, message",
    [
        (np.zeros((1, 1, 4, 4)), "edge", "same", "H×W or C×H×W"),
        (np.zeros((4, 4)), np.zeros(3), "same", "2-D"),
        (np.zeros((4, 4)), "edge", "full", "'same' or 'valid'"),
        (np.zeros((2, 2)), "edge", "valid", "does not fit"),
    ],
)
def test_apply_bad_input(image, kernel, padding, message):
    with pytest.raises(ValueError, match=message):
        kernels.apply(image, kernel, padding=padding)
