"""Network spec files (TOML): a network, and optionally an input, a target and a loss.

    x = [1, 2]                  # optional: one input (or a list of inputs)
    y = 3                       # optional: its target (number, list, or class label)
    loss = "squared"            # squared | cross-entropy | mse (default with y: cross-entropy after a
                                #   final softmax, else squared)
    input = 2                   # optional: input width, or [C, H, W] for images
    [[layers]]
    weights = [[0, 1, 2], [2, 1, 0], [0, 2, 0]]   # folded: column 0 is the bias (the recitation's α)
    activation = "tanh"
    [[layers]]                  # or PyTorch's layout, for linear and conv2d layers alike:
    type = "conv2d"             #   weight (out, in, KH, KW) for conv2d, (out, in) for linear
    weight = [[[[1, 0], [0, 1]]]]
    bias = [0]                  #   a list: the bias values; true / false: with or without a bias
    [[layers]]
    units = 1                   # or no weights: a fresh layer of this width
    activation = "identity"

A layer table may name a ``type`` (default "linear"; any layer class, case-insensitive: "conv2d",
"maxpool2d", "flatten", "relu" …) and that layer's constructor keywords; ``in_features`` and
``in_channels`` are inferred from the layer before. Errors name the file, the key and the problem.
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn import activations as act
from chainrule.nn.activations import ACTIVATIONS
from chainrule.nn.adaptive_pool import AdaptiveAvgPool2d
from chainrule.nn.batchnorm import BatchNorm1d, BatchNorm2d
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.conv_transpose import ConvTranspose2d
from chainrule.nn.dropout import Dropout
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.log_softmax import LogSoftmax
from chainrule.nn.losses import LOSSES, CrossEntropyLoss, Loss
from chainrule.nn.module import Module
from chainrule.nn.pool import AvgPool2d, MaxPool2d
from chainrule.nn.rectifiers import ELU, GELU, LeakyReLU, SiLU
from chainrule.nn.summary import infer_input_shape

TOP_KEYS = {"x", "y", "loss", "input", "layers", "name", "description"}
LAYER_KEYS = {"type", "weights", "weight", "units", "bias", "activation", "running_mean", "running_var"}
# the layers whose parameters a table may give in PyTorch's layout (weight = [...], bias = [...]): their rank
PARAM_RANKS = {"linear": 2, "conv2d": 4, "batchnorm1d": 1, "batchnorm2d": 1}
BUFFERS = ("running_mean", "running_var")  # a batchnorm's running statistics, as its state_dict names them
TYPE_ALIASES = {"dense": "linear", "fc": "linear"}

# spec building's one table of layer types (``type = "conv2d"`` …, the class name in lower case): for each, the
# constructor arguments a [[layers]] table may leave out, read off the shape of one example before the layer
# ("channels": its first axis, which must be an image's for in_channels). Linear has its own path (folded
# weights or units). A registered type missing here is refused by name (REFUSED, or "unknown layer type").
INFERRED: dict[type[Module], dict[str, str]] = {
    Linear: {},
    Conv2d: {"in_channels": "image channels"},
    ConvTranspose2d: {"in_channels": "image channels"},
    BatchNorm1d: {"num_features": "features"},
    BatchNorm2d: {"num_features": "image channels"},
    **{cls: {} for cls in (MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Dropout)},
    **{cls: {} for cls in (act.Tanh, act.Sigmoid, act.ReLU, act.Identity, act.Softmax, LogSoftmax)},
    **{cls: {} for cls in (LeakyReLU, ELU, GELU, SiLU)},
}
REFUSED = {
    "Sequential": "layers are listed as [[layers]] tables in order; a Sequential is not one of them",
    "Activation": "it is an abstract base class; name the activation (relu, tanh, leakyrelu, …)",
}
NOT_LAYERS = set(REFUSED)  # registered Module classes that are not a spec's layer types


@dataclass
class LayerSpec:
    """One [[layers]] table: the layer type, its folded weights or width, its activation, extra kwargs."""

    index: int  # 1-based, as a user counts tables
    type: str = "linear"
    weights: np.ndarray | None = None
    weight: np.ndarray | None = None  # PyTorch's layout (linear and conv2d): (out, in) / (out, in, KH, KW)
    bias_values: np.ndarray | None = None  # bias = [...]: (out,)
    units: int | None = None
    bias: bool = True
    activation: str | None = None
    kwargs: dict = field(default_factory=dict)
    activation_kwargs: dict = field(default_factory=dict)  # e.g. negative_slope of activation = "leaky_relu"
    buffers: dict = field(default_factory=dict)  # running_mean / running_var of a batchnorm: (num_features,)


@dataclass
class Spec:
    layers: list[LayerSpec]
    x: np.ndarray | None = None
    y: object = None
    loss: str | None = None
    input: tuple[int, ...] | None = None
    source: str = "<spec>"
    loss_kwargs: dict = field(default_factory=dict)  # loss = {type = "cross-entropy", label_smoothing = 0.1}

    @property
    def softmax_output(self) -> bool:
        """True when the network ends in softmax and the loss is cross-entropy (fused: ŷ = softmax(b))."""
        return self.loss == "cross-entropy" and bool(self.layers) and self.layers[-1].activation == "softmax"

    @staticmethod
    def implied_loss(layers: "list[LayerSpec]") -> str | None:
        """ "cross-entropy" when the last layer ends in softmax (fused into the loss, as in PyTorch), else None."""
        return "cross-entropy" if layers and layers[-1].activation == "softmax" else None

    def error(self, where: str, problem: str) -> ChainruleError:
        return ChainruleError(f"{self.source}: {where}: {problem}")

    def input_shape(self) -> tuple[int, ...] | None:
        """Shape of one example: from ``input``, else from ``x``, else from the first folded matrix."""
        if self.input is not None:
            return self.input
        if self.x is not None:
            return self.x.shape if self.x.ndim <= 1 else self.x.shape[1:]
        first = self.layers[0] if self.layers else None
        if first is not None and first.weights is not None:
            return (first.weights.shape[1] - 1,)
        return None

    def build(
        self, input_shape=None, dtype=np.float64, rng=None, init: str | None = None
    ) -> tuple[Sequential, Loss | None]:
        """The network (and the loss, if the spec names one).

        Layers given without weights are drawn from ``rng`` (PyTorch's default scheme, or ``init``).
        With cross-entropy after a final softmax, the softmax is left to the loss (PyTorch's fused form).
        """
        from chainrule.core.init import as_generator
        from chainrule.nn.initialize import initialize

        g = as_generator(rng)
        shape = tuple(input_shape) if input_shape is not None else self.input_shape()
        layers: list[Module] = []
        for k, ls in enumerate(self.layers):
            where = f"[[layers]] #{ls.index}"
            try:
                layer = self._layer(ls, where, shape, layers, dtype, g)
            except ChainruleError as e:  # the layer's own refusal (e.g. too large for memory): say which one
                raise e if str(e).startswith(f"{self.source}:") else self.error(where, str(e)) from None
            if ls.weight is not None or ls.bias_values is not None or ls.buffers:
                _set_parameters(self, layer, ls, where)
            elif ls.weights is None and init is not None and getattr(layer, "weight", None) is not None:
                initialize(layer, init, g)
            added = [layer]
            last = k == len(self.layers) - 1
            if ls.activation and not (last and self.softmax_output):
                try:
                    added.append(ACTIVATIONS[ls.activation](**ls.activation_kwargs))
                except ChainruleError as e:
                    raise self.error(where, str(e)) from None
            layers += added
            shape = None if shape is None else _out_shape(added, shape, dtype, self.error(where, ""))
        loss = None
        if self.loss is not None:
            loss = make_loss(self.loss, self.loss_kwargs, self.error("key 'loss'", ""))
        net = Sequential(*layers)
        if self.x is not None:
            shape = infer_input_shape(net)  # None: the network starts with an image layer
            width = shape[0] if shape is not None else None
            if width is not None and self.x.shape[-1] != width:
                raise self.error(
                    "key 'x'", f"has {self.x.shape[-1]} value(s) per example but the first layer takes {width}"
                )
        if self.y is not None and isinstance(loss, CrossEntropyLoss):
            _check_class_target(self, net)
        elif self.y is not None and (self.x is None or self.x.ndim <= 1):
            _check_regression_target(self, net)
        return net, loss

    def _layer(self, ls: LayerSpec, where, shape, built, dtype, g) -> Module:
        if ls.type == "linear":
            width = None if shape is None else int(np.prod(shape))
            if ls.weights is not None:
                m = ls.weights
                if width is not None and m.shape[1] != width + 1:
                    what = "the input's width" if not built else "the previous layer's width"
                    from_x = not built and self.input is None and self.x is not None  # x may be what is off
                    raise self.error(
                        f"{where}, key 'weights'",
                        f"has {m.shape[1]} columns; expected {width + 1} ({what} {width} "
                        "+ 1 for the bias in column 0)"
                        + (f"; or key 'x', with {width} value(s), is the wrong input" if from_x else ""),
                    )
                try:
                    return Linear.from_folded(m, dtype=dtype, bias=ls.bias)
                except ChainruleError:  # shape and values were checked when parsing: only the bias column is left
                    raise self.error(f"{where}, key 'bias'", "is false but column 0 of 'weights' is not zero") from None
            if ls.weight is not None:
                return Linear(ls.weight.shape[1], ls.weight.shape[0], bias=ls.bias, dtype=dtype, rng=g)
            if ls.units is None:
                raise self.error(
                    where, "a linear layer needs 'weights' (folded matrix), 'weight' (out × in) or 'units' (its width)"
                )
            if width is None:
                raise self.error(
                    where,
                    "cannot tell this layer's input width: give the top-level 'input' "
                    "(or 'x', or 'weights' on the first layer)",
                )
            return Linear(width, ls.units, bias=ls.bias, dtype=dtype, rng=g)
        refused = next((why for name, why in REFUSED.items() if name.lower() == ls.type), None)
        if refused:
            raise self.error(f"{where}, key 'type'", f"{ls.type!r} is not a layer type of a spec: {refused}")
        cls = _layer_class(ls.type)
        if cls is None:
            known = sorted(c.__name__.lower() for c in INFERRED)
            raise self.error(f"{where}, key 'type'", f"unknown layer type {ls.type!r}; known: {', '.join(known)}")
        kwargs = dict(ls.kwargs)
        import inspect

        params = inspect.signature(cls.__init__).parameters
        if ls.weight is not None and cls is Conv2d:  # conv2d: the weight tells out_channels, kernel
            for key, v in (("out_channels", ls.weight.shape[0]), ("kernel_size", tuple(ls.weight.shape[2:]))):
                given = kwargs.setdefault(key, v)
                pair = (given, given) if key == "kernel_size" and not isinstance(given, tuple) else given
                if pair != v:
                    raise self.error(
                        f"{where}, key {key!r}", f"is {given!r} but 'weight' has shape {tuple(ls.weight.shape)}"
                    )
        for key, source in INFERRED[cls].items():
            if key in kwargs:
                continue
            if source == "image channels" and (shape is None or len(shape) != 3):
                raise self.error(
                    where, f"{cls.__name__} needs a (C, H, W) input; give 'input' = [C, H, W] at the top level"
                )
            if shape is None:
                raise self.error(where, f"{cls.__name__} cannot tell its {key}; give {key!r} or the top-level 'input'")
            kwargs[key] = shape[0]
        if "dtype" in params:
            kwargs.setdefault("dtype", dtype)
        if "rng" in params:
            kwargs.setdefault("rng", g)
        if "bias" in params:
            kwargs.setdefault("bias", ls.bias)
        unknown = [k for k in kwargs if k not in params]
        if unknown:
            raise self.error(f"{where}, key {unknown[0]!r}", f"{cls.__name__} takes no such argument")
        try:
            return cls(**kwargs)
        except ChainruleError as e:
            raise self.error(where, str(e)) from None
        except (TypeError, ValueError) as e:
            raise self.error(where, f"{cls.__name__}: {e}") from None


def _set_parameters(spec: Spec, layer: Module, ls: LayerSpec, where: str) -> None:
    """Put a layer table's ``weight = [...]`` / ``bias = [...]`` (PyTorch's layout) into ``layer``."""
    for key, given in (("weight", ls.weight), ("bias", ls.bias_values), *ls.buffers.items()):
        if given is None:
            continue
        p = getattr(layer, key, None)
        if key in BUFFERS and p is not None:  # a buffer is the array itself, a parameter holds one (.data)
            p = SimpleNamespace(data=p)
        if p is None:
            problem = "this layer has no bias (bias = false)" if key == "bias" else f"{ls.type} has no weight"
            raise spec.error(f"{where}, key {key!r}", problem)
        if given.shape != p.data.shape:
            raise spec.error(
                f"{where}, key {key!r}",
                f"has shape {tuple(given.shape)}; this {ls.type} layer's {key} is "
                f"{tuple(p.data.shape)} (PyTorch's layout)",
            )
        p.data[...] = given


def _layer_class(name: str):
    """The layer class a spec's ``type`` names (INFERRED's keys), or None."""
    table = {c.__name__.lower(): c for c in INFERRED}
    return table.get(TYPE_ALIASES.get(name, name))


def _out_shape(layers, shape, dtype, err: ChainruleError) -> tuple[int, ...]:
    """Shape of one example after ``layers``, from each layer's output_shape (nothing runs)."""
    try:
        for layer in layers:
            shape = layer.output_shape(shape)
    except ChainruleError as e:
        raise ChainruleError(f"{err}{e}") from None
    return shape


