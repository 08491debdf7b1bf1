"""chainrule ⇄ PyTorch: equivalent modules with the same weights (torch imported only here).

Each direction is a table from layer type to a small converter, so a new layer adds one entry each.
"""

import functools
import os
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn import activations as act
from chainrule.nn.adaptive_pool import AdaptiveAvgPool2d
from chainrule.nn.batchnorm import BatchNorm1d, BatchNorm2d, _BatchNorm
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.conv_transpose import ConvTranspose2d
from chainrule.nn.dropout import Dropout
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.log_softmax import LogSoftmax
from chainrule.nn.module import Module
from chainrule.nn.pool import AvgPool2d, MaxPool2d
from chainrule.nn.rectifiers import ELU, GELU, LeakyReLU, SiLU

M = TypeVar("M", Linear, Conv2d, ConvTranspose2d, _BatchNorm)


def _torch() -> ModuleType:
    try:
        import torch
    except ImportError:
        raise ChainruleError("this needs PyTorch: pip install 'chainrule[torch]'") from None
    return torch


def _tensor(torch: ModuleType, a: np.ndarray) -> Any:
    return torch.from_numpy(np.array(a, copy=True))


# --- chainrule -> torch ----------------------------------------------------------------------------
def _copy_params_to(torch: ModuleType, m: "Linear | Conv2d | ConvTranspose2d | _BatchNorm", t: Any) -> Any:
    """t (a torch module) with m's weight and bias copied in, bitwise."""
    assert m.weight is not None  # a BatchNorm comes here only when affine
    with torch.no_grad():
        t.weight.copy_(_tensor(torch, m.weight.data))
        if m.bias is not None:
            t.bias.copy_(_tensor(torch, m.bias.data))
    return t


def _linear_to(torch: ModuleType, m: Linear) -> Any:
    t = torch.nn.Linear(
        m.in_features, m.out_features, bias=m.bias is not None, dtype=getattr(torch, str(m.weight.dtype))
    )
    return _copy_params_to(torch, m, t)


def _conv_to(torch: ModuleType, m: Conv2d) -> Any:
    kw = dict(
        stride=m.stride,
        dilation=m.dilation,
        groups=m.groups,
        bias=m.bias is not None,
        dtype=getattr(torch, str(m.weight.dtype)),
    )
    if m.padding == "same" and m.stride != (1, 1):
        # PyTorch refuses padding='same' with stride > 1: pad (possibly unequally) first, then convolve
        t = _same_strided_conv(torch)(m.in_channels, m.out_channels, m.kernel_size, padding=(0, 0), **kw)
        t.pads_for = m.pads
    else:
        t = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, padding=m.padding, **kw)
    return _copy_params_to(torch, m, t)


@functools.cache
def _same_strided_conv(torch: ModuleType) -> type:
    """A torch Conv2d that first zero-pads its input as chainrule's padding='same' with stride > 1 does.

    One class per torch module (cached), so ``from_torch`` recognises it by its type.
    """

    conv: Any = torch.nn.Conv2d  # a runtime class: no static type to check against

    class SameStridedConv2d(conv):
        def forward(self, x: Any) -> Any:
            t, b, left, r = self.pads_for(tuple(x.shape[-2:]))
            return super().forward(torch.nn.functional.pad(x, (left, r, t, b)))

    return SameStridedConv2d


# the constructor arguments ConvTranspose2d has under the same names and layouts in both libraries
_CONV_TRANSPOSE_ARGS = (
    "in_channels",
    "out_channels",
    "kernel_size",
    "stride",
    "padding",
    "output_padding",
    "groups",
    "dilation",
)


def _conv_transpose_to(torch: ModuleType, m: ConvTranspose2d) -> Any:
    args = {k: getattr(m, k) for k in _CONV_TRANSPOSE_ARGS}
    t = torch.nn.ConvTranspose2d(**args, bias=m.bias is not None, dtype=getattr(torch, str(m.weight.dtype)))
    return _copy_params_to(torch, m, t)


# Sequential is converted by to_torch itself (to name where a bad layer sits), not through this table
def _batchnorm_to(torch: ModuleType, m: _BatchNorm) -> Any:
    cls = torch.nn.BatchNorm1d if isinstance(m, BatchNorm1d) else torch.nn.BatchNorm2d
    t = cls(
        m.num_features,
        eps=m.eps,
        momentum=m.momentum,
        affine=m.affine,
        track_running_stats=m.track_running_stats,
        dtype=getattr(torch, str(m._dtype)),
    )
    if m.affine:
        _copy_params_to(torch, m, t)
    with torch.no_grad():
        for name, b in m.named_buffers():
            getattr(t, name).copy_(_tensor(torch, b))
    return t.train(m.training)


