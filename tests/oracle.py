"""The one PyTorch oracle every layer and network is checked against.

``check_against_torch(model, x, y, loss)`` runs the same computation in chainrule and in PyTorch
(float64, weights copied through ``chainrule.interop.torch.to_torch``) and asserts that the output,
the loss, ∂ℓ/∂x and every parameter's gradient agree to ``rtol``.
"""

import numpy as np
import torch

from chainrule import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, MSELoss, NLLLoss, SquaredError
from chainrule.interop.torch import to_torch

# Tolerances between two libraries (float64), stated once: a single product may differ in its last bits
# (another BLAS kernel, another summation order); errors grow through a network.
RTOL_PRODUCT = 1e-12
RTOL_NETWORK = 1e-10


def _t(v):
    return None if v is None else torch.as_tensor(np.asarray(v, dtype=np.float64))


def _same_shape(y, yhat_t):
    return torch.as_tensor(np.asarray(y, dtype=np.float64)).reshape(yhat_t.shape)


def torch_loss(loss, yhat_t, y):
    """PyTorch's value of chainrule's ``loss`` for output ``yhat_t`` and target ``y``."""
    if isinstance(loss, SquaredError):
        t = torch.as_tensor(np.asarray(y, dtype=np.float64)).reshape(yhat_t.shape)
        n = yhat_t.shape[0] if yhat_t.ndim > 1 else 1
        return 0.5 * ((yhat_t - t) ** 2).sum() / n
    if isinstance(loss, MSELoss):
        t = torch.as_tensor(np.asarray(y, dtype=np.float64)).reshape(yhat_t.shape)
        return torch.nn.functional.mse_loss(yhat_t, t)
    F = torch.nn.functional
    if isinstance(loss, CrossEntropyLoss):
        y = np.asarray(y)
        t = torch.as_tensor(y) if y.dtype.kind == "f" else torch.as_tensor(y.astype(np.int64))
        return F.cross_entropy(yhat_t, t, weight=_t(loss.weight), label_smoothing=loss.label_smoothing)
    if isinstance(loss, NLLLoss):
        return F.nll_loss(yhat_t, torch.as_tensor(np.asarray(y).astype(np.int64)), weight=_t(loss.weight))
    if isinstance(loss, HuberLoss):
        return F.huber_loss(yhat_t, _same_shape(y, yhat_t), delta=loss.delta)
    if isinstance(loss, BCELoss):
        return F.binary_cross_entropy(yhat_t, _same_shape(y, yhat_t), weight=_t(loss.weight))
    if isinstance(loss, BCEWithLogitsLoss):
        return F.binary_cross_entropy_with_logits(
            yhat_t, _same_shape(y, yhat_t), weight=_t(loss.weight), pos_weight=_t(loss.pos_weight)
        )
    raise TypeError(f"no PyTorch twin for {loss!r}")


def assert_close(ours, theirs, rtol, what):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs PyTorch {theirs.shape}"
    scale = max(1.0, float(np.max(np.abs(theirs)))) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * 1e-3 * scale, err_msg=what)


def check_against_torch(model, x, y, loss, rtol: float = RTOL_NETWORK, tmodel=None) -> None:
    """Forward values, loss, input gradient and every parameter gradient equal PyTorch's.

    ``tmodel`` is the PyTorch twin to compare with; by default ``to_torch(model)``.
    """
    x = np.asarray(x, dtype=model.dtype or np.float64)
    tmodel = to_torch(model) if tmodel is None else tmodel
    tmodel.zero_grad()
    xt = torch.tensor(x, requires_grad=True)
    yt = tmodel(xt)
    lt = torch_loss(loss, yt, y)
    lt.backward()

    model.zero_grad()
    yhat = model.forward(x)
    value = loss.forward(yhat, y)
    dx = model.backward(loss.backward())

    assert yhat.dtype == x.dtype, f"output dtype {yhat.dtype} != input dtype {x.dtype}"
    assert_close(yhat, yt.detach().numpy(), rtol, "forward output")
    assert_close(value, lt.item(), rtol, "loss")
    assert_close(dx, xt.grad.numpy(), rtol, "input gradient")
    theirs = dict(tmodel.named_parameters())
    ours = dict(model.named_parameters())
    assert set(ours) == set(theirs), f"parameter names {sorted(ours)} vs PyTorch {sorted(theirs)}"
    for name, p in ours.items():
        assert_close(p.grad, theirs[name].grad.numpy(), rtol, f"gradient of {name}")


def torch_intermediates(model, x, y, loss) -> dict:
    """PyTorch's output and gradient of every layer of a Sequential, for one pass (float64).

    Returns {"outputs": [...], "output_grads": [...], "loss": float, "grads": {name: array}}; the i-th
    entries are layer i's output and ∂ℓ/∂(that output), as in ``Sequential.outputs`` / ``output_grads``.
    """
    tmodel = to_torch(model)
    outs = []

    def keep(_module, _inputs, out):
        if not out.requires_grad:
            return
        out.retain_grad()
        outs.append(out)

    hooks = [layer.register_forward_hook(keep) for layer in tmodel]
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    lt = torch_loss(loss, tmodel(xt), y)
    lt.backward()
    for h in hooks:
        h.remove()
    return {
        "outputs": [o.detach().numpy() for o in outs],
        "output_grads": [o.grad.numpy() for o in outs],
        "loss": lt.item(),
        "grads": {k: p.grad.numpy() for k, p in tmodel.named_parameters()},
    }
