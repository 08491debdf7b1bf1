"""chainrule ⇄ PyTorch: equivalent modules with the same weights (torch imported only here).

Each direction is a table from layer type to a small converter, so a new layer adds one entry each.
"""

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn import activations as act
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.nn.pool import AvgPool2d, MaxPool2d


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


def _conv_to(torch, m: Conv2d):
    padding = m.padding
    if padding == "same" and m.stride != (1, 1):
        # PyTorch refuses padding='same' with stride > 1: pad (possibly unequally) first, then convolve
        padding = (0, 0)
    kw = dict(stride=m.stride, padding=padding, dilation=m.dilation, groups=m.groups, bias=m.bias is not None,
              dtype=getattr(torch, str(m.weight.dtype)))
    if m.padding == "same" and padding == (0, 0):
        t = _same_strided_conv(torch)(m.in_channels, m.out_channels, m.kernel_size, **kw)
        t.pads_for = m.pads
    else:
        t = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, **kw)
    with torch.no_grad():
        t.weight.copy_(_tensor(torch, m.weight.data))
        if m.bias is not None:
            t.bias.copy_(_tensor(torch, m.bias.data))
    return t


def _same_strided_conv(torch):
    """A torch Conv2d that first zero-pads its input as chainrule's padding='same' with stride > 1 does."""

    class SameStridedConv2d(torch.nn.Conv2d):
        def forward(self, x):
            t, b, left, r = self.pads_for(tuple(x.shape[-2:]))
            return super().forward(torch.nn.functional.pad(x, (left, r, t, b)))

    return SameStridedConv2d


TO_TORCH = {
    Linear: _linear_to,
    Conv2d: _conv_to,
    MaxPool2d: lambda torch, m: torch.nn.MaxPool2d(m.kernel_size, m.stride, m.padding, m.dilation),
    AvgPool2d: lambda torch, m: torch.nn.AvgPool2d(m.kernel_size, m.stride, m.padding),
    Flatten: lambda torch, m: torch.nn.Flatten(m.start_dim, m.end_dim),
    act.Tanh: lambda torch, m: torch.nn.Tanh(),
    act.Sigmoid: lambda torch, m: torch.nn.Sigmoid(),
    act.ReLU: lambda torch, m: torch.nn.ReLU(),
    act.Identity: lambda torch, m: torch.nn.Identity(),
    act.Softmax: lambda torch, m: torch.nn.Softmax(dim=m.dim),
    Sequential: lambda torch, m: torch.nn.Sequential(*(to_torch(layer) for layer in m)),
}


def to_torch(model: Module):
    """An equivalent ``torch.nn`` module holding copies of ``model``'s weights."""
    torch = _torch()
    convert = TO_TORCH.get(type(model))
    if convert is None:
        raise ChainruleError(f"layer {type(model).__name__} has no PyTorch equivalent in chainrule's converter")
    return convert(torch, model)


# --- torch -> chainrule ----------------------------------------------------------------------------
def _linear_from(t) -> Linear:
    dtype = str(t.weight.dtype).removeprefix("torch.")
    m = Linear(t.in_features, t.out_features, bias=t.bias is not None, dtype=dtype, rng=0)
    m.weight.data[...] = t.weight.detach().cpu().numpy()
    if t.bias is not None:
        m.bias.data[...] = t.bias.detach().cpu().numpy()
    return m


def _conv_from(t) -> Conv2d:
    if t.padding_mode != "zeros":
        raise ChainruleError(f"Conv2d with padding_mode={t.padding_mode!r} is not supported; chainrule pads "
                             "with zeros")
    dtype = str(t.weight.dtype).removeprefix("torch.")
    m = Conv2d(t.in_channels, t.out_channels, t.kernel_size, stride=t.stride, padding=t.padding,
               dilation=t.dilation, groups=t.groups, bias=t.bias is not None, dtype=dtype, rng=0)
    m.weight.data[...] = t.weight.detach().cpu().numpy()
    if t.bias is not None:
        m.bias.data[...] = t.bias.detach().cpu().numpy()
    return m


def _maxpool_from(t) -> MaxPool2d:
    if t.ceil_mode or t.return_indices:
        raise ChainruleError("MaxPool2d with ceil_mode=True or return_indices=True is not supported")
    return MaxPool2d(t.kernel_size, t.stride, t.padding, t.dilation)


def _avgpool_from(t) -> AvgPool2d:
    if t.ceil_mode or not t.count_include_pad or t.divisor_override is not None:
        raise ChainruleError("AvgPool2d is supported with ceil_mode=False, count_include_pad=True and no "
                             "divisor_override only")
    return AvgPool2d(t.kernel_size, t.stride, t.padding)


def _from_table(torch) -> dict:
    nn = torch.nn
    return {
        nn.Linear: _linear_from,
        nn.Conv2d: _conv_from,
        nn.MaxPool2d: _maxpool_from,
        nn.AvgPool2d: _avgpool_from,
        nn.Flatten: lambda t: Flatten(t.start_dim, t.end_dim),
        nn.Tanh: lambda t: act.Tanh(),
        nn.Sigmoid: lambda t: act.Sigmoid(),
        nn.ReLU: lambda t: act.ReLU(),
        nn.Identity: lambda t: act.Identity(),
        nn.Softmax: lambda t: act.Softmax(dim=-1 if t.dim is None else t.dim),
        nn.Sequential: lambda t: Sequential(*(from_torch(c) for c in t)),
    }


# extra torch-type -> converter entries registered by other layer modules (conv, pooling …)
FROM_TORCH_EXTRA: dict = {}


def from_torch(module) -> Module:
    """A chainrule module equivalent to a ``torch.nn`` module built from layer types chainrule has."""
    torch = _torch()
    table = {**_from_table(torch), **FROM_TORCH_EXTRA}
    convert = table.get(type(module))
    if convert is None:
        raise ChainruleError(f"PyTorch module {type(module).__name__} is not supported; chainrule converts "
                             f"{', '.join(sorted(t.__name__ for t in table))}")
    return convert(module)
