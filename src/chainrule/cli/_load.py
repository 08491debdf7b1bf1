"""The network a command is pointed at: a model file or a network spec."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chainrule.nn.containers import Sequential

# `chainrule train --model NAME` presets, built as training builds them for the bundled digits
# (10 classes; --input gives another example shape)
PRESETS = ("mlp", "cnn")
DIGITS_SHAPE = (1, 8, 8)


def load_network(path: str, input_shape: "Sequence[int] | None" = None) -> "tuple[Sequential, dict]":
    """(Sequential, extra metadata) from a model file (.safetensors) or a network spec (.toml).

    A spec's layers given only by ``units`` are seeded (the same weights every run), and a final
    softmax that the fused cross-entropy left to the loss is put back, so the network outputs ŷ;
    its ``extra["input_shape"]`` is ``input_shape`` or the spec's own input size, if it has one.
    """
    from pathlib import Path

    from chainrule.errors import ChainruleError
    from chainrule.nn.containers import Sequential

    if path in PRESETS:
        import numpy as np

        from chainrule.train.models import build_model, parse_hidden
        from chainrule.train.settings import DEFAULTS

        shape = tuple(input_shape or DIGITS_SHAPE)
        net, _, want = build_model(
            path,
            shape,
            10,
            parse_hidden(DEFAULTS["hidden"]),
            DEFAULTS["activation"],
            "default",
            np.float64,
            np.random.default_rng(0),
        )
        return net, {"input_shape": list(want)}
    suffix = Path(path).suffix.lower()
    if suffix == ".toml":
        from chainrule.nn.activations import Softmax
        from chainrule.spec import load_spec

        spec = load_spec(path)
        spec_shape = input_shape or spec.input_shape()
        net, _ = spec.build(input_shape=spec_shape, rng=0)
        if spec.softmax_output:
            net = Sequential(*net.layers, Softmax())
        return net, {"input_shape": list(spec_shape)} if spec_shape else {}
    if suffix in (".safetensors", ".st"):
        from chainrule.serialize import load_model

        model, extra = load_model(path)
        return (model if isinstance(model, Sequential) else Sequential(model)), extra
    raise ChainruleError(
        f"{path}: expected a model file (.safetensors), a network spec (.toml) or a preset "
        f"({', '.join(PRESETS)}), "
        f"got {suffix or 'no extension'}"
    )
