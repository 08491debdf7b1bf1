"""Naive loop implementations of convolution and pooling: slow, obviously correct, the fast paths' twins.

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
