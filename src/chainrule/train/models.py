"""Networks from command-line flags: the MLP and CNN presets, or a TOML spec file.

Every builder takes the shape of one example and the number of outputs, so the same flags fit
digits (1×8×8), MNIST (1×28×28) or a CSV of any width. MLPs take flattened examples (features,);
the CNN takes (C, H, W).
"""

from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from chainrule.errors import ChainruleError
from chainrule.nn.activations import ACTIVATIONS
from chainrule.nn.containers import Sequential
from chainrule.nn.initialize import initialize
from chainrule.nn.linear import Linear
from chainrule.nn.losses import Loss
from chainrule.nn.module import Module


def parse_hidden(text: str) -> list[int]:
    """ "128,64" → [128, 64]; "" or "none" → [] (no hidden layer)."""
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        sizes = [int(p) for p in text.split(",")]
    except ValueError:
        sizes = [0]
    if any(s < 1 for s in sizes):
        raise ChainruleError(f"--hidden {text!r} is not a list of layer widths; expected e.g. 128 or 128,64")
    return sizes


def mlp(
    features: int, outputs: int, hidden: list[int], activation: str, dtype: DTypeLike, rng: np.random.Generator
) -> Sequential:
    """Linear → act → … → Linear: (n, features) -> (n, outputs)."""
    if activation.lower() not in ACTIVATIONS or activation.lower() == "softmax":
        raise ChainruleError(f"--activation {activation!r}: expected one of tanh, sigmoid, relu, identity")
    layers: list[Module] = []
    width = features
    for h in hidden:
        layers += [Linear(width, h, dtype=dtype, rng=rng), ACTIVATIONS[activation.lower()]()]
        width = h
    layers.append(Linear(width, outputs, dtype=dtype, rng=rng))
    return Sequential(*layers)


def cnn(
    shape: tuple[int, ...], outputs: int, dtype: DTypeLike, rng: np.random.Generator, batchnorm: bool = False
) -> Sequential:
    """A small LeNet-like preset whose sizes follow the input (C, H, W):

    conv 3×3 (16, pad 1) → ReLU → [maxpool 2 if H, W ≥ 8] → conv 3×3 (32, pad 1) → ReLU → maxpool 2
    → flatten → linear 64 → ReLU → linear outputs.  For digits (1×8×8): 16×8×8 → 16×4×4 → 32×4×4 → 32×2×2.
    ``batchnorm`` (--model cnn-bn): a BatchNorm2d after each conv and Dropout(0.25) before each linear.
    """
    from chainrule.nn.activations import ReLU
    from chainrule.nn.batchnorm import BatchNorm2d
    from chainrule.nn.conv import Conv2d
    from chainrule.nn.dropout import Dropout
    from chainrule.nn.flatten import Flatten
    from chainrule.nn.pool import MaxPool2d

    if len(shape) != 3:
        raise ChainruleError(
            f"--model cnn needs image examples (C, H, W); these have shape {shape} "
            "(view CSV or NPZ rows as images with --image-shape H,W or C,H,W)"
        )
    C, H, W = shape
    if min(H, W) < 4:
        raise ChainruleError(f"--model cnn needs images of at least 4×4, got {H}×{W}")

    def norm(c: int) -> list[Module]:
        return [BatchNorm2d(c, dtype=dtype)] if batchnorm else []

    def drop() -> list[Module]:
        return [Dropout(0.25, rng=rng)] if batchnorm else []

    layers: list[Module] = [Conv2d(C, 16, 3, padding=1, dtype=dtype, rng=rng), *norm(16), ReLU()]
    if min(H, W) >= 8:
        layers.append(MaxPool2d(2))
        H, W = H // 2, W // 2
    layers += [Conv2d(16, 32, 3, padding=1, dtype=dtype, rng=rng), *norm(32), ReLU(), MaxPool2d(2), Flatten()]
    H, W = H // 2, W // 2
    layers += [
        *drop(),
        Linear(32 * H * W, 64, dtype=dtype, rng=rng),
        ReLU(),
        *drop(),
        Linear(64, outputs, dtype=dtype, rng=rng),
    ]
    return Sequential(*layers)


def from_spec(
    path: str,
    shape: tuple[int, ...],
    outputs: int,
    dtype: DTypeLike,
    rng: np.random.Generator,
    init: str | None,
) -> tuple[Sequential, Loss | None, tuple[int, ...]]:
    """A network from a TOML spec file, and the example shape it takes (flattened for a Linear first)."""
    from chainrule.spec import load_spec

    spec = load_spec(path)
    if spec.loss is None:
        spec.loss = spec.implied_loss(spec.layers)
    first = spec.layers[0].type
    want = spec.input if spec.input is not None else ((int(np.prod(shape)),) if first == "linear" else tuple(shape))
    if int(np.prod(want)) != int(np.prod(shape)):
        raise ChainruleError(
            f"{path}: input {list(want)} takes {int(np.prod(want))} values per example, "
            f"but the data's examples have {int(np.prod(shape))}"
        )
    net, loss = spec.build(input_shape=want, dtype=dtype, rng=rng, init=init if init != "default" else None)
    return net, loss, tuple(want)


def build_model(
    model: str,
    shape: tuple[int, ...],
    outputs: int,
    hidden: list[int],
    activation: str,
    init: str,
    dtype: DTypeLike,
    rng: np.random.Generator,
) -> tuple[Sequential, Loss | None, tuple[int, ...]]:
    """(network, loss named by a spec or None, example shape the network takes)."""
    want: tuple[int, ...]
    if model == "mlp":
        features = int(np.prod(shape))
        net, loss, want = mlp(features, outputs, hidden, activation, dtype, rng), None, (features,)
    elif model in ("cnn", "cnn-bn"):
        net, loss, want = cnn(tuple(shape), outputs, dtype, rng, batchnorm=model == "cnn-bn"), None, tuple(shape)
    elif model.lower().endswith(".toml"):
        if not Path(model).exists():
            raise ChainruleError(f"--model {model}: no such file")
        return from_spec(model, shape, outputs, dtype, rng, init)
    else:
        raise ChainruleError(f"--model {model!r}: expected mlp, cnn, cnn-bn, or a .toml network spec file")
    if init != "default":
        initialize(net, init, rng)
    return net, loss, want
