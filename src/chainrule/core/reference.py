"""Naive loops for convolution, transposed convolution and pooling: slow, obviously correct, the fast kernels' twins.

Every sum is written out over explicit indices, straight from the definitions, with the padding
done by hand (no window primitive, no GEMM), so the tests compare two independent computations.

    conv:  y[n, o, i, j] = b[o] + Σ_c Σ_u Σ_v W[o, c, u, v] · x̃[n, g·Cg + c, i·S + u·D − P, j·S + v·D − P]
    where x̃ is x outside the image = 0 (max pooling: −∞) and g = o // Og is the group of output o.
"""

import numpy as np


def _at(x, n, c, r, s, fill):
    """x[n, c, r, s], or ``fill`` when (r, s) lies in the padding."""
    if 0 <= r < x.shape[2] and 0 <= s < x.shape[3]:
        return x[n, c, r, s]
    return fill


def conv2d(x, weight, bias, stride, pads, dilation, groups):
    """x (N, C, H, W), weight (O, C/G, KH, KW), bias (O,) or None; pads (top, bottom, left, right)."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = weight.shape
    Og = O // groups
    (sh, sw), (dh, dw), (t, b, left, r) = stride, dilation, pads
    oh = (H + t + b - dh * (kh - 1) - 1) // sh + 1
    ow = (W + left + r - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((N, O, oh, ow), dtype=x.dtype)
    for n in range(N):
        for o in range(O):
            g = o // Og
            for i in range(oh):
                for j in range(ow):
                    total = 0.0 if bias is None else bias[o]
                    for c in range(Cg):
                        for u in range(kh):
                            for v in range(kw):
                                xv = _at(x, n, g * Cg + c, i * sh + u * dh - t, j * sw + v * dw - left, 0.0)
                                total += weight[o, c, u, v] * xv
                    y[n, o, i, j] = total
    return y


def conv2d_backward(dy, x, weight, stride, pads, dilation, groups):
    """(dx, dW, db) by the chain rule applied to each term of the forward sum."""
    N, C, H, W = x.shape
    O, Cg, kh, kw = weight.shape
    Og = O // groups
    (sh, sw), (dh, dw), (t, _, left, _) = stride, dilation, pads
    dx, dW = np.zeros_like(x), np.zeros_like(weight)
    db = dy.sum(axis=(0, 2, 3))
    for n in range(N):
        for o in range(O):
            g = o // Og
            for i in range(dy.shape[2]):
                for j in range(dy.shape[3]):
                    for c in range(Cg):
                        for u in range(kh):
                            for v in range(kw):
                                rr, ss = i * sh + u * dh - t, j * sw + v * dw - left
                                if 0 <= rr < H and 0 <= ss < W:
                                    dW[o, c, u, v] += dy[n, o, i, j] * x[n, g * Cg + c, rr, ss]
                                    dx[n, g * Cg + c, rr, ss] += dy[n, o, i, j] * weight[o, c, u, v]
    return dx, dW, db


def pool_output_size(size, kernel, stride, pad, dilation, ceil_mode):
    """PyTorch's pooling output size for one axis (symmetric padding ``pad``), written out independently."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad:  # the last window must start inside the image or the left padding
        out -= 1
    return out


def _pool_windows(x, kernel, stride, pads, dilation, fill, ceil_mode=False):
    """Yield (n, c, i, j, oh, ow, [(value, (r, s)) for each window position]) in the window's row-major order.

    With ``ceil_mode`` the output size is PyTorch's (``pool_output_size``, symmetric padding pads[0],
    pads[2]) and cells past the padded input read ``fill``.
    """
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (dh, dw), (t, b, left, r) = kernel, stride, dilation, pads
    if ceil_mode:
        oh = pool_output_size(H, kh, sh, t, dh, True)
        ow = pool_output_size(W, kw, sw, left, dw, True)
    else:
        oh = (H + t + b - dh * (kh - 1) - 1) // sh + 1
        ow = (W + left + r - dw * (kw - 1) - 1) // sw + 1
    for n in range(N):
        for c in range(C):
            for i in range(oh):
                for j in range(ow):
                    cells = []
                    for u in range(kh):
                        for v in range(kw):
                            rr, ss = i * sh + u * dh - t, j * sw + v * dw - left
                            cells.append((_at(x, n, c, rr, ss, fill), (rr, ss)))
                    yield n, c, i, j, oh, ow, cells


def max_pool2d(x, dy, kernel, stride, pads, dilation=(1, 1), ceil_mode=False):
    """(y, dx) of max pooling; dx sends each ∂ℓ/∂y to the first maximum of its window."""
    y, dx = None, np.zeros_like(x)
    for n, c, i, j, oh, ow, cells in _pool_windows(x, kernel, stride, pads, dilation, -np.inf, ceil_mode):
        if y is None:
            y = np.zeros((x.shape[0], x.shape[1], oh, ow), dtype=x.dtype)
        best = max(range(len(cells)), key=lambda k: (cells[k][0], -k))
        value, (rr, ss) = cells[best]
        y[n, c, i, j] = value
        if dy is not None:
            dx[n, c, rr, ss] += dy[n, c, i, j]
    return y, dx


