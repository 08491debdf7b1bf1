"""A model file's stored scalings as PyTorch modules, so its PyTorch twin predicts what ``chainrule predict``
does: x' = (x − shift) / scale first (feature scaling, example_shape → input_shape), y = y' · std + mean last
(a regression model's target standardisation). Constants are non-persistent buffers, so the twin's
``state_dict()`` keys stay the model file's (``0.weight`` …) and it loads the file with ``load_state_dict``.
"""

import functools
from collections import OrderedDict
from types import ModuleType
from typing import Any

import numpy as np

from chainrule.data.scaling import Scaler


@functools.cache
def _affine(torch: ModuleType) -> type:
    """torch module y = (x − shift) / scale (``invert=False``) or y = x · scale + shift, in float64 as predict
    computes it, then cast to ``dtype``; ``shape``: the per-example shape of the result."""
    base: Any = torch.nn.Module  # a runtime class: no static type to check against

    class StoredScaling(base):
        def __init__(self, scaler: Scaler, invert: bool, shape: tuple, dtype: Any) -> None:
            super().__init__()
            self.invert, self.shape, self.dtype = invert, tuple(shape), dtype
            self.register_buffer("shift", torch.from_numpy(np.asarray(scaler.shift, np.float64)), persistent=False)
            self.register_buffer("scale", torch.from_numpy(np.asarray(scaler.scale, np.float64)), persistent=False)

        def forward(self, x: Any) -> Any:
            flat = x.reshape(len(x), -1).to(torch.float64)
            y = flat * self.scale + self.shift if self.invert else (flat - self.shift) / self.scale
            return y.reshape(len(x), *self.shape).to(self.dtype)

    return StoredScaling


def with_scalings(torch: ModuleType, twin: Any, extra: dict) -> Any:
    """``twin`` (a torch.nn.Sequential) between the feature and target scalings stored in ``extra``
    (``load_model``'s metadata); a scaling that is absent or "none" adds nothing."""
    layers = OrderedDict(twin.named_children() if isinstance(twin, torch.nn.Sequential) else [("0", twin)])
    dtype = next((p.dtype for p in twin.parameters()), torch.float64)
    feature = Scaler.from_json(extra["scaling"]) if "scaling" in extra else None
    if feature is not None and feature.shift is not None:
        shape = extra.get("input_shape") or [feature.shift.size]
        layers = OrderedDict([("scaling", _affine(torch)(feature, False, shape, dtype)), *layers.items()])
    stored = extra.get("target_scaling")
    target = None if stored is None else Scaler.from_json(stored, "target")
    if target is not None and target.shift is not None:
        layers["target_scaling"] = _affine(torch)(target, True, (target.shift.size,), torch.float64)
    return torch.nn.Sequential(layers)
