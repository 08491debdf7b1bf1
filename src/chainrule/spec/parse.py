"""Reading a spec file: TOML -> a checked ``Spec`` (every error names the file, the key and the problem)."""

import tomllib
from pathlib import Path

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn.activations import ACTIVATIONS
from chainrule.nn.losses import LOSSES
from chainrule.spec.layer_types import BUFFERS, PARAM_RANKS, TYPE_ALIASES
from chainrule.spec.model import LayerSpec, Spec, make_loss

TOP_KEYS = {"x", "y", "loss", "input", "layers", "name", "description"}
LAYER_KEYS = {"type", "weights", "weight", "units", "bias", "activation", *BUFFERS}


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
