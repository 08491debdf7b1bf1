"""The convolution worksheet: a Conv2d's forward and backward pass worked cell by cell (recitation 4.2).

    ws = conv_worksheet(X, F)                        # X (H, W) or (C, H, W); F (KH, KW) … (O, C, KH, KW)
    print(ws.render("text"))                         # Y₁,₁ = (1·2 + 0·3 + 1·(−1)) + … = −2

Every number comes from the engine: the layer runs forward (im2col path) and its patch matrix — the
very windows it multiplied — supplies each product's input value; each cell's result is the layer's
output. With a gradient G = ∂ℓ/∂Y the layer runs backward, and the worksheet writes

    ∂ℓ/∂F[o, c, u, v] = Σ_{i,j} G[o, i, j] · Xp[c, i·S + u·D, j·S + v·D]   (X correlated with G)
    ∂ℓ/∂X[c, r, s]    = Σ_o Σ G[o, i, j] · F[o, c, u, v]  over i·S + u·D − P = r, j·S + v·D − P = s
                        (the full correlation of G with the kernel rotated by 180°)

with the engine's ``weight.grad`` and ∂ℓ/∂x as the results. ``flip=True`` computes a true
convolution (the kernel rotated by 180° before sliding) and says so.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.explain.conv_input import as_array, as_image, as_kernels, check_finite
from chainrule.explain.conv_writer import ConvWriter
from chainrule.explain.doc import Document
from chainrule.explain.numbers import NumberFormat
from chainrule.explain.render import render_document
from chainrule.nn.conv import Conv2d

__all__ = ["ConvWorksheet", "ConvWriter", "as_image", "as_kernels", "conv_worksheet"]


@dataclass
class ConvWorksheet:
    """The engine's values for one image through one Conv2d (float64), and how to write them."""

    x: np.ndarray  # (C, H, W) the input
    kernel: np.ndarray  # (O, C, KH, KW) as given
    used: np.ndarray  # (O, C, KH, KW) what slides over the input (rot180(kernel) with flip)
    bias: np.ndarray | None  # (O,)
    layer: Conv2d
    pads: tuple  # (top, bottom, left, right)
    xp: np.ndarray  # (C, Hp, Wp) the padded input
    patches: np.ndarray  # (C·KH·KW, OH·OW) the engine's patch matrix
    y: np.ndarray  # (O, OH, OW)
    flip: bool = False
    g: np.ndarray | None = None  # (O, OH, OW) ∂ℓ/∂Y
    grad_input: np.ndarray | None = None  # (C, H, W)
    grad_kernel: np.ndarray | None = None  # (O, C, KH, KW), for the kernel as given
    grad_bias: np.ndarray | None = None  # (O,)
    g_assumed: bool = False

    # --- shapes and indices ----------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int, int, int, int]:
        """(O, C, KH, KW, OH, OW): filters, input channels, kernel size, output size."""
        O, C, kh, kw = self.used.shape
        return O, C, kh, kw, self.y.shape[1], self.y.shape[2]

    def backward_values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(G, ∂ℓ/∂X, ∂ℓ/∂F): (O, OH, OW), (C, H, W), (O, C, KH, KW), which ``conv_worksheet`` sets together."""
        if self.g is None or self.grad_input is None or self.grad_kernel is None:
            raise ChainruleError("the worksheet has no backward pass: give grad_output, or backward=True")
        return self.g, self.grad_input, self.grad_kernel

    def window_value(self, c: int, u: int, v: int, i: int, j: int) -> float:
        """Xp[c, i·S + u·D, j·S + v·D], read from the engine's patch matrix."""
        _, _, kh, kw, _, ow = self.shape
        return float(self.patches[(c * kh + u) * kw + v, i * ow + j])

    def forward_terms(self, o: int, i: int, j: int) -> list[tuple[float, float, tuple]]:
        """[(F'[o,c,u,v], Xp value, (c, u, v))] of output cell (o, i, j), in the window's order."""
        _, C, kh, kw, _, _ = self.shape
        return [
            (float(self.used[o, c, u, v]), self.window_value(c, u, v, i, j), (c, u, v))
            for c in range(C)
            for u in range(kh)
            for v in range(kw)
        ]

    def kernel_grad_terms(self, o: int, c: int, u: int, v: int) -> list[tuple[float, float, tuple]]:
        """[(G[o,i,j], Xp value, (i, j))] whose sum is ∂ℓ/∂F[o, c, u, v] (the kernel as given)."""
        _, _, kh, kw, oh, ow = self.shape
        uu, vv = (kh - 1 - u, kw - 1 - v) if self.flip else (u, v)
        g = self.backward_values()[0]
        return [(float(g[o, i, j]), self.window_value(c, uu, vv, i, j), (i, j)) for i in range(oh) for j in range(ow)]

    def input_grad_terms(self, c: int, r: int, s: int) -> list[tuple[float, float, tuple]]:
        """[(G[o,i,j], F'[o,c,u,v], (o, i, j, u, v))] whose sum is ∂ℓ/∂X[c, r, s]."""
        O, _, kh, kw, oh, ow = self.shape
        (sh, sw), (dh, dw) = self.layer.stride, self.layer.dilation
        t, left = self.pads[0], self.pads[2]
        g = self.backward_values()[0]
        terms = []
        for o in range(O):
            for i in range(oh):
                for j in range(ow):
                    du, dv = r + t - i * sh, s + left - j * sw
                    if du % dh or dv % dw:
                        continue
                    u, v = du // dh, dv // dw
                    if 0 <= u < kh and 0 <= v < kw:
                        terms.append((float(g[o, i, j]), float(self.used[o, c, u, v]), (o, i, j, u, v)))
        return terms

    # --- output ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        out = {
            "operation": "convolution" if self.flip else "cross-correlation",
            "input": self.x.tolist(),
            "kernel": self.kernel.tolist(),
            "kernel_applied": self.used.tolist(),
            "bias": None if self.bias is None else self.bias.tolist(),
            "stride": list(self.layer.stride),
            "dilation": list(self.layer.dilation),
            "padding": list(self.pads),
            "padded_input": self.xp.tolist(),
            "output": self.y.tolist(),
        }
        if self.g is not None:
            g, grad_input, grad_kernel = self.backward_values()
            out.update(
                grad_output=g.tolist(),
                grad_output_assumed=self.g_assumed,
                grad_input=grad_input.tolist(),
                grad_kernel=grad_kernel.tolist(),
                grad_bias=None if self.grad_bias is None else self.grad_bias.tolist(),
            )
        return out

    def document(self, max_cells: int = 64) -> Document:
        return ConvWriter(self, max_cells).document()

    def render(self, fmt: str = "text", decimals: int = 5, max_cells: int = 64, standalone: bool = False) -> str:
        if fmt == "json":
            return json.dumps(self.to_dict()) + "\n"
        return render_document(self.document(max_cells), fmt, NumberFormat(decimals), standalone=standalone)

    def png(self, path: str | Path, cell: tuple[int, int] = (0, 0), filt: int = 0, channel: int = 0) -> None:
        from chainrule.explain.convolution_png import draw

        draw(self, path, cell, filt, channel)


