"""Flatten: merge axes start_dim..end_dim into one, as torch.nn.Flatten (default: all but the batch axis).

x : (N, C, H, W)  ->  y : (N, C·H·W);  backward reshapes ∂ℓ/∂y back to x's shape.
"""

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.nn.module import Module


class Flatten(Module):
    """https://pytorch.org/docs/stable/generated/torch.nn.Flatten.html"""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)
        self._shape: tuple[int, ...] | None = None  # forward's input shape, for backward

    def output_shape_of(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape ``forward`` gives an input of ``shape``."""
        n = len(shape)
        s = self.start_dim + n if self.start_dim < 0 else self.start_dim
        e = self.end_dim + n if self.end_dim < 0 else self.end_dim
        if not (0 <= s < max(n, 1) and 0 <= e < max(n, 1)) or s > e:
            raise ChainruleError(
                f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) does not fit "
                f"an input of shape {tuple(shape)} ({n} axes)"
            )
        return (*shape[:s], int(np.prod(shape[s : e + 1])), *shape[e + 1 :])

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """One example's shape after flattening (the batch axis is put back to apply start_dim)."""
        return self.output_shape_of((1, *input_shape))[1:]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._shape = x.shape
        # the target shape, worked out once per input shape and dims (a training loop repeats one shape)
        key = (x.shape, self.start_dim, self.end_dim)
        last = self.__dict__.get("_last")
        if last is None or last[0] != key:
            last = self._last = (key, self.output_shape_of(x.shape))
        return x.reshape(last[1])

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._shape is not None, "backward() before forward()"
        return dy.reshape(self._shape)

    def config(self) -> dict:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}