def avg_pool2d(x, dy, kernel, stride, pads, ceil_mode=False, count_include_pad=True):
    """(y, dx) of average pooling, pads symmetric (top = bottom, left = right).

    The divisor counts the window's cells inside the padded input (count_include_pad=True; a ceil_mode
    overhang past it does not count) or only those inside the image (False), as PyTorch does.
    """
    y, dx = None, np.zeros_like(x)
    H, W = x.shape[2:]
    t, left = pads[0], pads[2]
    for n, c, i, j, oh, ow, cells in _pool_windows(x, kernel, stride, pads, (1, 1), 0.0, ceil_mode):
        if y is None:
            y = np.zeros((x.shape[0], x.shape[1], oh, ow), dtype=x.dtype)
        inside = [(rr, ss) for _, (rr, ss) in cells if 0 <= rr < H and 0 <= ss < W]
        if count_include_pad:
            area = sum(1 for _, (rr, ss) in cells if rr < H + t and ss < W + left)
        else:
            area = len(inside)
        y[n, c, i, j] = sum(v for v, _ in cells) / area
        if dy is not None:
            for rr, ss in inside:
                dx[n, c, rr, ss] += dy[n, c, i, j] / area
    return y, dx


def _transpose_terms(x_shape, w_shape, stride, padding, dilation, groups, out_hw):
    """Every term of a transposed convolution: (n, c, i, j, oc, o, u, v, r, s) meaning
    y[n, oc, r, s] += x[n, c, i, j] · W[c, o, u, v], for the terms that land inside the (oh, ow) output."""
    N, C, H, W = x_shape
    _, Og, kh, kw = w_shape
    Cg = C // groups
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    oh, ow = out_hw
    for n in range(N):
        for c in range(C):
            g = c // Cg
            for i in range(H):
                for j in range(W):
                    for o in range(Og):
                        for u in range(kh):
                            for v in range(kw):
                                r, s = i * sh + u * dh - ph, j * sw + v * dw - pw
                                if 0 <= r < oh and 0 <= s < ow:
                                    yield n, c, i, j, g * Og + o, o, u, v, r, s


def conv_transpose2d(x, weight, bias, stride, padding, output_padding, dilation, groups):
    """x (N, C, H, W), weight (C, O/G, KH, KW): every input cell times the kernel, added into its window.

    y[n, g·Og + o, i·S + u·D − P, j·S + v·D − P] += x[n, c, i, j] · W[c, o, u, v]  (c in group g)
    """
    N, _, H, W = x.shape
    _, Og, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    oh = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    y = np.zeros((N, Og * groups, oh, ow), dtype=x.dtype)
    for n, c, i, j, oc, o, u, v, r, s in _transpose_terms(
        x.shape, weight.shape, stride, padding, dilation, groups, (oh, ow)
    ):
        y[n, oc, r, s] += x[n, c, i, j] * weight[c, o, u, v]
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def conv_transpose2d_backward(dy, x, weight, stride, padding, dilation, groups):
    """(dx, dW, db): the chain rule applied to each term the forward added."""
    dx, dW = np.zeros_like(x), np.zeros_like(weight)
    terms = _transpose_terms(x.shape, weight.shape, stride, padding, dilation, groups, dy.shape[2:])
    for n, c, i, j, oc, o, u, v, r, s in terms:
        dx[n, c, i, j] += dy[n, oc, r, s] * weight[c, o, u, v]
        dW[c, o, u, v] += dy[n, oc, r, s] * x[n, c, i, j]
    return dx, dW, dy.sum(axis=(0, 2, 3))


def adaptive_avg_pool2d(x, output_size):
    """x (N, C, H, W) -> (N, C, OH, OW): cell (i, j) averages rows ⌊iH/OH⌋ … ⌈(i+1)H/OH⌉ − 1 (PyTorch's rule)."""
    N, C, H, W = x.shape
    oh, ow = output_size
    y = np.zeros((N, C, oh, ow), dtype=x.dtype)
    for i in range(oh):
        r0, r1 = (i * H) // oh, -((-(i + 1) * H) // oh)
        for j in range(ow):
            c0, c1 = (j * W) // ow, -((-(j + 1) * W) // ow)
            for n in range(N):
                for c in range(C):
                    total = 0.0
                    for r in range(r0, r1):
                        for s in range(c0, c1):
                            total += x[n, c, r, s]
                    y[n, c, i, j] = total / ((r1 - r0) * (c1 - c0))
    return y
