"""Parameter and Module: the two objects every layer is made of.

A layer is ``forward(x) -> y`` and ``backward(dy) -> dx``. It keeps one cache from its last forward
and *adds* into each ``Parameter.grad`` during backward, so gradients accumulate until ``zero_grad()``,
as in PyTorch. Parameters, buffers and sub-modules are found by attribute, in the order they were
assigned, which gives PyTorch's names (``weight``, ``bias``, ``0.weight``, ``1.running_mean`` …).

Module state follows PyTorch: ``training`` (``train()`` / ``eval()`` set it on every module below),
buffers (``register_buffer``: arrays that are state but not trained, e.g. running statistics) saved in
``state_dict`` beside the parameters, ``reset_parameters(rng)`` per layer, and ``output_shape`` per
layer (the shape of one example after the layer, found without running it).
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np
from numpy.typing import DTypeLike

from chainrule.core import threads
from chainrule.errors import ChainruleError

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# a weight scheme for reset_parameters: (shape, rng, dtype) -> the weight's values
WeightInit = Callable[[tuple[int, ...], np.random.Generator, np.dtype], np.ndarray]


def check_dtype(dtype: DTypeLike) -> np.dtype:
    """The dtype as np.dtype, or a clear error if it is not float32/float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise ChainruleError(f"dtype {dtype!r} is not a NumPy dtype; expected float32 or float64") from e
    if dt not in FLOAT_DTYPES:
        raise ChainruleError(f"dtype {dt} is not supported; expected float32 or float64")
    return dt