TO_TORCH = {
    BatchNorm1d: _batchnorm_to,
    BatchNorm2d: _batchnorm_to,
    Dropout: lambda torch, m: torch.nn.Dropout(m.p).train(m.training),  # same p; masks are each library's own
    Linear: _linear_to,
    Conv2d: _conv_to,
    ConvTranspose2d: _conv_transpose_to,
    AdaptiveAvgPool2d: lambda torch, m: torch.nn.AdaptiveAvgPool2d(m.output_size),
    MaxPool2d: lambda torch, m: torch.nn.MaxPool2d(
        m.kernel_size, m.stride, m.padding, m.dilation, ceil_mode=m.ceil_mode
    ),
    AvgPool2d: lambda torch, m: torch.nn.AvgPool2d(
        m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode, count_include_pad=m.count_include_pad
    ),
    Flatten: lambda torch, m: torch.nn.Flatten(m.start_dim, m.end_dim),
    act.Tanh: lambda torch, m: torch.nn.Tanh(),
    act.Sigmoid: lambda torch, m: torch.nn.Sigmoid(),
    act.ReLU: lambda torch, m: torch.nn.ReLU(),
    act.Identity: lambda torch, m: torch.nn.Identity(),
    act.Softmax: lambda torch, m: torch.nn.Softmax(dim=m.dim),
    LeakyReLU: lambda torch, m: torch.nn.LeakyReLU(m.negative_slope),
    ELU: lambda torch, m: torch.nn.ELU(m.alpha),
    GELU: lambda torch, m: torch.nn.GELU(approximate=m.approximate),
    SiLU: lambda torch, m: torch.nn.SiLU(),
    LogSoftmax: lambda torch, m: torch.nn.LogSoftmax(dim=m.dim),
}


def to_torch(model: Module, _path: str = "model", *, extra: dict | None = None) -> Any:
    """An equivalent ``torch.nn`` module holding copies of ``model``'s weights (bitwise, same dtype); with
    ``extra`` (load_model's metadata), between its stored feature and target scalings, as predict runs it."""
    torch = _torch()
    if extra is not None:
        from chainrule.interop.torch_scaling import with_scalings

        return with_scalings(torch, to_torch(model, _path), extra)
    if type(model) is Sequential:  # here rather than in TO_TORCH, to name where a bad layer sits
        return torch.nn.Sequential(*(to_torch(layer, f"{_path}[{i}]") for i, layer in enumerate(model)))
    convert = TO_TORCH.get(type(model))
    if convert is None:
        names = sorted([*(t.__name__ for t in TO_TORCH), "Sequential"])
        raise ChainruleError(
            f"layer {_path} ({type(model).__name__}) has no PyTorch equivalent in chainrule's "
            f"converter; it converts {', '.join(names)}"
        )
    return convert(torch, model)


# --- torch -> chainrule ----------------------------------------------------------------------------
def _copy_params_from(t: Any, m: M) -> M:
    """m with t's (a torch module's) weight and bias copied in, bitwise."""
    assert m.weight is not None  # a BatchNorm comes here only when affine
    m.weight.data[...] = t.weight.detach().cpu().numpy()
    if t.bias is not None:
        assert m.bias is not None  # built with a bias when t has one
        m.bias.data[...] = t.bias.detach().cpu().numpy()
    return m


def _linear_from(t: Any) -> Linear:
    dtype = str(t.weight.dtype).removeprefix("torch.")
    return _copy_params_from(t, Linear(t.in_features, t.out_features, bias=t.bias is not None, dtype=dtype, rng=0))


def _conv_from(t: Any, padding: "str | None" = None) -> Conv2d:
    """``padding`` overrides t.padding (``_same_strided_from``: 'same' that torch could not hold)."""
    if t.padding_mode != "zeros":
        raise ChainruleError(f"Conv2d with padding_mode={t.padding_mode!r} is not supported; chainrule pads with zeros")
    dtype = str(t.weight.dtype).removeprefix("torch.")
    m = Conv2d(
        t.in_channels,
        t.out_channels,
        t.kernel_size,
        stride=t.stride,
        padding=t.padding if padding is None else padding,
        dilation=t.dilation,
        groups=t.groups,
        bias=t.bias is not None,
        dtype=dtype,
        rng=0,
    )
    return _copy_params_from(t, m)


