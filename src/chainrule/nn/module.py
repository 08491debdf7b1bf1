"""Parameter and Module: the two objects every layer is made of.

A layer is ``forward(x) -> y`` and ``backward(dy) -> dx``. It keeps one cache from its last forward
and *adds* into each ``Parameter.grad`` during backward, so gradients accumulate until ``zero_grad()``,
as in PyTorch. Parameters and sub-modules are found by attribute, in the order they were assigned,
which gives PyTorch's names (``weight``, ``bias``, ``0.weight`` …).
"""

from collections.abc import Iterator, Mapping

import numpy as np

from chainrule.errors import ChainruleError

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype) -> np.dtype:
    """The dtype as np.dtype, or a clear error if it is not float32/float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise ChainruleError(f"dtype {dtype!r} is not a NumPy dtype; expected float32 or float64") from e
    if dt not in FLOAT_DTYPES:
        raise ChainruleError(f"dtype {dt} is not supported; expected float32 or float64")
    return dt


class Parameter:
    """A trainable array and the gradient accumulated into it (same shape and dtype)."""

    __slots__ = ("data", "grad")

    def __init__(self, data: np.ndarray):
        self.data = np.ascontiguousarray(data)
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of layers and networks.

    Subclasses are registered by class name, so a model file can name its layers in JSON and be
    rebuilt with ``Module.from_config``. A subclass that takes constructor arguments returns them
    from ``config()``.
    """

    registry: dict[str, type["Module"]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):  # private bases (e.g. _Pool2d) are not layers a file can name
            Module.registry[cls.__name__] = cls

    # --- the computation -------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # --- parameters ------------------------------------------------------------------------------
    def children(self) -> Iterator[tuple[str, "Module"]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad.fill(0)

    def num_parameters(self) -> int:
        return sum(p.data.size for p in self.parameters())

    @property
    def dtype(self) -> np.dtype | None:
        """The dtype of the parameters (None for a layer without any)."""
        for p in self.parameters():
            return p.data.dtype
        return getattr(self, "_dtype", None)

    # --- state dict (PyTorch's keys) -------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters; every key must be present and every shape must match."""
        if not isinstance(state, Mapping):
            raise ChainruleError(f"a state dict maps parameter names to arrays; got {type(state).__name__}")
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state]
        extra = [k for k in state if k not in own]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing key(s) {', '.join(missing)}")
            if extra:
                parts.append(f"unexpected key(s) {', '.join(extra)}")
            raise ChainruleError(f"state dict does not fit this network: {'; '.join(parts)}; "
                                 f"expected exactly {', '.join(own) or 'no keys'}")
        for k, p in own.items():
            value = state[k]
            if hasattr(value, "detach"):  # a torch tensor, perhaps one that requires grad (named_parameters())
                value = value.detach().cpu().numpy()
            value = np.asarray(value)
            if value.shape != p.data.shape:
                raise ChainruleError(f"state dict entry {k!r} has shape {value.shape}; "
                                     f"the network expects {p.data.shape}")
            if value.dtype.kind not in "iuf":  # complex would lose its imaginary part silently
                raise ChainruleError(f"state dict entry {k!r} is not real numbers (dtype {value.dtype})")
            p.data[...] = value

    # --- serialisation of the architecture -------------------------------------------------------
    def config(self) -> dict:
        """Constructor arguments that rebuild this module (JSON-compatible)."""
        return {}

    def to_config(self) -> dict:
        return {"type": type(self).__name__, **self.config()}

    @staticmethod
    def from_config(cfg: dict) -> "Module":
        cfg = dict(cfg)
        kind = cfg.pop("type", None)
        cls = Module.registry.get(kind)
        if cls is None:
            raise ChainruleError(f"unknown layer type {kind!r}; known: {', '.join(sorted(Module.registry))}")
        return cls._from_config(cfg)

    @classmethod
    def _from_config(cls, cfg: dict) -> "Module":
        return cls(**cfg)

    # --- display ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
