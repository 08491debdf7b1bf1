"""chainrule: a NumPy neural-network engine that shows its work.

The public names load on first use (PEP 562), so ``chainrule --help`` and commands that do not need
the engine never import NumPy or the explainer.
"""

import importlib
import sys
import types

from chainrule._names import NN_NAMES
from chainrule.errors import ChainruleError

__version__ = "0.1.0"

# public name -> the module that defines it
_HOMES = {
    "gradcheck": "chainrule.gradcheck",
    **{name: "chainrule.nn" for name in NN_NAMES},
    **{name: "chainrule.optim" for name in ("SGD", "Adagrad", "Adam", "AdamW", "RMSprop")},
    **{name: "chainrule.optim.lr_scheduler" for name in ("StepLR", "CosineAnnealingLR", "ReduceLROnPlateau")},
    "summary": "chainrule.nn.summary",
    "set_num_threads": "chainrule.core.threads",
    "get_num_threads": "chainrule.core.threads",
    "explain": "chainrule.explain",
    "Explanation": "chainrule.explain",
}

__all__ = ["ChainruleError", *_HOMES]


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


class _Package(types.ModuleType):
    """Importing a submodule that shares a public function's name (``chainrule.explain``,
    ``chainrule.gradcheck``, ``chainrule.nn.summary``'s ``summary``) makes Python bind the module as this
    package's attribute; that must not hide the function of the same name."""

    def __setattr__(self, name: str, value) -> None:
        if name in _HOMES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
