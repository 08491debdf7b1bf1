"""The new activations export to ONNX (composite GELU at the default opset 17, Gelu at 20) and agree
with onnxruntime to 1e-5 in float32."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.export.onnx import onnx_model

ort = pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("opset", [17, 20])
@pytest.mark.parametrize("seed", range(3))
def test_mixed_network_agrees_with_onnxruntime(opset, seed):
    rng = np.random.default_rng(seed)
    acts = [cr.LeakyReLU(0.2), cr.ELU(0.5), cr.GELU(), cr.GELU("tanh"), cr.SiLU(), cr.Tanh(), cr.ReLU()]
    order = rng.permutation(len(acts))
    layers = []
    for i in order:
        layers += [cr.Linear(6 if layers else 4, 6, rng=rng, dtype=np.float32), acts[i]]
    net = cr.Sequential(*layers, cr.Linear(6, 3, rng=rng, dtype=np.float32), cr.LogSoftmax(dim=1))
    s = ort.InferenceSession(onnx_model(net, opset=opset).SerializeToString())
    x = (rng.normal(size=(5, 4)) * 2).astype(np.float32)
    out = s.run(None, {s.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(out, net.forward(x), rtol=1e-5, atol=1e-5)
