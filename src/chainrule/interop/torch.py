"""chainrule ⇄ PyTorch: equivalent modules with the same weights (torch imported only here).

Each direction is a table from layer type to a small converter, so a new layer adds one entry each.
"""

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn import activations as act
from chainrule.nn.containers import Sequential
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module


def _torch():
    try:
        import torch
    except ImportError:
        raise ChainruleError("this needs PyTorch: pip install 'chainrule[torch]'") from None
    return torch


def _tensor(torch, a: np.ndarray):
    return torch.from_numpy(np.array(a, copy=True))


# --- chainrule -> torch ----------------------------------------------------------------------------
def _linear_to(torch, m: Linear):
    t = torch.nn.Linear(m.in_features, m.out_features, bias=m.bias is not None,
                        dtype=getattr(torch, str(m.weight.dtype)))
    with torch.no_grad():
        t.weight.copy_(_tensor(torch, m.weight.data))
        if m.bias is not None:
            t.bias.copy_(_tensor(torch, m.bias.data))
    return t


TO_TORCH = {
    Linear: _linear_to,
    act.Tanh: lambda torch, m: torch.nn.Tanh(),
    act.Sigmoid: lambda torch, m: torch.nn.Sigmoid(),
    act.ReLU: lambda torch, m: torch.nn.ReLU(),
    act.Identity: lambda torch, m: torch.nn.Identity(),
    act.Softmax: lambda torch, m: torch.nn.Softmax(dim=m.dim),
    Sequential: lambda torch, m: torch.nn.Sequential(*(to_torch(layer) for layer in m)),
}


def to_torch(model: Module, _path: str = "model"):
    """An equivalent ``torch.nn`` module holding copies of ``model``'s weights (bitwise, same dtype)."""
    torch = _torch()
    if type(model) is Sequential:  # here rather than in the table, to name where a bad layer sits
        return torch.nn.Sequential(*(to_torch(layer, f"{_path}[{i}]") for i, layer in enumerate(model)))
    convert = TO_TORCH.get(type(model))
    if convert is None:
        raise ChainruleError(f"layer {_path} ({type(model).__name__}) has no PyTorch equivalent in chainrule's "
                             f"converter; it converts {', '.join(sorted(t.__name__ for t in TO_TORCH))}")
    return convert(torch, model)


# --- torch -> chainrule ----------------------------------------------------------------------------
def _linear_from(t) -> Linear:
    dtype = str(t.weight.dtype).removeprefix("torch.")
    m = Linear(t.in_features, t.out_features, bias=t.bias is not None, dtype=dtype, rng=0)
    m.weight.data[...] = t.weight.detach().cpu().numpy()
    if t.bias is not None:
        m.bias.data[...] = t.bias.detach().cpu().numpy()
    return m


def _from_table(torch) -> dict:
    nn = torch.nn
    return {
        nn.Linear: _linear_from,
        nn.Tanh: lambda t: act.Tanh(),
        nn.Sigmoid: lambda t: act.Sigmoid(),
        nn.ReLU: lambda t: act.ReLU(),
        nn.Identity: lambda t: act.Identity(),
        nn.Softmax: lambda t: act.Softmax(dim=-1 if t.dim is None else t.dim),
        nn.Sequential: lambda t: Sequential(*(from_torch(c) for c in t)),
    }


# extra torch-type -> converter entries registered by other layer modules (conv, pooling …)
FROM_TORCH_EXTRA: dict = {}


def from_torch(module, _path: str = "model") -> Module:
    """A chainrule module equivalent to a ``torch.nn`` module built from layer types chainrule has.

    Weights are copied bitwise in their dtype (float32 or float64). Anything else is an error naming
    the module and where it sits, e.g. "PyTorch module Dropout at model[2] is not supported".
    """
    torch = _torch()
    table = {**_from_table(torch), **FROM_TORCH_EXTRA}
    if type(module) is torch.nn.Sequential:  # here rather than in the table, to track each child's position
        return Sequential(*(from_torch(child, f"{_path}[{i}]") for i, child in enumerate(module)))
    convert = table.get(type(module))
    if convert is None:
        if not isinstance(module, torch.nn.Module):
            raise ChainruleError(f"{_path} is a {type(module).__name__}, not a PyTorch module")
        raise ChainruleError(f"PyTorch module {type(module).__name__} at {_path} is not supported; chainrule "
                             f"converts {', '.join(sorted(t.__name__ for t in table))}")
    try:
        return convert(module)
    except ChainruleError as e:
        raise ChainruleError(f"PyTorch module {type(module).__name__} at {_path}: {e}") from None