def _check_regression_target(spec: Spec, net: Sequential) -> None:
    """One example's target has one number per output of the last Linear layer."""
    last = next((layer for layer in reversed(net.layers) if getattr(layer, "weight", None) is not None), None)
    if not isinstance(last, Linear):
        return
    y = np.asarray(spec.y)
    if y.size != last.out_features or y.ndim > 1:
        raise spec.error(
            "key 'y'",
            f"the network has {last.out_features} output(s), so y is "
            f"{'one number' if last.out_features == 1 else f'a list of {last.out_features}'}"
            f"; got {y.tolist()}",
        )


def _check_class_target(spec: Spec, net: Sequential) -> None:
    classes = next((layer.out_features for layer in reversed(net.layers) if isinstance(layer, Linear)), None)
    y = np.asarray(spec.y)
    if classes is None:
        return
    if y.dtype.kind in "iu":
        if np.any((y < 0) | (y >= classes)):
            raise spec.error(
                "key 'y'", f"class label {y.ravel()[0]} is out of range for {classes} classes (0…{classes - 1})"
            )
    elif y.shape[-1:] != (classes,):
        raise spec.error(
            "key 'y'",
            f"a cross-entropy target is a class label (0…{classes - 1}) or a one-hot / "
            f"probability list of length {classes}; got {y.tolist()}",
        )
    elif np.any(y < 0) or not np.allclose(y.sum(axis=-1), 1.0):
        raise spec.error(
            "key 'y'",
            f"a cross-entropy target list is one-hot or probabilities (each ≥ 0, summing to 1); got {y.tolist()}",
        )