class Parameter:
    """A trainable array and the gradient accumulated into it (same shape and dtype).

    ``grad_zeroed`` is True after ``zero_grad()`` (a module's or an optimiser's) has zeroed ``.grad``, until a
    layer's backward writes it: a layer that knows the gradient is still zero (``Linear``) writes its
    gradient instead of adding it, one pass cheaper, the same numbers. Code that adds into ``.grad``
    itself between ``zero_grad()`` and backward should set it to False.

    ``zero_grad()`` does not fill the array at once: the zeros are written the first time ``.grad`` is
    read (``+=`` reads it), so a layer that writes its gradient (``Linear``, through ``grad_for_writing``)
    never pays for a fill it would overwrite. Anyone reading ``.grad`` sees zeros, as before.
    """

    __slots__ = ("data", "_grad", "_fill_pending", "grad_zeroed")

    def __init__(self, data: np.ndarray) -> None:
        if not threads.HELD:  # the engine's first layer: NumPy's BLAS to one thread (core.threads says why)
            threads.hold_blas()
        self.data = np.ascontiguousarray(data)
        self._grad = np.zeros_like(self.data)
        self._fill_pending = False  # zero_grad() was called and .grad not yet filled with its zeros
        self.grad_zeroed = False  # True only after an explicit zero_grad(): a fresh .grad may be replaced by the user

    @property
    def grad(self) -> np.ndarray:
        if self._fill_pending:
            self._grad.fill(0)
            self._fill_pending = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        self._grad, self._fill_pending = value, False

    def zero_grad(self) -> None:
        """Zero ``.grad`` (lazily: on its next read) and set ``grad_zeroed``."""
        self._fill_pending = self.grad_zeroed = True

    def grad_for_writing(self) -> np.ndarray:
        """The gradient array, for a layer about to overwrite every element (no zeros filled first)."""
        self._fill_pending = False
        return self._grad

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
    training: bool = True  # class default; train()/eval() set it per instance

    def __init_subclass__(cls, **kwargs: object) -> None:
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

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one example after this layer (``input_shape`` has no batch axis), without running it.

        The default suits shape-preserving layers (activations, Dropout); others override it.
        """
        return tuple(int(s) for s in input_shape)

    # --- mode ------------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode on this module and every module below it (PyTorch's ``Module.train``)."""
        if not isinstance(mode, bool):
            raise ChainruleError(f"train(mode) takes True or False, got {mode!r}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    @contextmanager
    def mode(self, training: bool, keep_buffers: bool = False) -> Iterator["Module"]:
        """Run a block in training or evaluation mode, then put every module's own flag back.

        ``keep_buffers``: also restore every buffer afterwards (e.g. gradcheck in training mode must not
        move a BatchNorm's running statistics).
        """
        flags = [(m, vars(m).get("training")) for m in self.modules()]
        saved = {k: b.copy() for k, b in self.named_buffers()} if keep_buffers else {}
        self.train(training)
        try:
            yield self
        finally:
            for m, flag in flags:
                if flag is None:
                    vars(m).pop("training", None)
                else:
                    m.training = flag
            for k, b in saved.items():
                self._set_buffer(k, b)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """(dotted name, module) for this module ("") and every module below it, depth first."""
        yield prefix.rstrip("."), self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}{name}.")

    def generator_states(self) -> dict[str, Mapping]:
        """The bit-generator state of every module that draws random numbers (Dropout), by module name."""
        return {
            name: gen.bit_generator.state
            for name, m in self.named_modules()
            if isinstance(gen := getattr(m, "generator", None), np.random.Generator)
        }

    def load_generator_states(self, states: dict[str, dict]) -> None:
        own = dict(self.named_modules())
        for name, state in states.items():
            gen = getattr(own.get(name), "generator", None)
            if not isinstance(gen, np.random.Generator):
                raise ChainruleError(f"generator state for {name!r}: this network has no random layer there")
            gen.bit_generator.state = state

    def modules(self) -> Iterator["Module"]:
        """This module and every module below it, depth first (PyTorch's ``modules()``)."""
        yield self
        for child in self.children():
            yield from child.modules()

    # --- sub-modules, parameters and buffers -----------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator["Module"]:
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def register_buffer(self, name: str, array: "np.ndarray | None", persistent: bool = True) -> None:
        """Keep ``array`` as state that is not trained (``self.<name>``); persistent buffers go in state_dict."""
        if not isinstance(name, str) or not name.isidentifier():
            raise ChainruleError(f"buffer name {name!r} is not a Python identifier")
        if isinstance(vars(self).get(name), (Parameter, Module)):
            raise ChainruleError(f"{type(self).__name__} already has a parameter or module named {name!r}")
        vars(self).setdefault("_buffer_persistent", {})[name] = bool(persistent)
        setattr(self, name, None if array is None else np.asarray(array))

    def _own_buffers(self, persistent_only: bool = False) -> Iterator[tuple[str, np.ndarray]]:
        for name, persistent in vars(self).get("_buffer_persistent", {}).items():
            value = getattr(self, name)
            if value is not None and (persistent or not persistent_only):
                yield name, value

    def named_buffers(self, prefix: str = "", persistent_only: bool = False) -> Iterator[tuple[str, np.ndarray]]:
        yield from ((prefix + n, b) for n, b in self._own_buffers(persistent_only))
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".", persistent_only)

    def buffers(self) -> list[np.ndarray]:
        return [b for _, b in self.named_buffers()]

    def _set_buffer(self, dotted: str, value: np.ndarray) -> None:
        """Write into the buffer at a dotted name in place (its dtype kept)."""
        *path, name = dotted.split(".")
        module = self
        for part in path:
            module = dict(module.named_children())[part]
        getattr(module, name)[...] = value

    def reset_parameters(
        self,
        rng: "np.random.Generator | None" = None,
        weight_init: WeightInit | None = None,
    ) -> None:
        """Re-initialise this layer's own parameters (and reset its buffers) from ``rng``.

        ``weight_init(shape, rng, dtype)``, when given, draws a weight scheme's values (bias then 0);
        without it a layer uses PyTorch's default. Layers without parameters do nothing.
        """

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

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
        """Parameters and persistent buffers by PyTorch's names, as copies (PyTorch's key order per module)."""
        own = {
            **{name: p.data for name, p in self.named_parameters()},
            **dict(self.named_buffers(persistent_only=True)),
        }
        return {k: own[k].copy() for k in self._state_keys()}

    def _state_keys(self) -> list[str]:
        """Keys in PyTorch's order: each module's parameters, then its buffers, then its children's."""
        keys = [n for n, v in vars(self).items() if isinstance(v, Parameter)]
        keys += [n for n, _ in self._own_buffers(persistent_only=True)]
        for name, child in self.named_children():
            keys += [f"{name}.{k}" for k in child._state_keys()]
        return keys

    def load_state_dict(self, state: dict[str, np.ndarray], strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers; every shape must match.

        ``strict`` (the default, as PyTorch): every key must be present and none may be extra.
        """
        if not isinstance(state, Mapping):
            raise ChainruleError(f"a state dict maps parameter names to arrays; got {type(state).__name__}")
        params = dict(self.named_parameters())
        buffers = dict(self.named_buffers(persistent_only=True))
        own = {**params, **buffers}
        missing = [k for k in own if k not in state]
        extra = [k for k in state if k not in own]
        if strict and (missing or extra):
            parts = []
            if missing:
                parts.append(f"missing key(s) {', '.join(missing)}")
            if extra:
                parts.append(f"unexpected key(s) {', '.join(extra)}")
            raise ChainruleError(
                f"state dict does not fit this network: {'; '.join(parts)}; "
                f"expected exactly {', '.join(own) or 'no keys'}"
            )
        for k in own:
            if k not in state:
                continue
            value = state[k]
            if hasattr(value, "detach"):  # a torch tensor, perhaps one that requires grad (named_parameters())
                value = value.detach().cpu().numpy()
            value = np.asarray(value)
            target = params[k].data if k in params else buffers[k]
            if value.shape != target.shape:
                raise ChainruleError(
                    f"state dict entry {k!r} has shape {value.shape}; the network expects {target.shape}"
                )
            if value.dtype.kind not in "iuf" + ("b" if target.dtype.kind == "b" else ""):
                # complex would lose its imaginary part silently
                raise ChainruleError(f"state dict entry {k!r} is not real numbers (dtype {value.dtype})")
            if k in params:
                target[...] = value
            else:
                self._set_buffer(k, value)

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
        layers = sorted(n for n, c in Module.registry.items() if c.forward is not Module.forward)
        if cls is None:
            raise ChainruleError(f"unknown layer type {kind!r}; known: {', '.join(layers)}")
        if cls.forward is Module.forward:  # a registered base class (Activation) computes nothing itself
            raise ChainruleError(
                f"layer type {kind!r} is an abstract base class, not a layer; known: {', '.join(layers)}"
            )
        return cls._from_config(cfg)

    @classmethod
    def _from_config(cls, cfg: dict) -> "Module":
        return cls(**cfg)

    # --- display ---------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
