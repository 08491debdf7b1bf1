"""Grading a convolution (the worksheet's Y cells and output size) and an output size alone.

Exact values come from the convolution worksheet (``explain.convolution.conv_worksheet``: the engine's
Conv2d) and the engine's size calculation (``core.windows.size_steps``). Mistakes:
- kernel-flip: the worksheet with the kernel flipped (a true convolution), or not flipped when asked;
- padding: the worksheet with another padding (0, P − 1, P + 1); for a size, P added once or not at all;
- stride: the worksheet with another stride (1, 2, 3), a cell compared at the same (i, j); for a size,
  no division by S;
- output-size: the floor forgotten ((H + 2P − K)/S + 1 unrounded), or the + 1 forgotten.
Follow-through: with a wrong output size, a cell that the mistaken variant of that size gives is
consistent with the learner's size (the same slip carried into the cells).
"""

from chainrule.check.problem import Problem, values_of
from chainrule.core import windows as win
from chainrule.errors import ChainruleError
from chainrule.explain.convolution import conv_worksheet
from chainrule.explain.output_size import AXES, output_size_document

SIZE_QIDS = tuple(f"output {name}" for name, _ in AXES)


def size_mistakes(steps, qid: str) -> list[tuple[str, float]]:
    """(diagnosis, value) for an output-size qid: formulas of the usual slips, from the engine's steps."""
    if qid not in SIZE_QIDS:
        return []
    a = steps[SIZE_QIDS.index(qid)]
    P, S = a.pad_before, a.stride
    return [
        ("output-size", a.minus_kernel / S + 1),  # the floor forgotten
        ("output-size", float(a.divided)),  # the + 1 forgotten
        ("output-size", float(-(-a.minus_kernel // S) + 1)),  # rounded up, not down
        ("padding", float((a.size + P - a.extent) // S + 1)),  # P added once, not 2P
        ("padding", float((a.size - a.extent) // S + 1)),  # no padding
        ("stride", float(a.minus_kernel + 1)),  # no division by S
    ]


class ShapeProblem(Problem):
    kind = "shape"

    def __init__(self, size, kernel, stride=1, padding=0):
        self.args = (tuple(size), kernel, stride, padding)
        self.document = output_size_document(*self.args)
        self.expected = values_of(self.document)
        self.steps = win.size_steps(
            tuple(size), win.pair(kernel, "kernel"), win.pair(stride, "stride"), win.padding_arg(padding), (1, 1)
        )

    def mistakes(self, qid, given=None):
        return size_mistakes(self.steps, qid)


class ConvProblem(Problem):
    kind = "conv"

    def __init__(self, x, kernel, stride=1, padding=0, bias=None, flip: bool = False):
        self.kw = dict(stride=stride, padding=padding, bias=bias)
        self.x, self.kernel, self.flip = x, kernel, flip
        self.ws = conv_worksheet(x, kernel, flip=flip, **self.kw)
        self.document = self.ws.document(max_cells=10**6)
        self.expected = values_of(self.document)
        self._variants: list[tuple[str, dict]] | None = None

    def _values(self, **kw) -> dict[str, float] | None:
        args = {**self.kw, "flip": self.flip, **kw}
        try:
            return values_of(conv_worksheet(self.x, self.kernel, **args).document(max_cells=10**6))
        except ChainruleError:  # the mistaken setting may not fit (kernel larger than the input): no candidate
            return None

    def variants(self) -> list[tuple[str, dict]]:
        if self._variants is None:
            s = self.ws.layer.stride[0]
            p = self.ws.pads[0]
            out: list[tuple[str, dict | None]] = [("kernel-flip", self._values(flip=not self.flip))]
            out += [("padding", self._values(padding=q)) for q in sorted({0, p - 1, p + 1} - {p}) if q >= 0]
            out += [("stride", self._values(stride=t)) for t in sorted({1, 2, 3} - {s})]
            self._variants = [(n, v) for n, v in out if v is not None]
        return self._variants

    def recompute(self, qid, given):
        """A cell from the learner's own output size: the mistaken variant that gives that size (their
        padding or stride slip carried into the cells)."""
        size = tuple(given.get(q) for q in SIZE_QIDS)
        if qid in SIZE_QIDS or None in size or size == tuple(self.expected[q] for q in SIZE_QIDS):
            return None
        for _, v in self.variants():
            if tuple(v.get(q) for q in SIZE_QIDS) == size and qid in v:
                return v[qid]
        return None

    def depends(self, qid, on, value):
        return on in SIZE_QIDS and qid not in SIZE_QIDS

    def mistakes(self, qid, given=None):
        if qid in SIZE_QIDS:
            steps = win.size_steps(
                self.ws.x.shape[1:], self.ws.used.shape[2:], self.ws.layer.stride, self.ws.layer.padding, (1, 1)
            )
            return size_mistakes(steps, qid)
        return [(n, v[qid]) for n, v in self.variants() if qid in v]