def _same_strided_from(t: Any) -> Conv2d:
    """to_torch's stand-in for padding='same' with stride > 1, coming back."""
    return _conv_from(t, padding="same")


def _conv_transpose_from(t: Any) -> ConvTranspose2d:
    if t.padding_mode != "zeros":
        raise ChainruleError(f"padding_mode={t.padding_mode!r} is not supported; chainrule pads with zeros")
    if isinstance(t.padding, str):
        raise ChainruleError(f"padding={t.padding!r} is not supported; give the padding as numbers")
    dtype = str(t.weight.dtype).removeprefix("torch.")
    args = {k: getattr(t, k) for k in _CONV_TRANSPOSE_ARGS}
    m = ConvTranspose2d(**args, bias=t.bias is not None, dtype=dtype, rng=0)
    return _copy_params_from(t, m)


def _maxpool_from(t: Any) -> MaxPool2d:
    if t.return_indices:
        raise ChainruleError("MaxPool2d with return_indices=True is not supported")
    return MaxPool2d(t.kernel_size, t.stride, t.padding, t.dilation, ceil_mode=bool(t.ceil_mode))


def _avgpool_from(t: Any) -> AvgPool2d:
    if t.divisor_override is not None:
        raise ChainruleError(f"AvgPool2d with divisor_override={t.divisor_override} is not supported")
    return AvgPool2d(
        t.kernel_size,
        t.stride,
        t.padding,
        ceil_mode=bool(t.ceil_mode),
        count_include_pad=bool(t.count_include_pad),
    )


def _batchnorm_from(t: Any) -> _BatchNorm:
    cls = BatchNorm1d if type(t).__name__ == "BatchNorm1d" else BatchNorm2d
    dtype = str((t.weight if t.affine else t.running_mean).dtype).removeprefix("torch.")
    m = cls(
        t.num_features,
        eps=t.eps,
        momentum=t.momentum,
        affine=t.affine,
        track_running_stats=t.track_running_stats,
        dtype=dtype,
    )
    if t.affine:
        _copy_params_from(t, m)
    for name, _ in m.named_buffers():
        getattr(m, name)[...] = getattr(t, name).detach().cpu().numpy()
    m.train(t.training)
    return m


def _from_table(torch: ModuleType) -> dict:
    """torch type -> converter; Sequential is converted by from_torch itself (to track each child's position)."""
    nn = torch.nn
    return {
        nn.Linear: _linear_from,
        nn.BatchNorm1d: _batchnorm_from,
        nn.BatchNorm2d: _batchnorm_from,
        nn.Dropout: lambda t: Dropout(t.p).train(t.training),
        nn.Conv2d: _conv_from,
        nn.ConvTranspose2d: _conv_transpose_from,
        nn.AdaptiveAvgPool2d: lambda t: AdaptiveAvgPool2d(t.output_size),
        nn.MaxPool2d: _maxpool_from,
        nn.AvgPool2d: _avgpool_from,
        nn.Flatten: lambda t: Flatten(t.start_dim, t.end_dim),
        nn.Tanh: lambda t: act.Tanh(),
        nn.Sigmoid: lambda t: act.Sigmoid(),
        nn.ReLU: lambda t: act.ReLU(),
        nn.Identity: lambda t: act.Identity(),
        nn.Softmax: lambda t: act.Softmax(dim=-1 if t.dim is None else t.dim),
        nn.LeakyReLU: lambda t: LeakyReLU(t.negative_slope),
        nn.ELU: lambda t: ELU(t.alpha),
        nn.GELU: lambda t: GELU(t.approximate),
        nn.SiLU: lambda t: SiLU(),
        nn.LogSoftmax: lambda t: LogSoftmax(dim=-1 if t.dim is None else t.dim),
    }


def from_torch(module: Any, _path: str = "model") -> Module:
    """A chainrule module equivalent to a ``torch.nn`` module built from layer types chainrule has.

    Weights are copied bitwise in their dtype (float32 or float64). Anything else is an error naming
    the module and where it sits, e.g. "PyTorch module PReLU at model[2] is not supported".
    """
    torch = _torch()
    if type(module) is torch.nn.Sequential:  # here rather than in the table, to track each child's position
        return Sequential(*(from_torch(child, f"{_path}[{i}]") for i, child in enumerate(module)))
    table = _from_table(torch)
    convert = table.get(type(module))
    if type(module) is _same_strided_conv(torch):
        convert = _same_strided_from
    if convert is None:
        if not isinstance(module, torch.nn.Module):
            raise ChainruleError(f"{_path} is a {type(module).__name__}, not a PyTorch module")
        names = sorted([*(t.__name__ for t in table), "Sequential"])
        raise ChainruleError(
            f"PyTorch module {type(module).__name__} at {_path} is not supported; chainrule converts {', '.join(names)}"
        )
    try:
        return convert(module)
    except ChainruleError as e:
        raise ChainruleError(f"PyTorch module {type(module).__name__} at {_path}: {e}") from None


