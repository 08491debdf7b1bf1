"""Conv/pool layers: the recitation's numbers, PyTorch's attributes, model files, conversions, and errors."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.core import windows as win
from chainrule.interop.torch import from_torch, to_torch
from chainrule.serialize import load_model, save_model

X = np.array([[2, 3, -1, 2], [4, 1, 0, 1], [-2, 1, 3, 2], [-1, -2, 0, 5]], dtype=float)
F = np.array([[1, 0, 1], [-1, 0, -1], [1, 0, 1]], dtype=float)


def test_recitation_4_2_a():
    conv = cr.Conv2d(1, 1, 3, bias=False)
    conv.weight.data[0, 0] = F
    assert np.array_equal(conv(X[None, None])[0, 0], [[-2, 6], [2, 2]])


def test_recitation_4_2_b_output_size():
    assert [win.output_size(n, 5, 3, 4) for n in (9, 6)] == [5, 4]
    assert cr.Conv2d(1, 1, 5, stride=3, padding=4, rng=0)(np.zeros((1, 1, 9, 6))).shape == (1, 1, 5, 4)


def test_pytorch_attributes():
    conv = cr.Conv2d(4, 6, (3, 5), stride=2, padding=(1, 2), dilation=(2, 1), groups=2, rng=0)
    t = torch.nn.Conv2d(4, 6, (3, 5), stride=2, padding=(1, 2), dilation=(2, 1), groups=2)
    for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"):
        assert getattr(conv, name) == getattr(t, name), name
    assert conv.weight.shape == tuple(t.weight.shape) and conv.bias.shape == tuple(t.bias.shape)
    assert cr.Conv2d(1, 1, 3, padding="same").padding == "same"
    assert cr.Conv2d(1, 1, 3, padding="Valid").padding == "valid"
    net = cr.Sequential(cr.Conv2d(1, 2, 3), cr.ReLU())
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    pool = cr.MaxPool2d(3)
    assert pool.stride == (3, 3) and pool.padding == (0, 0)


def test_default_init_bounds_follow_pytorch():
    conv = cr.Conv2d(4, 8, 3, groups=2, rng=0)
    bound = 1 / np.sqrt(2 * 3 * 3)  # fan_in = (in/groups)·KH·KW
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.8 * bound


def cnn(rng, dtype=np.float64):
    return cr.Sequential(
        cr.Conv2d(1, 3, 3, padding="same", rng=rng, dtype=dtype),
        cr.ReLU(),
        cr.MaxPool2d(2, dilation=1),
        cr.Conv2d(3, 4, (2, 3), stride=2, padding=(1, 0), dilation=(1, 2), rng=rng, dtype=dtype),
        cr.AvgPool2d(2, 1, 1),
        cr.Flatten(),
        cr.Linear(4 * 4 * 3, 3, rng=rng, dtype=dtype),
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_model_file_round_trip(tmp_path, dtype):
    rng = np.random.default_rng(0)
    net = cnn(rng, dtype)
    x = rng.normal(size=(2, 1, 10, 16)).astype(dtype)
    save_model(tmp_path / "cnn.safetensors", net)
    back, _ = load_model(tmp_path / "cnn.safetensors")
    assert repr(back) == repr(net)
    assert back(x).dtype == dtype
    np.testing.assert_array_equal(back(x), net(x))


def test_from_torch_round_trip():
    rng = np.random.default_rng(1)
    net = cnn(rng)
    back = from_torch(to_torch(net))
    assert [layer.to_config() for layer in back] == [layer.to_config() for layer in net]
    x = rng.normal(size=(2, 1, 10, 16))
    np.testing.assert_allclose(back(x), net(x), rtol=1e-12)
    with pytest.raises(cr.ChainruleError, match="padding_mode"):
        from_torch(torch.nn.Conv2d(1, 1, 3, padding_mode="reflect"))
    with pytest.raises(cr.ChainruleError, match="return_indices"):
        from_torch(torch.nn.MaxPool2d(2, return_indices=True))


def test_trains_with_the_optimisers():
    rng = np.random.default_rng(2)
    net = cr.Sequential(cr.Conv2d(1, 2, 3, rng=rng), cr.Flatten(), cr.Linear(2 * 4 * 4, 1, rng=rng))
    x, y = rng.normal(size=(8, 1, 6, 6)), rng.normal(size=(8, 1))
    opt, loss = cr.Adam(net.parameters(), lr=0.05), cr.MSELoss()
    first = None
    for _ in range(30):
        net.zero_grad()
        value = loss.forward(net(x), y)
        first = value if first is None else first
        net.backward(loss.backward())
        opt.step()
    assert value < 0.5 * first


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: cr.Conv2d(1, 1, 5)(np.zeros((1, 1, 4, 4))), r"kernel is 5×5 but the padded input is only 4×4"),
        (
            lambda: cr.Conv2d(1, 1, 5, padding=1)(np.zeros((1, 1, 2, 2))),
            r"kernel is 5×5 but the padded input is only 4×4 \(H×W=2×2, P=1\)",
        ),
        (lambda: cr.Conv2d(1, 1, 3, dilation=2)(np.zeros((1, 1, 4, 4))), r"dilated to 5×5"),
        (lambda: cr.Conv2d(1, 1, 3, stride=0), r"stride must be ≥ 1, got 0"),
        (lambda: cr.Conv2d(1, 1, 3, dilation=0), r"dilation must be ≥ 1, got 0"),
        (lambda: cr.Conv2d(1, 1, 3, padding=-1), r"padding must be ≥ 0, got -1"),
        (lambda: cr.Conv2d(1, 1, 3, padding="full"), r"padding 'full' is not understood"),
        (lambda: cr.Conv2d(3, 4, 3, groups=2), r"in_channels=3 is not divisible by groups=2"),
        (lambda: cr.Conv2d(4, 3, 3, groups=2), r"out_channels=3 is not divisible by groups=2"),
        (lambda: cr.Conv2d(3, 4, 3)(np.zeros((1, 2, 5, 5))), r"has 2 channel\(s\).*expects 3"),
        (lambda: cr.Conv2d(1, 1, 3)(np.zeros((5, 5))), r"expected \(N, C, H, W\)"),
        (lambda: cr.Conv2d(1, 1, (3, 3, 3)), r"kernel_size must be one int or an \(h, w\) pair"),
        (lambda: cr.Conv2d(1, 1, 2.5), r"kernel_size must be a whole number"),
        (lambda: cr.MaxPool2d(2, padding=2), r"padding .* more than half the kernel"),
        (lambda: cr.MaxPool2d(3)(np.zeros((1, 1, 2, 2))), r"kernel is 3×3 but the padded input is only 2×2"),
        (lambda: cr.Flatten(2, 1)(np.zeros((2, 3, 4))), r"does not fit an input of shape"),
    ],
)
def test_bad_input_errors(make, message):
    with pytest.raises(cr.ChainruleError, match=message):
        make()


def test_same_padding_with_stride_converts_both_ways():
    rng = np.random.default_rng(4)
    net = cr.Sequential(cr.Conv2d(2, 3, 4, stride=2, padding="same", rng=rng), cr.Flatten())
    back = from_torch(to_torch(net))
    assert back[0].padding == "same" and back[0].stride == (2, 2)
    x = rng.normal(size=(2, 2, 7, 9))
    np.testing.assert_allclose(back(x), net(x), rtol=1e-12)
    assert net(x).shape == (2, 3 * 4 * 5)


def test_float32_fast_path_matches_im2col():
    rng = np.random.default_rng(5)
    conv = cr.Conv2d(3, 6, 3, padding=1, dtype=np.float32, rng=rng)
    x = rng.standard_normal((16, 3, 12, 12), dtype=np.float32)
    dy = rng.standard_normal((16, 6, 12, 12), dtype=np.float32)
    results = []
    for path in ("flat", "im2col"):
        conv.path = path
        conv.zero_grad()
        y = conv(x)
        dx = conv.backward(dy)
        assert y.dtype == dx.dtype == conv.weight.grad.dtype == np.float32
        results.append((y, dx, conv.weight.grad.copy(), conv.bias.grad.copy()))
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_set_num_threads_splits_the_flat_path_without_changing_the_forward():
    rng = np.random.default_rng(3)
    conv = cr.Conv2d(4, 8, 3, padding=1, rng=0)
    x, dy = rng.standard_normal((8, 4, 10, 10)), rng.standard_normal((8, 8, 10, 10))
    before = cr.get_num_threads()
    results = []
    try:
        for n in (1, 3):
            cr.set_num_threads(n)
            assert cr.get_num_threads() == n
            conv.zero_grad()
            y = conv.forward(x)
            results.append((y, conv.backward(dy), conv.weight.grad.copy()))
    finally:
        cr.set_num_threads(before)
    (y1, dx1, g1), (y3, dx3, g3) = results
    assert np.array_equal(y1, y3) and np.array_equal(dx1, dx3)  # per-sample work: the same bytes
    np.testing.assert_allclose(g1, g3, rtol=1e-12, atol=1e-12)  # ∂ℓ/∂W sums chunks in another grouping
    for bad in (0, 1.5, True):
        with pytest.raises(cr.ChainruleError, match="whole number ≥ 1"):
            cr.set_num_threads(bad)
