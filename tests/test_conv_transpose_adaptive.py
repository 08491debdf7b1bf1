"""ConvTranspose2d and AdaptiveAvgPool2d: against their naive loops (core/reference.py), PyTorch (float64,
1e-10: outputs and every gradient, through the shared oracle) and finite differences."""

import numpy as np
import pytest
import torch
from oracle import RTOL_NETWORK, check_against_torch

import chainrule as cr
from chainrule.core import reference as ref

# (in, out, kernel, stride, padding, output_padding, dilation, groups, H, W)
TRANSPOSE_CASES = [
    (1, 1, 3, 1, 0, 0, 1, 1, 3, 3),
    (2, 3, 3, 2, 1, 1, 1, 1, 4, 5),
    (2, 4, (2, 3), (2, 1), (0, 1), (1, 0), 1, 2, 3, 4),
    (3, 2, 2, 3, 0, 2, 1, 1, 2, 3),
    (2, 2, 3, 1, 2, 0, 2, 1, 4, 4),
    (4, 6, 2, 2, 1, (1, 0), (1, 2), 2, 3, 3),
    (1, 2, 3, 2, 0, 0, 3, 1, 2, 2),  # output_padding < dilation only: below
]
IDS = ["plain", "s2p1op1", "rect-groups", "s3op2", "dil2p2", "groups-dil", "dil3"]


def _layer(case, rng=0, bias=True):
    cin, cout, k, s, p, op, d, g, *_ = case
    return cr.ConvTranspose2d(cin, cout, k, s, p, op, g, bias, d, rng=rng)


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=IDS)
def test_conv_transpose_matches_its_naive_loop(case):
    rng = np.random.default_rng(1)
    layer = _layer(case)
    H, W = case[-2:]
    x = rng.normal(size=(2, case[0], H, W))
    y = layer.forward(x)
    m = layer
    want = ref.conv_transpose2d(
        x, m.weight.data, m.bias.data, m.stride, m.padding, m.output_padding, m.dilation, m.groups
    )
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
    dy = rng.normal(size=y.shape)
    layer.zero_grad()
    dx = layer.backward(dy)
    rdx, rdW, rdb = ref.conv_transpose2d_backward(dy, x, m.weight.data, m.stride, m.padding, m.dilation, m.groups)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, rdW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, rdb, rtol=1e-12, atol=1e-12)
    assert layer.output_shape(x.shape[1:]) == y.shape[1:]


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=IDS)
def test_conv_transpose_matches_torch_and_finite_differences(case):
    rng = np.random.default_rng(2)
    H, W = case[-2:]
    net = cr.Sequential(_layer(case, rng=3), cr.Tanh(), cr.Flatten())
    x = rng.normal(size=(2, case[0], H, W))
    width = net.output_shape(x.shape[1:])[0]
    y = rng.normal(size=(2, width))
    # PyTorch's own module, built by its constructor (not our converter), holding our weights
    cin, cout, k, s, p, op, d, g, *_ = case
    t = torch.nn.ConvTranspose2d(cin, cout, k, s, p, op, g, True, d, dtype=torch.float64)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(net[0].weight.data))
        t.bias.copy_(torch.from_numpy(net[0].bias.data))
    tnet = torch.nn.Sequential(t, torch.nn.Tanh(), torch.nn.Flatten())
    check_against_torch(net, x, y, cr.MSELoss(), rtol=RTOL_NETWORK, tmodel=tnet)
    check_against_torch(net, x, y, cr.MSELoss(), rtol=RTOL_NETWORK)  # and through interop.torch's twin
    report = cr.gradcheck(net, x, y, cr.MSELoss())
    assert report.ok(), str(report)


def test_conv_transpose_is_the_adjoint_of_conv2d():
    """<conv(x), y> = <x, convT(y)> with the same weight: the transposed convolution is the adjoint."""
    rng = np.random.default_rng(4)
    conv = cr.Conv2d(3, 4, 3, stride=2, padding=1, rng=0, bias=False)
    convt = cr.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1, bias=False, rng=0)
    convt.weight.data[...] = conv.weight.data
    x = rng.normal(size=(1, 3, 6, 6))
    y = rng.normal(size=(1, 4, 3, 3))
    assert convt.forward(y).shape == x.shape
    assert np.isclose(np.sum(conv.forward(x) * y), np.sum(x * convt.forward(y)), rtol=1e-12)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: cr.ConvTranspose2d(2, 3, 3, stride=2, output_padding=2), r"output_padding \(2, 2\) must be smaller"),
        (lambda: cr.ConvTranspose2d(3, 3, 3, groups=2), r"in_channels=3 is not divisible by groups=2"),
        (lambda: cr.ConvTranspose2d(2, 3, 3, padding="same"), r"padding must be a number"),
        (lambda: cr.ConvTranspose2d(2, 3, 0), r"kernel_size must be ≥ 1, got 0"),
        (lambda: cr.AdaptiveAvgPool2d(0), r"output_size must be ≥ 1, got 0"),
    ],
)
def test_bad_arguments_are_one_line_errors(make, message):
    with pytest.raises(cr.ChainruleError, match=message) as e:
        make()
    assert "\n" not in str(e.value)


def test_conv_transpose_refuses_a_padding_that_leaves_no_output():
    layer = cr.ConvTranspose2d(1, 1, 1, padding=2)
    with pytest.raises(cr.ChainruleError, match=r"on a 2×2 input gives a -2×-2 output"):
        layer.output_shape((1, 2, 2))


ADAPTIVE_CASES = [(1, 5, 7), ((2, 3), 4, 6), ((3, 2), 5, 7), ((4, None), 7, 3), (3, 3, 3), ((5, 4), 4, 3)]


@pytest.mark.parametrize("case", ADAPTIVE_CASES, ids=lambda c: str(c))
def test_adaptive_avg_pool_matches_its_loop_torch_and_finite_differences(case):
    size, H, W = case
    rng = np.random.default_rng(5)
    pool = cr.AdaptiveAvgPool2d(size)
    x = rng.normal(size=(2, 3, H, W))
    y = pool.forward(x)
    np.testing.assert_allclose(y, ref.adaptive_avg_pool2d(x, pool.output_hw((H, W))), rtol=1e-12, atol=1e-14)
    t = torch.nn.AdaptiveAvgPool2d(size)
    np.testing.assert_allclose(y, t(torch.from_numpy(x)).numpy(), rtol=1e-12, atol=1e-14)
    assert pool.output_shape(x.shape[1:]) == y.shape[1:]
    net = cr.Sequential(cr.Conv2d(3, 2, 1, rng=0), pool, cr.Flatten())
    target = rng.normal(size=(2, int(np.prod(y.shape[2:])) * 2))
    check_against_torch(net, x, target, cr.MSELoss())
    report = cr.gradcheck(net, x, target, cr.MSELoss())
    assert report.ok(), str(report)


def test_global_average_pooling_is_the_mean_of_each_map():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(cr.AdaptiveAvgPool2d(1).forward(x)[..., 0, 0], x.mean(axis=(2, 3)))