def conv_worksheet(
    x: ArrayLike,
    kernel: ArrayLike,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    bias: ArrayLike | None = None,
    grad_output: ArrayLike | None = None,
    backward: bool = False,
    flip: bool = False,
) -> ConvWorksheet:
    """Run the engine on one image and keep what the worksheet prints (see the module docstring).

    x : (H, W) or (C, H, W);  kernel : (KH, KW), (C, KH, KW), (O, KH, KW) or (O, C, KH, KW);
    bias : (O,) or None;  grad_output : (OH, OW) or (O, OH, OW) — with ``backward`` and no
    grad_output, G = 1 everywhere (ℓ = ΣY).
    """
    x = as_image(x)
    k = as_kernels(kernel, x.shape[0])
    O, C, kh, kw = k.shape
    used = np.ascontiguousarray(k[:, :, ::-1, ::-1]) if flip else k
    b = None
    if bias is not None:
        b = as_array(bias, "bias").reshape(-1)
        if b.size != O:
            raise ChainruleError(f"bias has {b.size} value(s) but there are {O} filter(s): one bias per filter")
    layer = Conv2d(C, O, (kh, kw), stride=stride, padding=padding, dilation=dilation, bias=b is not None, rng=0)
    layer.path = "im2col"  # its patch matrix is the worksheet's source of window values
    layer.weight.data[...] = used
    if layer.bias is not None:  # made with a bias exactly when one was given
        layer.bias.data[...] = b
    with np.errstate(all="ignore"):  # an overflow is one error below, not a RuntimeWarning
        y = layer.forward(x[None])[0]
    check_finite(y, "the output Y")
    pads = layer.last_pads  # what the forward just padded with, not computed again
    ws = ConvWorksheet(
        x=x,
        kernel=k,
        used=used,
        bias=b,
        layer=layer,
        pads=pads,
        xp=win.pad(x, pads),
        patches=layer.patch_matrix[0, 0],
        y=y,
        flip=flip,
    )
    if backward or grad_output is not None:
        if grad_output is None:
            g, ws.g_assumed = np.ones_like(y), True
        else:
            g = given = as_array(grad_output, "grad-output")
            if g.ndim == 2 and O == 1:
                g = g[None]
            if g.shape != y.shape:
                want = "×".join(map(str, y.shape[1:])) if O == 1 else "×".join(map(str, y.shape))
                got = "×".join(map(str, given.shape)) or "a single number"
                raise ChainruleError(
                    f"grad-output is {got} but the output Y is {want}; ∂ℓ/∂Y has one entry per output cell"
                )
        layer.zero_grad()
        ws.g = g
        with np.errstate(all="ignore"):
            ws.grad_input = layer.backward(g[None])[0]
        gw = layer.weight.grad
        check_finite(ws.grad_input, "∂ℓ/∂X")
        check_finite(gw, "∂ℓ/∂F")
        ws.grad_kernel = np.ascontiguousarray(gw[:, :, ::-1, ::-1]) if flip else gw.copy()
        ws.grad_bias = None if layer.bias is None else layer.bias.grad.copy()
    return ws
