"""JSON ``layers``: every layer of the pass in order, with its full arrays (PyTorch's layout and names).

Each entry: ``index``, ``type`` (the class name, as PyTorch spells it), ``input``, ``output``,
``grad_input`` (null for the first layer when nothing needs it), ``grad_output``, ``params``
({"weight": {"value", "grad", "updated" (with --lr)}, "bias": …}). A Linear layer of the dense part
also carries the dense derivation's keys (``name``, ``activation``, ``weights`` folded, ``a``, ``z``,
``grad_weights`` …, see ``Trace.to_dict``) and, with --lr, ``updated_weights`` folded like ``weights``.
"""

from typing import Any

import numpy as np

from chainrule.explain.network_pass import Pass
from chainrule.explain.record import LayerRecord
from chainrule.explain.trace import Trace
from chainrule.nn.batchnorm import _BatchNorm
from chainrule.nn.linear import Linear


def _arr(v: Any) -> Any:
    return None if v is None else np.asarray(v, dtype=float).tolist()


def folded_updated(r: LayerRecord) -> np.ndarray | None:
    """[b⁺ | W⁺] : (out, in + 1), column 0 zero without a bias (the folded layout of ``weights``)."""
    w = r.params["weight"].updated
    if w is None:
        return None
    b = r.params["bias"].updated if "bias" in r.params else np.zeros(w.shape[0])
    return np.concatenate([np.asarray(b)[:, None], w], axis=1)


def layer_json(r: LayerRecord) -> dict:
    params = {}
    for name, p in r.params.items():
        params[name] = {"value": _arr(p.value), "grad": _arr(p.grad)}
        if p.updated is not None:
            params[name]["updated"] = _arr(p.updated)
    entry = {
        "index": r.index,
        "type": r.type,
        "input": _arr(r.input),
        "output": _arr(r.output),
        "grad_input": _arr(r.grad_input),
        "grad_output": _arr(r.grad_output),
        "params": params,
    }
    if isinstance(r.layer, _BatchNorm):  # evaluation mode: the running statistics it normalised by
        entry.update(
            running_mean=_arr(r.layer.running_mean),
            running_var=_arr(r.layer.running_var),
            eps=r.layer.eps,
            normalised=_arr(r.extras.get("xhat")),
        )
    return entry


def layers_json(p: Pass, trace: Trace | None, names: list[str] | None = None) -> list[dict]:
    """Every layer's entry; the k-th Linear layer gains the k-th dense stage's keys (and ``name``)."""
    stages = trace.to_dict()["layers"] if trace is not None else []
    out, k = [], 0
    for r in p.records:
        entry = layer_json(r)
        if isinstance(r.layer, Linear) and k < len(stages):
            for key, value in stages[k].items():
                entry.setdefault(key, value)
            if names is not None:
                entry["name"] = names[k]
            up = folded_updated(r)
            if up is not None:
                entry["updated_weights"] = _arr(up)
            k += 1
        out.append(entry)
    return out
