"""Numerical core: pure functions on arrays, no layers, no state."""
