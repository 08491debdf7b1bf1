"""Conv2d, MaxPool2d, AvgPool2d, Flatten against PyTorch (float64, 1e-10), naive loops, finite differences.

Random configurations as the issue lists them: batch 1–4, channels 1–6, kernels 1–5 (non-square too),
stride 1–3, padding 0–3 / 'same' / 'valid', dilation 1–3, groups 1, 2 and depthwise, and odd sizes where
the floor in the output-size formula drops the last rows or columns.
"""

import numpy as np
import pytest
from oracle import check_against_torch

import chainrule as cr
from chainrule.core import reference as ref
from chainrule.core import windows as win

# PyTorch warns that 'same' with an even kernel copies the input; that is its business, not ours
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def random_conv(seed: int):
    """(layer, x) for one random configuration that fits."""
    rng = np.random.default_rng(seed)
    kind = seed % 3  # 0: groups 1, 1: groups 2, 2: depthwise
    if kind == 0:
        groups, cin, cout = 1, int(rng.integers(1, 7)), int(rng.integers(1, 7))
    elif kind == 1:
        groups, cin, cout = 2, 2 * int(rng.integers(1, 4)), 2 * int(rng.integers(1, 4))
    else:
        cin = int(rng.integers(1, 7))
        groups, cout = cin, cin * int(rng.integers(1, 3))
    k = tuple(int(v) for v in rng.integers(1, 6, size=2))
    s = tuple(int(v) for v in rng.integers(1, 4, size=2))
    d = tuple(int(v) for v in rng.integers(1, 4, size=2))
    choice = int(rng.integers(0, 6))
    p = "same" if choice == 4 else "valid" if choice == 5 else tuple(int(v) for v in rng.integers(0, 4, 2))
    pp = (0, 0) if isinstance(p, str) else p
    ext = [d[a] * (k[a] - 1) + 1 for a in (0, 1)]
    hw = [int(rng.integers(max(1, ext[a] - 2 * pp[a]), ext[a] + 9)) for a in (0, 1)]
    if p == "same":  # any size fits
        hw = [int(rng.integers(1, 12)) for _ in (0, 1)]
    layer = cr.Conv2d(
        cin, cout, k, stride=s, padding=p, dilation=d, groups=groups, bias=bool(rng.integers(0, 4)), rng=rng
    )
    x = rng.normal(size=(int(rng.integers(1, 5)), cin, *hw))
    return layer, x


