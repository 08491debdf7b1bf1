"""Drawing an exercise's numbers: small integers or one-decimal values from an explicit Generator,
redrawn until the answers are well-conditioned.

Dense (``draw_dense``): inputs and weights from ±1, ±2 (one-decimal: ±0.1 … ±1.0, inputs ±0.2 … ±2.0),
never 0; the target an integer −2 … 3 (squared error) or a class label (cross-entropy). Accepted when
- no tanh/sigmoid unit is saturated (|a| ≤ 2.5: tanh(2.5) = 0.98661, never 1.00000), no relu unit
  dead (a ≤ 0: its gradients would all be 0);
- every answer (each a, z, ŷ, ℓ and weight gradient but the bias column's, which the algebra makes
  equal to ∂ℓ/∂aⱼ) is at least 0.001 and at most 1000 in size, and no two are equal at 5 decimals.
Convolution (``draw_conv``): X from {−3 … 3}, F from {−1, 0, 1} (recitation 4.2's ranges), F not equal to
its 180° rotation (so a flipped kernel is a different answer), Y not constant. Output size
(``draw_shape``): H, W from 5 … 16, K 3 or 5, P 0 … 2, S 2 or 3, the floor dropping a remainder on at
least one axis. Values given on the command line are kept; only the rest is drawn.
"""

from collections.abc import Callable

import numpy as np

from chainrule.errors import ChainruleError

TRIES = 2000
SATURATION = 2.5


def _values(rng: np.random.Generator, shape, decimal: bool, scale: float = 1.0) -> np.ndarray:
    """Nonzero small integers (−2 … 2) or one-decimal values (−1.0 … 1.0, times ``scale``)."""
    if decimal:
        k = rng.integers(1, 11, size=shape) * rng.choice([-1, 1], size=shape)
        return k * scale / 10
    return (rng.integers(1, 3, size=shape) * rng.choice([-1, 1], size=shape)).astype(float)


def answers(problem) -> dict[str, float]:
    """What the recitation asks for: every a, z, ŷ and ℓ, and every weight gradient except the bias
    column (∂ℓ/∂αⱼ,₀ = ∂ℓ/∂aⱼ and ∂ℓ/∂β₀ = ∂ℓ/∂ŷ by the algebra)."""
    skip = ("dl/dz", "dl/da", "dl/db", "dl/dyhat", "dz")
    return {q: v for q, v in problem.expected.items() if not q.startswith(skip) and not q.endswith((",0]", "[0]"))}


def _well_conditioned(problem, activations: list[str]) -> bool:
    for st, act in zip(problem.explanation.trace.stages[:-1], activations[:-1], strict=True):
        if act in ("tanh", "sigmoid") and np.max(np.abs(st.a)) > SATURATION:
            return False
        if act == "relu" and np.min(st.a) <= 0:  # a dead unit: zero gradients, nothing to compute
            return False
    ans = answers(problem)
    for nm, act in zip(problem.names, activations, strict=True):
        if act == "relu":  # z = a for a live relu unit: equal by the algebra
            ans = {q: v for q, v in ans.items() if q not in nm.post}
    vals = np.array(list(ans.values()))
    if np.any(np.abs(vals) < 1e-3) or np.any(np.abs(vals) > 1e3):
        return False
    return len({round(float(v), 5) for v in vals}) == len(vals)


_ACT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "relu": lambda a: np.maximum(a, 0),
}


def _layer(rng, u: np.ndarray, out: int, act: str, decimal: bool) -> tuple[list, np.ndarray]:
    """Folded weights (out, len(u) + 1) whose units are not saturated on input u (a quick pre-filter;
    the engine's values decide in ``_well_conditioned``), and the layer's output."""
    for _ in range(500):
        W = _values(rng, (out, u.size + 1), decimal)
        a = W @ np.concatenate([[1.0], u])
        if act not in _ACT or (np.max(np.abs(a)) <= SATURATION and (act != "relu" or np.min(a) > 0)):
            break
    return W.tolist(), (_ACT[act](a) if act in _ACT else a)


def draw_dense(rng: np.random.Generator, sizes: list[int], activation: str, loss: str, decimal: bool) -> dict:
    """Spec data (x, y, loss, layers) of a well-conditioned dense exercise."""
    from chainrule.check.network import problem_from_data

    if len(sizes) < 2:
        raise ChainruleError(f"--sizes needs an input and an output width, e.g. 2,3,1; got {sizes}")
    if loss == "cross-entropy" and sizes[-1] < 2:
        raise ChainruleError("--loss cross-entropy needs at least 2 outputs (classes), e.g. --sizes 2,3,3")
    acts = [activation] * (len(sizes) - 2) + ["softmax" if loss == "cross-entropy" else "identity"]
    for _ in range(TRIES):
        x = _values(rng, sizes[0], decimal, scale=2.0)
        layers, u = [], x
        for o, a in zip(sizes[1:], acts, strict=True):
            w, u = _layer(rng, u, o, a, decimal)
            layers.append({"weights": w, "activation": a})
        y = int(rng.integers(0, sizes[-1])) if loss == "cross-entropy" else _target(rng, sizes[-1])
        data = {"x": x.tolist(), "y": y, "loss": loss, "layers": layers}
        if _well_conditioned(problem_from_data(dict(data), "<exercise>"), acts):
            return data
    raise ChainruleError(f"no well-conditioned exercise found for --sizes {','.join(map(str, sizes))} in {TRIES} draws")


def _target(rng: np.random.Generator, k: int):
    y = rng.integers(-2, 4, size=k).astype(float)
    return float(y[0]) if k == 1 else y.tolist()


def draw_conv(rng: np.random.Generator, size, kernel: int, stride: int, padding: int, decimal: bool) -> dict:
    from chainrule.explain.convolution import conv_worksheet

    for _ in range(TRIES):
        X = rng.integers(-3, 4, size=tuple(size)).astype(float)
        F = rng.integers(-1, 2, size=(kernel, kernel)).astype(float)
        if decimal:
            X, F = (10 * X + rng.integers(-4, 5, size=X.shape)) / 10, F / 2  # one decimal, correctly rounded
        if np.array_equal(F, F[::-1, ::-1]):
            continue
        Y = conv_worksheet(X, F, stride=stride, padding=padding).y
        flipped = conv_worksheet(X, F, stride=stride, padding=padding, flip=True).y
        if np.ptp(Y) > 0 and not np.array_equal(Y, flipped):
            return {"conv": {"input": X.tolist(), "kernel": F.tolist(), "stride": stride, "padding": padding}}
    raise ChainruleError(f"no well-conditioned convolution exercise found in {TRIES} draws")


def draw_shape(rng: np.random.Generator, size=None, kernel=None, stride=None, padding=None) -> dict:
    for _ in range(TRIES):
        h, w = size if size is not None else (int(rng.integers(5, 17)), int(rng.integers(5, 17)))
        k = kernel if kernel is not None else int(rng.choice([3, 5]))
        s = stride if stride is not None else int(rng.integers(2, 4))
        p = padding if padding is not None else int(rng.integers(0, 3))
        fits = min(h, w) + 2 * p >= k
        floor = (h + 2 * p - k) % s or (w + 2 * p - k) % s
        given = None not in (size, kernel, stride, padding)
        if fits and (floor or given):
            return {"shape": {"size": [h, w], "kernel": k, "stride": s, "padding": p}}
    raise ChainruleError("no output-size exercise fits these values (the kernel is larger than the padded input)")
