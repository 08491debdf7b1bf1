"""A parsed spec (``Spec``, one ``LayerSpec`` per [[layers]] table), built into a network and a loss."""

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn.activations import ACTIVATIONS
from chainrule.nn.containers import Sequential
from chainrule.nn.conv import Conv2d
from chainrule.nn.linear import Linear
from chainrule.nn.losses import LOSSES, CrossEntropyLoss, Loss
from chainrule.nn.module import Module
from chainrule.nn.summary import infer_input_shape
from chainrule.spec.layer_types import BUFFERS, INFERRED, REFUSED, layer_class


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
        cls = layer_class(ls.type)
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