def random_pool(seed: int):
    rng = np.random.default_rng(1000 + seed)
    k = tuple(int(v) for v in rng.integers(1, 6, size=2))
    s = tuple(int(v) for v in rng.integers(1, 4, size=2))
    if seed % 2:
        d = tuple(int(v) for v in rng.integers(1, 4, size=2))
        p = tuple(int(rng.integers(0, k[a] // 2 + 1)) for a in (0, 1))
        layer = cr.MaxPool2d(k, s, p, dilation=d)
    else:
        d = (1, 1)
        p = tuple(int(rng.integers(0, k[a] // 2 + 1)) for a in (0, 1))
        layer = cr.AvgPool2d(k, s, p)
    hw = [int(rng.integers(max(1, d[a] * (k[a] - 1) + 1 - 2 * p[a]), d[a] * (k[a] - 1) + 10)) for a in (0, 1)]
    x = rng.normal(size=(int(rng.integers(1, 5)), int(rng.integers(1, 7)), *hw))
    return layer, x


def target_for(layer, x, rng):
    return rng.normal(size=layer(x).shape)


@pytest.mark.parametrize("seed", range(150))
def test_conv_matches_torch(seed):
    layer, x = random_conv(seed)
    check_against_torch(layer, x, target_for(layer, x, np.random.default_rng(seed)), cr.MSELoss())


@pytest.mark.parametrize("seed", range(80))
def test_pool_matches_torch(seed):
    layer, x = random_pool(seed)
    check_against_torch(layer, x, target_for(layer, x, np.random.default_rng(seed)), cr.MSELoss())


def test_configurations_cover_what_the_issue_asks():
    """The random configurations really include every case listed (so the oracle tests mean something)."""
    convs = [random_conv(s) for s in range(150)]
    seen = {
        "same": 0,
        "valid": 0,
        "floor drops": 0,
        "depthwise": 0,
        "groups 2": 0,
        "non-square": 0,
        "stride 3": 0,
        "dilation 3": 0,
        "padding 3": 0,
        "no bias": 0,
    }
    for layer, x in convs:
        seen["same"] += layer.padding == "same"
        seen["valid"] += layer.padding == "valid"
        seen["depthwise"] += layer.groups == layer.in_channels > 2
        seen["groups 2"] += layer.groups == 2
        seen["non-square"] += layer.kernel_size[0] != layer.kernel_size[1]
        seen["stride 3"] += 3 in layer.stride
        seen["dilation 3"] += 3 in layer.dilation
        seen["padding 3"] += not isinstance(layer.padding, str) and 3 in layer.padding
        seen["no bias"] += layer.bias is None
        steps = win.size_steps(x.shape[2:], layer.kernel_size, layer.stride, layer.padding, layer.dilation)
        seen["floor drops"] += any(a.uncovered_real for a in steps)
    assert all(v >= 3 for v in seen.values()), seen


def test_same_padding_with_stride_gives_ceil():
    for h in range(1, 12):
        for s in (1, 2, 3):
            layer = cr.Conv2d(1, 1, 3, stride=s, padding="same", rng=0)
            assert layer(np.zeros((1, 1, h, h + 1))).shape == (1, 1, -(-h // s), -(-(h + 1) // s))


@pytest.mark.parametrize("seed", range(24))
def test_conv_fast_equals_naive(seed):
    layer, x = random_conv(seed)
    x = x[:2, :, :9, :9]  # the loops are slow
    try:
        y = layer(x)
    except cr.ChainruleError:  # cropping made the kernel too big: not this test's business
        return
    pads = layer.pads(x.shape[2:])
    b = None if layer.bias is None else layer.bias.data
    W = layer.weight.data
    np.testing.assert_allclose(
        y, ref.conv2d(x, W, b, layer.stride, pads, layer.dilation, layer.groups), rtol=1e-12, atol=1e-12
    )
    dy = np.random.default_rng(seed).normal(size=y.shape)
    layer.zero_grad()
    dx = layer.backward(dy)
    rdx, rdW, rdb = ref.conv2d_backward(dy, x, W, layer.stride, pads, layer.dilation, layer.groups)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, rdW, rtol=1e-12, atol=1e-12)
    if layer.bias is not None:
        np.testing.assert_allclose(layer.bias.grad, rdb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(24))
def test_pool_fast_equals_naive(seed):
    layer, x = random_pool(seed)
    y = layer(x)
    dy = np.random.default_rng(seed).normal(size=y.shape)
    dx = layer.backward(dy)
    pads = layer.pads(x.shape[2:])
    if isinstance(layer, cr.MaxPool2d):
        ry, rdx = ref.max_pool2d(x, dy, layer.kernel_size, layer.stride, pads, layer.dilation)
    else:
        ry, rdx = ref.avg_pool2d(x, dy, layer.kernel_size, layer.stride, pads)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_finite_differences(seed):
    rng = np.random.default_rng(seed)
    conv, x = random_conv(seed)
    x = x[:2]
    y = conv(x)
    pool = cr.AvgPool2d(1) if seed % 2 else cr.MaxPool2d(1)
    if min(y.shape[2:]) >= 2:
        pool = cr.AvgPool2d(2, 1) if seed % 2 else cr.MaxPool2d(2, 1)
    net = cr.Sequential(conv, cr.Tanh(), pool, cr.Flatten())
    target = rng.normal(size=net(x).shape)
    report = cr.gradcheck(net, x, target, cr.MSELoss())
    assert report.ok(atol=1e-7, rtol=1e-6), str(report)


def test_cnn_in_sequential_matches_torch():
    rng = np.random.default_rng(7)
    net = cr.Sequential(
        cr.Conv2d(2, 4, 3, padding=1, rng=rng),
        cr.ReLU(),
        cr.MaxPool2d(2),
        cr.Conv2d(4, 6, (2, 3), stride=(1, 2), groups=2, rng=rng),
        cr.Tanh(),
        cr.AvgPool2d(2, 1),
        cr.Flatten(),
        cr.Linear(6 * 2 * 1, 5, rng=rng),
    )
    x = rng.normal(size=(3, 2, 9, 10))
    check_against_torch(net, x, rng.integers(0, 5, size=3), cr.CrossEntropyLoss())


def test_unbatched_image():
    rng = np.random.default_rng(3)
    conv = cr.Conv2d(2, 3, 3, padding="same", rng=rng)
    x = rng.normal(size=(2, 5, 6))
    batched = conv(x[None])[0]
    y = conv(x)
    assert y.shape == (3, 5, 6)
    np.testing.assert_allclose(y, batched)
    dx = conv.backward(np.ones_like(y))
    assert dx.shape == x.shape


def flat_case(seed: int):
    """A stride-1 configuration the flat layout supports (padding up to what 'same' adds), groups 1, 2, C."""
    rng = np.random.default_rng(5000 + seed)
    k = tuple(int(v) for v in rng.integers(1, 6, size=2))
    d = tuple(int(v) for v in rng.integers(1, 3, size=2))
    ext = [d[a] * (k[a] - 1) + 1 for a in (0, 1)]
    if seed % 4 == 0:
        p = "same"
    elif seed % 4 == 1:
        p = "valid"
    else:
        p = tuple(int(rng.integers(0, (ext[a] - 1) // 2 + 1)) for a in (0, 1))
    big = seed % 5 == 0  # large enough to be split over the threads
    n, cin, cout = (8, 4, 8) if big else (int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    groups = [1, 2, cin][seed % 3]  # groups 1, 2 and depthwise
    if groups == 2:
        cin, cout = 2 * cin, 2 * cout
    elif groups == cin:
        cout = cin * int(rng.integers(1, 3))
    hw = [int(rng.integers(ext[a], ext[a] + 12)) for a in (0, 1)]
    layer = cr.Conv2d(cin, cout, k, padding=p, dilation=d, groups=groups, bias=bool(seed % 4), rng=rng)
    x = rng.normal(size=(n, cin, *((12, 13) if big else hw)))
    return layer, x


@pytest.mark.parametrize("seed", range(40))
def test_flat_path_matches_torch_and_im2col(seed):
    layer, x = flat_case(seed)
    try:
        layer.output_shape(x.shape[1:])
    except cr.ChainruleError:
        pytest.skip("kernel larger than this input")
    layer.path = "flat"
    y = layer(x)
    check_against_torch(layer, x, target_for(layer, x, np.random.default_rng(seed)), cr.MSELoss())
    dy = np.random.default_rng(seed).normal(size=y.shape)
    grads = {}
    for path in ("flat", "im2col"):
        layer.path = path
        layer.zero_grad()
        out = layer(x)
        dx = layer.backward(dy)
        grads[path] = (out, dx, layer.weight.grad.copy(), None if layer.bias is None else layer.bias.grad.copy())
    for a, b in zip(grads["flat"], grads["im2col"], strict=True):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_flat_path_is_deterministic_and_keeps_outputs():
    rng = np.random.default_rng(0)
    layer = cr.Conv2d(3, 5, 3, padding=1, rng=rng)
    x1, x2 = rng.normal(size=(2, 16, 3, 10, 10))
    y1 = layer(x1)
    keep = y1.copy()
    layer(x2)  # reuses the layer's buffers: earlier outputs must not change
    np.testing.assert_array_equal(y1, keep)
    runs = []
    for _ in range(2):
        layer.zero_grad()
        layer(x1)
        layer.backward(np.ones((16, 5, 10, 10)))
        runs.append(layer.weight.grad.tobytes())
    assert runs[0] == runs[1]
    strided = cr.Conv2d(1, 1, 3, stride=2, rng=0)
    strided.path = "flat"
    with pytest.raises(cr.ChainruleError, match="needs stride 1"):
        strided(np.zeros((1, 1, 5, 5)))
