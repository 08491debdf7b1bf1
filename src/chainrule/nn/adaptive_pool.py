"""Adaptive average pooling: the output size is given, the windows follow from it (PyTorch's AdaptiveAvgPool2d).

Output cell (i, j) averages input rows ⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1 and the columns likewise. Output size 1
is global average pooling. When OH divides H and OW divides W the windows are equal, non-overlapping
KH×KW = (H/OH)×(W/OW) tiles: the shared window primitive (``core.windows``), as AvgPool2d. Otherwise the
windows have different sizes and may overlap; each axis is then one averaging matrix A (OH, H):

    y = A_h · x · A_wᵀ,      ∂ℓ/∂x = A_hᵀ · ∂ℓ/∂y · A_w
"""

import numpy as np

from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.nn.module import Module


def averaging_matrix(size: int, out: int) -> np.ndarray:
    """A (out, size): row i is 1/len over input positions ⌊i·size/out⌋ … ⌈(i+1)·size/out⌉ − 1."""
    a = np.zeros((out, size))
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        a[i, start:end] = 1.0 / (end - start)
    return a


class AdaptiveAvgPool2d(Module):
    """https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html

    output_size : int or (OH, OW); None in a pair keeps that axis's input size.
    x : (N, C, H, W) or (C, H, W)  ->  y : (N, C, OH, OW) or (C, OH, OW)
    """

    def __init__(self, output_size: "int | tuple[int | None, int | None]" = 1) -> None:
        try:
            if isinstance(output_size, (list, tuple)) and len(output_size) == 2:
                oh, ow = (None if s is None else win.pair(s, "output_size")[0] for s in output_size)
                self.output_size: tuple[int | None, int | None] = (oh, ow)
            else:
                self.output_size = win.pair(output_size, "output_size")
        except ChainruleError as e:
            raise ChainruleError(f"AdaptiveAvgPool2d: {e}") from None
        self._cache: tuple[str, tuple, tuple[int, ...], bool] | None = None

    def output_hw(self, hw: "tuple[int, ...]") -> tuple[int, int]:
        oh, ow = (int(n) if s is None else s for s, n in zip(self.output_size, hw, strict=True))
        return oh, ow

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(C, OH, OW) for a (C, H, W) input."""
        if len(input_shape) != 3:
            raise ChainruleError(f"input to {self!r} has shape {tuple(input_shape)} per example; it expects (C, H, W)")
        return (int(input_shape[0]), *self.output_hw(input_shape[1:]))

    def forward(self, x: np.ndarray) -> np.ndarray:
        x4, unbatched = win.as_nchw(x, repr(self))
        H, W = x4.shape[2:]
        oh, ow = self.output_hw((H, W))
        if H % oh == 0 and W % ow == 0:
            tile = (H // oh, W // ow)
            y = win.windows(x4, tile, tile).mean(axis=(-2, -1))  # (N, C, OH, OW)
            self._cache = ("tiles", tile, x4.shape, unbatched)
        else:
            ah, aw = averaging_matrix(H, oh).astype(x4.dtype), averaging_matrix(W, ow).astype(x4.dtype)
            y = ah @ x4 @ aw.T  # (OH, H) @ (N, C, H, W) @ (W, OW) -> (N, C, OH, OW)
            self._cache = ("matrices", (ah, aw), x4.shape, unbatched)
        return y[0] if unbatched else y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._cache is not None, "backward() before forward()"
        kind, how, (N, C, H, W), unbatched = self._cache
        dy4 = dy[None] if unbatched else dy
        if kind == "tiles":
            kh, kw = how
            share = np.broadcast_to((dy4 / (kh * kw))[..., None, None], (*dy4.shape, kh, kw))
            dx = win.windows_backward(share, (H, W), (0, 0, 0, 0), how)
        else:
            ah, aw = how
            dx = ah.T @ dy4 @ aw
        return dx[0] if unbatched else dx

    def config(self) -> dict:
        return {"output_size": list(self.output_size)}

    def extra_repr(self) -> str:
        oh, ow = self.output_size
        return f"output_size={oh if oh == ow else self.output_size}"