# --- PyTorch objects handed to chainrule's own functions (explain) ---------------------------------
def is_torch_object(obj: object, name: str = "Module") -> bool:
    """True when ``obj`` is a torch ``Module`` (or ``Tensor`` …), told without importing torch."""
    return any(c.__name__ == name and c.__module__.startswith("torch") for c in type(obj).__mro__)


def as_chainrule(net: Any) -> Any:
    """``net`` itself, or the chainrule twin of a ``torch.nn`` module (``from_torch``)."""
    return from_torch(net) if is_torch_object(net) else net


def as_numpy(value: Any) -> Any:
    """A torch tensor as a NumPy array (detached, on the CPU); anything else unchanged."""
    return value.detach().cpu().numpy() if is_torch_object(value, "Tensor") else value


def loss_from_torch(loss: Any) -> Any:
    """chainrule's twin of a torch loss module (MSELoss, CrossEntropyLoss with mean reduction);
    anything that is not a torch object is returned unchanged."""
    if not is_torch_object(loss):
        return loss
    from chainrule.nn.losses import CrossEntropyLoss, MSELoss

    kind = type(loss).__name__
    twin = {"MSELoss": MSELoss, "CrossEntropyLoss": CrossEntropyLoss}.get(kind)
    if twin is None:
        raise ChainruleError(f"PyTorch loss {kind} is not supported; chainrule converts MSELoss and CrossEntropyLoss")
    if getattr(loss, "reduction", "mean") != "mean":
        raise ChainruleError(f"PyTorch {kind}(reduction={loss.reduction!r}): chainrule's losses take the mean")
    if kind == "CrossEntropyLoss" and (loss.label_smoothing or loss.weight is not None or loss.ignore_index != -100):
        raise ChainruleError(
            "PyTorch CrossEntropyLoss with weight, ignore_index or label_smoothing is not "
            "supported; chainrule's is the plain mean cross-entropy"
        )
    return twin()


def load_torch_file(path: "str | os.PathLike") -> dict:
    """Run the Python file ``path`` and return the chainrule twin of the ``torch.nn`` network it
    defines as ``model``, with its optional ``x``, ``y`` and ``loss``: {"net", "x", "y", "loss"}.

    The file is ordinary Python (it may import torch and build the model any way it likes); running
    it is running the user's own code. Nothing is unpickled: weights come from the module as built.
    """
    import runpy
    from pathlib import Path

    _torch()
    p = Path(path)
    if p.is_dir():
        raise ChainruleError(f"{p}: is a folder; expected a Python file that defines `model`")
    if not p.is_file():
        raise ChainruleError(f"{p}: no such file (expected a Python file that defines `model`)")
    try:
        ns = runpy.run_path(str(p), run_name="__chainrule_torch__")
    except SystemExit as e:
        raise ChainruleError(f"{p}: the file called exit({e.code}) instead of defining `model`") from None
    except Exception as e:
        raise ChainruleError(f"{p}: running it raised {type(e).__name__}: {e}") from None
    if "model" not in ns:
        found = sorted(k for k, v in ns.items() if is_torch_object(v))
        hint = f" (it defines the PyTorch module(s) {', '.join(found)})" if found else ""
        raise ChainruleError(f"{p}: defines no `model`{hint}; expected e.g. model = torch.nn.Sequential(...)")
    model = ns["model"]
    if not is_torch_object(model):
        raise ChainruleError(f"{p}: `model` is a {type(model).__name__}, not a torch.nn module")
    try:
        net = from_torch(model)
    except ChainruleError as e:
        raise ChainruleError(f"{p}: {e}") from None
    if not isinstance(net, Sequential):
        net = Sequential(net)
    try:
        loss = loss_from_torch(ns.get("loss"))
    except ChainruleError as e:
        raise ChainruleError(f"{p}: `loss`: {e}") from None
    return {"net": net, "x": as_numpy(ns.get("x")), "y": as_numpy(ns.get("y")), "loss": loss}
