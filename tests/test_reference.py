"""The from-scratch NumPy layers agree with torch.nn.functional on random settings."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnkit import reference as R

TOL = 1e-5


def random_conv_case(rng: random.Random):
    """A random (x, w, b, stride, padding, dilation) that fits, with pairs mixed in."""
    while True:
        n, c, o = rng.randint(1, 3), rng.randint(1, 4), rng.randint(1, 4)
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)
        stride = rng.choice([rng.randint(1, 3), (rng.randint(1, 3), rng.randint(1, 3))])
        padding = rng.choice([rng.randint(0, 2), (rng.randint(0, 2), rng.randint(0, 2))])
        dilation = rng.choice([rng.randint(1, 3), (rng.randint(1, 3), rng.randint(1, 3))])
        h, w = rng.randint(1, 10), rng.randint(1, 10)
        p2 = padding if isinstance(padding, tuple) else (padding, padding)
        d2 = dilation if isinstance(dilation, tuple) else (dilation, dilation)
        if h + 2 * p2[0] >= d2[0] * (kh - 1) + 1 and w + 2 * p2[1] >= d2[1] * (kw - 1) + 1:
            break
    g = np.random.default_rng(rng.randint(0, 10**6))
    x, wt = g.standard_normal((n, c, h, w)), g.standard_normal((o, c, kh, kw))
    b = g.standard_normal(o) if rng.random() < 0.7 else None
    return x, wt, b, stride, padding, dilation


def torch_conv(x, w, b, stride, padding, dilation):
    bias = None if b is None else torch.tensor(b)
    return F.conv2d(torch.tensor(x), torch.tensor(w), bias, stride, padding, dilation).numpy()


def test_conv2d_and_loop_agree_with_torch_on_150_random_cases():
    rng = random.Random(0)
    for case in range(150):
        x, w, b, stride, padding, dilation = random_conv_case(rng)
        expected = torch_conv(x, w, b, stride, padding, dilation)
        fast = R.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
        slow = R.conv2d_loop(x, w, b, stride=stride, padding=padding, dilation=dilation)
        assert fast.shape == expected.shape, (case, stride, padding, dilation)
        np.testing.assert_allclose(fast, expected, atol=TOL, rtol=TOL, err_msg=f"case {case}")
        np.testing.assert_allclose(slow, expected, atol=TOL, rtol=TOL, err_msg=f"case {case}")


def test_conv2d_accepts_float32_and_tensors():
    x = torch.randn(2, 3, 8, 8)
    w = torch.randn(5, 3, 3, 3)
    np.testing.assert_allclose(R.conv2d(x, w, padding=1), F.conv2d(x, w, padding=1).numpy(), atol=TOL)


def test_the_seed_example_by_hand():
    image = np.arange(1, 10).reshape(3, 3)
    assert R.correlate2d(image, np.eye(3)).tolist() == [[15.0]]
    assert R.correlate2d(image, np.eye(3), padding=1).tolist() == [[6, 8, 3], [12, 15, 8], [7, 12, 14]]


def test_im2col_columns_are_the_windows():
    x = np.arange(16, dtype=float).reshape(1, 1, 4, 4)
    cols = R.im2col(x, 2, stride=2)
    assert cols.shape == (1, 4, 4)
    assert cols[0, :, 0].tolist() == [0, 1, 4, 5]  # top-left window, row by row
    assert cols[0, :, 3].tolist() == [10, 11, 14, 15]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: R.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 1, 3, 3))), "input channel"),
        (lambda: R.conv2d(np.zeros((3, 5, 5)), np.zeros((2, 3, 3, 3))), "N×C×H×W"),
        (lambda: R.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))), "larger than the padded input"),
        (lambda: R.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)), b=np.zeros(3)), "one value per output"),
        (lambda: R.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=0), "stride must be at least 1"),
        (lambda: R.correlate2d(np.zeros((1, 5, 5)), np.zeros((3, 3))), "H×W"),
        (lambda: R.max_pool2d(np.zeros((2, 2)), 3), "larger than the padded input"),
    ],
)
def test_bad_input_gives_a_plain_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_conv2d_rejects_non_numbers():
    with pytest.raises(TypeError, match="array of numbers"):
        R.conv2d([["a"]], np.zeros((1, 1, 1, 1)))


def test_pooling_agrees_with_torch_on_120_random_cases():
    rng = random.Random(1)
    for case in range(120):
        k = rng.choice([rng.randint(1, 4), (rng.randint(1, 4), rng.randint(1, 4))])
        s = rng.choice([None, rng.randint(1, 4), (rng.randint(1, 3), rng.randint(1, 3))])
        kh, kw = k if isinstance(k, tuple) else (k, k)
        x = np.random.default_rng(case).standard_normal(
            (rng.randint(1, 3), rng.randint(1, 3), kh + rng.randint(0, 8), kw + rng.randint(0, 8))
        )
        t = torch.tensor(x)
        np.testing.assert_allclose(R.max_pool2d(x, k, s), F.max_pool2d(t, k, s).numpy(), atol=TOL, err_msg=str(case))
        np.testing.assert_allclose(R.avg_pool2d(x, k, s), F.avg_pool2d(t, k, s).numpy(), atol=TOL, err_msg=str(case))


def test_pooling_the_seed_example_and_2d_3d_inputs():
    a = np.arange(1, 17).reshape(4, 4)
    assert R.max_pool2d(a, 2).tolist() == [[6, 8], [14, 16]]
    assert R.avg_pool2d(a, 2).tolist() == [[3.5, 5.5], [11.5, 13.5]]
    assert R.max_pool2d(np.stack([a, -a]), 2).shape == (2, 2, 2)


def test_batch_norm_matches_nn_batchnorm_in_training_and_eval_with_running_statistics():
    rng = np.random.default_rng(0)
    for shape in [(8, 3, 5, 5), (4, 6), (2, 1, 3, 2)]:
        c = shape[1]
        layer = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(c, momentum=0.2).double()
        gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(gamma))
            layer.bias.copy_(torch.tensor(beta))
        running_mean, running_var = np.zeros(c), np.ones(c)
        layer.train()
        for _ in range(4):
            x = rng.standard_normal(shape) * 3 + 1
            ours = R.batch_norm(x, gamma, beta, running_mean=running_mean, running_var=running_var, momentum=0.2)
            theirs = layer(torch.tensor(x)).detach().numpy()
            np.testing.assert_allclose(ours, theirs, atol=1e-6)
        np.testing.assert_allclose(running_mean, layer.running_mean.numpy(), atol=1e-6)
        np.testing.assert_allclose(running_var, layer.running_var.numpy(), atol=1e-6)
        layer.eval()
        x = rng.standard_normal(shape)
        ours = R.batch_norm(x, gamma, beta, running_mean=running_mean, running_var=running_var, training=False)
        np.testing.assert_allclose(ours, layer(torch.tensor(x)).detach().numpy(), atol=1e-6)


def test_batch_norm_output_is_normalised_per_channel():
    x = np.random.default_rng(1).standard_normal((16, 2, 4, 4)) * 5 + 3
    y = R.batch_norm(x, np.ones(2), np.zeros(2))
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x": np.zeros((1, 2))}, "more than one value per channel"),
        ({"gamma": np.ones(3)}, "gamma must have one value per channel"),
        ({"training": False}, "pass running_mean and running_var"),
        ({"running_mean": [0.0, 0.0]}, "update in place"),
        ({"x": np.zeros((2, 2, 2))}, "N×C×H×W"),
    ],
)
def test_batch_norm_bad_input(kwargs, message):
    args = {"x": np.ones((4, 2)), "gamma": np.ones(2), "beta": np.zeros(2)} | kwargs
    with pytest.raises(ValueError, match=message):
        R.batch_norm(**args)