def load_spec(path: "str | Path") -> Spec:
    """Read and check a spec file."""
    return parse_spec(read_spec_data(path), source=str(path))


def read_spec_data(path: "str | Path") -> dict:
    """The TOML table of a spec file, unchecked (a caller may change keys before ``parse_spec``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a BOM from a Windows editor is not TOML
    except FileNotFoundError:
        raise ChainruleError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ChainruleError(f"{path}: is a folder, not a spec file") from None
    except UnicodeDecodeError:
        raise ChainruleError(f"{path}: not a text (TOML) file") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ChainruleError(f"{path}: not valid TOML: {e}") from None
    return data


def parse_spec(data: dict, source: str = "<spec>") -> Spec:
    """A ``Spec`` from a parsed TOML table; every value is checked here, with its key named."""

    def err(where, problem):
        return ChainruleError(f"{source}: {where}: {problem}")

    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise err(f"key {unknown[0]!r}", f"unknown top-level key; expected some of {', '.join(sorted(TOP_KEYS))}")
    if "layers" not in data:
        raise err("key 'layers'", "missing: the spec needs at least one [[layers]] table")
    raw_layers = data["layers"]
    if not isinstance(raw_layers, list) or not raw_layers or not all(isinstance(t, dict) for t in raw_layers):
        raise err("key 'layers'", "must be one or more [[layers]] tables")
    layers = [_layer_spec(t, i + 1, err) for i, t in enumerate(raw_layers)]

    loss = data.get("loss")
    loss_kwargs: dict = {}
    if isinstance(loss, dict):  # an inline table: the loss's name under 'type', its constructor keywords beside it
        loss_kwargs = {k: v for k, v in loss.items() if k != "type"}
        loss = loss.get("type")
        if loss is None:
            raise err("key 'loss'", "a loss table names its loss under 'type', e.g. {type = 'cross-entropy'}")
    if loss is not None:
        if not isinstance(loss, str) or loss.lower().replace("_", "-") not in LOSSES:
            raise err("key 'loss'", f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")
        loss = loss.lower().replace("_", "-")
        make_loss(loss, loss_kwargs, err("key 'loss'", ""))  # checked here, with the key named
    if loss is None and "y" in data:  # as explain(): cross-entropy after a final softmax, else squared
        loss = Spec.implied_loss(layers) or "squared"
    x = None
    if "x" in data:
        x = _numbers(data["x"], "key 'x'", err)
        if x.ndim == 0:
            x = x.reshape(1)
    y = data.get("y")
    if y is not None:
        arr = _numbers(y, "key 'y'", err)
        if loss == "cross-entropy" and arr.ndim == 0:
            if arr != np.round(arr):
                raise err("key 'y'", f"a class label must be a whole number, got {y!r}")
            y = int(arr)
        elif (
            loss == "cross-entropy"
            and arr.ndim == 1
            and x is not None
            and x.ndim == 2
            and np.all(arr == np.round(arr))
            and arr.shape[0] == x.shape[0]
        ):
            y = arr.astype(np.int64)  # one label per example of a batch
        else:
            y = arr
    elif x is not None and loss is not None:
        raise err("key 'y'", "missing: 'x' and 'loss' are given but no target 'y'")
    if y is not None and loss is None:
        loss = "squared"
    shape = None
    if "input" in data:
        v = data["input"]
        vals = v if isinstance(v, list) else [v]
        if not vals or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in vals):
            raise err("key 'input'", f"must be a positive whole number (width) or a list [C, H, W], got {v!r}")
        shape = tuple(vals)
    return Spec(layers=layers, x=x, y=y, loss=loss, input=shape, source=source, loss_kwargs=loss_kwargs)


def make_loss(name: str, kwargs: dict, err: ChainruleError) -> Loss:
    """LOSSES[name](**kwargs); a keyword the loss does not take, or a bad value, is ``err`` plus the reason."""
    import inspect

    cls = LOSSES[name]
    params = inspect.signature(cls.__init__).parameters
    unknown = [k for k in kwargs if k not in params or k == "self"]
    if unknown:
        takes = ", ".join(k for k in params if k != "self") or "no arguments"
        raise ChainruleError(f"{err}{cls.__name__} takes no argument {unknown[0]!r} (it takes {takes})")
    try:
        return cls(**kwargs)
    except ChainruleError as e:
        raise ChainruleError(f"{err}{e}") from None


def _layer_spec(t: dict, index: int, err) -> LayerSpec:
    where = f"[[layers]] #{index}"
    kind = t.get("type", "linear")
    if not isinstance(kind, str):
        raise err(f"{where}, key 'type'", f"must be a layer name, got {kind!r}")
    kind = TYPE_ALIASES.get(kind.lower(), kind.lower())
    ls = LayerSpec(index=index, type=kind)
    if "weights" in t:
        if kind != "linear":
            raise err(f"{where}, key 'weights'", f"folded weights are for linear layers, not {kind!r}")
        m = _numbers(t["weights"], f"{where}, key 'weights'", err)
        if m.ndim == 1:
            m = m[None, :]
        if m.ndim != 2 or m.shape[1] < 2:
            raise err(
                f"{where}, key 'weights'",
                f"must be a matrix with one row per unit and ≥ 2 columns (column 0 the bias), got shape {m.shape}",
            )
        ls.weights = m
    if "units" in t:
        u = t["units"]
        if not isinstance(u, int) or isinstance(u, bool) or u < 1:
            raise err(f"{where}, key 'units'", f"must be a whole number ≥ 1, got {u!r}")
        if ls.weights is not None and ls.weights.shape[0] != u:
            raise err(f"{where}, key 'units'", f"is {u} but 'weights' has {ls.weights.shape[0]} rows")
        ls.units = u
    if "weight" in t:
        if kind not in PARAM_RANKS:
            raise err(f"{where}, key 'weight'", f"'weight' is for linear, conv2d and batchnorm layers, not {kind!r}")
        if ls.weights is not None:
            raise err(f"{where}, key 'weight'", "give 'weights' (folded) or 'weight' (PyTorch's layout), not both")
        w = _numbers(t["weight"], f"{where}, key 'weight'", err)
        ndim = PARAM_RANKS[kind]
        if w.ndim != ndim or 0 in w.shape:
            layout = {2: "(out_features, in_features)", 4: "(out_channels, in_channels, KH, KW)"}.get(ndim, "γ")
            raise err(f"{where}, key 'weight'", f"must be a {ndim}-D array {layout}, got shape {w.shape}")
        ls.weight = w
    if "bias" in t:
        b = t["bias"]
        if isinstance(b, list) and kind in PARAM_RANKS:
            ls.bias_values = _numbers(b, f"{where}, key 'bias'", err)
            if ls.bias_values.ndim != 1:
                raise err(f"{where}, key 'bias'", f"must be a list of numbers, one per output, got {b!r}")
            if ls.weights is not None:
                raise err(f"{where}, key 'bias'", "with folded 'weights' the bias is column 0; give true or false")
        elif not isinstance(b, bool):
            raise err(f"{where}, key 'bias'", f"must be true or false (or a list of values), got {b!r}")
        else:
            ls.bias = b
    for key in BUFFERS:
        if key in t:
            if not kind.startswith("batchnorm"):
                raise err(f"{where}, key {key!r}", f"running statistics are for batchnorm layers, not {kind!r}")
            v = _numbers(t[key], f"{where}, key {key!r}", err)
            if v.ndim != 1 or (key == "running_var" and np.any(v < 0)):
                raise err(f"{where}, key {key!r}", f"must be a list of numbers (variances ≥ 0), got {t[key]!r}")
            ls.buffers[key] = v
    if "activation" in t:
        a = t["activation"]
        if not isinstance(a, str) or a.lower() not in ACTIVATIONS:
            raise err(
                f"{where}, key 'activation'", f"unknown activation {a!r}; expected one of {', '.join(ACTIVATIONS)}"
            )
        ls.activation = a.lower()
    ls.kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in t.items() if k not in LAYER_KEYS}
    if kind == "linear" and ls.activation:  # the activation's own keywords (negative_slope, alpha, approximate, dim)
        import inspect

        own = inspect.signature(ACTIVATIONS[ls.activation].__init__).parameters
        ls.activation_kwargs = {k: ls.kwargs.pop(k) for k in list(ls.kwargs) if k in own and k != "self"}
    if kind == "linear" and ls.kwargs:
        k = next(iter(ls.kwargs))
        raise err(
            f"{where}, key {k!r}", f"unknown key for a linear layer; expected some of {', '.join(sorted(LAYER_KEYS))}"
        )
    return ls


def _numbers(value, where: str, err) -> np.ndarray:
    """A float array from a TOML number / nested list, naming the first entry that is not a number."""

    def walk(v, path):
        if isinstance(v, bool) or not isinstance(v, (int, float, list)):
            raise err(where, f"entry {path or ''} is {v!r}, not a number".replace("entry  ", "value "))
        if isinstance(v, list):
            for i, e in enumerate(v):
                walk(e, f"{path}[{i}]")

    walk(value, "")
    try:
        arr = np.array(value, dtype=np.float64)
    except ValueError:
        raise err(where, "rows have different lengths (ragged nested list)") from None
    if not np.all(np.isfinite(arr)):
        raise err(where, "contains NaN or infinity")
    return arr
