"""The public layer types, for the tests that prove every concern handles each one.

``Module.registry`` also holds any subclass a test defines (``Doubler``, ``Mystery``), and which of those
exist depends on the order pytest imports test files in, so the completeness tests read this instead."""

import chainrule.nn  # noqa: F401  (imports every public layer, so each is registered)
from chainrule.nn.module import Module

PUBLIC_LAYERS: dict[str, type[Module]] = {
    name: cls for name, cls in sorted(Module.registry.items()) if cls.__module__.startswith("chainrule.")
}
