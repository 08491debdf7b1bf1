"""Pooling's ceil_mode and count_include_pad=False: PyTorch (float64, 1e-10), the naive loops, finite
differences, ONNX (onnxruntime), the PyTorch twin both ways, spec keys and model files."""

import numpy as np
import pytest
from oracle import check_against_torch

import chainrule as cr
from chainrule.core import reference as ref
from chainrule.serialize import load_model, save_model


def random_pool(seed: int):
    """(layer, x): a random pool with ceil_mode and/or count_include_pad=False, sizes where they matter."""
    rng = np.random.default_rng(2000 + seed)
    k = tuple(int(v) for v in rng.integers(1, 5, size=2))
    s = tuple(int(v) for v in rng.integers(1, 4, size=2))
    p = tuple(int(rng.integers(0, k[a] // 2 + 1)) for a in (0, 1))
    ceil = bool(seed % 3 != 2)
    if seed % 2:
        d = tuple(int(v) for v in rng.integers(1, 3, size=2))
        layer = cr.MaxPool2d(k, s, p, dilation=d, ceil_mode=ceil)
    else:
        d = (1, 1)
        layer = cr.AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=bool(seed % 4 == 2) or not ceil)
        if not ceil:
            layer.count_include_pad = False
    # at least the dilated kernel: a dilated window that sees nothing but padding has no maximum
    low = [d[a] * (k[a] - 1) + 1 - (2 * p[a] if d[a] == 1 else 0) for a in (0, 1)]
    hw = [int(rng.integers(max(1, low[a]), d[a] * (k[a] - 1) + 8)) for a in (0, 1)]
    x = rng.normal(size=(int(rng.integers(1, 4)), int(rng.integers(1, 4)), *hw))
    return layer, x


@pytest.mark.parametrize("seed", range(40))
def test_matches_torch_and_the_naive_loops(seed):
    layer, x = random_pool(seed)
    y = layer(x)
    dy = np.random.default_rng(seed).normal(size=y.shape)
    check_against_torch(layer, x, dy, cr.MSELoss())
    dx = layer.backward(dy)
    pads = (layer.padding[0],) * 2 + (layer.padding[1],) * 2  # the naive loops work out the overhang themselves
    if isinstance(layer, cr.MaxPool2d):
        ry, rdx = ref.max_pool2d(x, dy, layer.kernel_size, layer.stride, pads, layer.dilation, layer.ceil_mode)
    else:
        ry, rdx = ref.avg_pool2d(x, dy, layer.kernel_size, layer.stride, pads, layer.ceil_mode, layer.count_include_pad)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    assert layer.output_shape(x.shape[1:]) == y.shape[1:]


def test_ceil_mode_keeps_the_partial_window_and_drops_one_in_the_padding():
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    assert cr.MaxPool2d(2)(x).shape == (1, 1, 2, 2)
    y = cr.MaxPool2d(2, ceil_mode=True)(x)
    np.testing.assert_array_equal(y[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    # the overhang is not counted: the last column averages 2 values, the corner 1
    a = cr.AvgPool2d(2, ceil_mode=True)(x)[0, 0]
    assert a[0, 2] == (4 + 9) / 2 and a[2, 2] == 24
    # a window that would start in the bottom padding is dropped (PyTorch: ⌈(4 + 2 − 2)/2⌉ + 1 = 3, less 1)
    assert cr.MaxPool2d(2, padding=1, ceil_mode=True)(np.zeros((1, 1, 4, 4))).shape == (1, 1, 3, 3)
    b = cr.AvgPool2d(3, 1, 1, count_include_pad=False)(np.ones((1, 1, 3, 3)))
    np.testing.assert_allclose(b, 1.0)


@pytest.mark.parametrize("seed", [0, 1, 3, 4])
def test_finite_differences(seed):
    layer, x = random_pool(seed)
    net = cr.Sequential(cr.Tanh(), layer, cr.Flatten())
    target = np.random.default_rng(seed).normal(size=net(x).shape)
    report = cr.gradcheck(net, x, target, cr.MSELoss())
    assert report.ok(atol=1e-7, rtol=1e-6), str(report)


def test_torch_twin_both_ways_and_model_files(tmp_path):
    import torch

    from chainrule.interop.torch import from_torch, to_torch

    layers = [cr.MaxPool2d(3, 2, 1, ceil_mode=True), cr.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)]
    for layer in layers:
        t = to_torch(layer)
        assert t.ceil_mode and getattr(t, "count_include_pad", True) == getattr(layer, "count_include_pad", True)
        assert from_torch(t).to_config() == layer.to_config()
    assert from_torch(torch.nn.AvgPool2d(2, count_include_pad=False)).count_include_pad is False
    with pytest.raises(cr.ChainruleError, match="divisor_override"):
        from_torch(torch.nn.AvgPool2d(2, divisor_override=3))
    # the defaults write no new keys, so model files written before these options keep their bytes
    assert "ceil_mode" not in cr.MaxPool2d(2).config() and "count_include_pad" not in cr.AvgPool2d(2).config()
    net = cr.Sequential(cr.Conv2d(1, 2, 3, rng=0), *layers, cr.Flatten())
    save_model(tmp_path / "m.safetensors", net)
    back, _ = load_model(tmp_path / "m.safetensors")
    x = np.random.default_rng(0).normal(size=(2, 1, 9, 9))
    np.testing.assert_array_equal(back(x), net(x))


@pytest.mark.parametrize("hw", [(9, 9), (8, 11)])
def test_onnx_export_matches_onnxruntime(hw):
    from test_onnx_export import check_against_onnx

    rng = np.random.default_rng(5)
    net = cr.Sequential(
        cr.Conv2d(1, 3, 3, padding=1, dtype=np.float32, rng=rng),
        cr.MaxPool2d(2, ceil_mode=True),
        cr.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        cr.AvgPool2d(2, 1, 1, ceil_mode=True),
        cr.Flatten(),
    )
    proto = check_against_onnx(net, rng.normal(size=(2, 1, *hw)), 1e-5)
    attrs = [
        {a.name: a.i for a in n.attribute if a.name in ("ceil_mode", "count_include_pad")} for n in proto.graph.node
    ]
    assert attrs[1:4] == [
        {"ceil_mode": 1},
        {"ceil_mode": 1, "count_include_pad": 0},
        {"ceil_mode": 1, "count_include_pad": 1},
    ]


def test_spec_keys_and_one_line_errors(tmp_path):
    from chainrule.spec import load_spec

    f = tmp_path / "net.toml"
    f.write_text(
        'input = [1, 5, 5]\n[[layers]]\ntype = "maxpool2d"\nkernel_size = 2\nceil_mode = true\n'
        '[[layers]]\ntype = "avgpool2d"\nkernel_size = 2\npadding = 1\ncount_include_pad = false\n'
        '[[layers]]\ntype = "flatten"\n'
    )
    spec = load_spec(f)
    assert [ls.kwargs.get("ceil_mode", ls.kwargs.get("count_include_pad")) for ls in spec.layers][:2] == [True, False]
    with pytest.raises(cr.ChainruleError, match="ceil_mode must be true or false, got 1"):
        cr.MaxPool2d(2, ceil_mode=1)
    with pytest.raises(cr.ChainruleError, match="count_include_pad must be true or false"):
        cr.AvgPool2d(2, count_include_pad="no")
