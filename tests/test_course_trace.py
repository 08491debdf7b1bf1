"""chainrule neuralnet --trace / --explain-steps: the worked first K steps; the trace's numbers are the
engine's (each printed gradient gives the next weights bit for bit, the last step's weights are the
trained network's)."""

import json

import numpy as np
import pytest

from chainrule.cli import main
from chainrule.explain.doc import Equations
from chainrule.explain.sgd_steps import sgd_steps_document
from chainrule.train.course import COURSE_EPS, train_course


@pytest.fixture
def data(tmp_path):
    g = np.random.default_rng(3)
    X, y = (g.random((6, 4)) > 0.5).astype(float), g.integers(0, 3, 6)
    (tmp_path / "train.csv").write_text(
        "".join(",".join(map(str, [int(t), *map(int, r)])) + "\n" for t, r in zip(y, X, strict=True))
    )
    return tmp_path, X, y


def files(tmp):
    return [str(tmp / n) for n in ("train.csv", "train.csv", "a", "b", "c")]


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad"])
def test_trace_json_is_the_engine_step_by_step(data, optimizer):
    tmp, X, y = data
    lr, K = 0.5, 8  # 6 examples: the trace runs into the second epoch
    args = [
        *files(tmp),
        "2",
        "3",
        "1",
        str(lr),
        "--optimizer",
        optimizer,
        "--trace",
        str(tmp / "t.json"),
        "--explain-steps",
        str(K),
    ]
    assert main(["neuralnet", *args]) == 0
    steps = json.loads((tmp / "t.json").read_text())["steps"]
    assert len(steps) == K and [s["epoch"] for s in steps] == [1] * 6 + [2] * 2
    G = [np.zeros((3, 5)), np.zeros((3, 4))]
    for k, s in enumerate(steps):
        for L, layer in enumerate(s["layers"]):
            w, g = np.array(layer["weights"]), np.array(layer["grad_weights"])  # as the trace prints them
            new = np.array(s["new_weights"][L])
            if optimizer == "sgd":
                want = w - g * lr
            else:
                G[L] = G[L] + g * g
                np.testing.assert_array_equal(np.array(s["adagrad_G"][L]), G[L])
                want = w - lr * g / np.sqrt(G[L] + COURSE_EPS)
            np.testing.assert_array_equal(new, want)  # bit for bit: the printed gradient is the engine's
            if k + 1 < K:
                np.testing.assert_array_equal(np.array(steps[k + 1]["layers"][L]["weights"]), new)
    res = train_course(X, y, X, y, 1, 3, 1, lr, optimizer=optimizer, trace_steps=6)
    final = [res.net.layers[0].folded, res.net.layers[2].folded]
    for L in range(2):
        np.testing.assert_array_equal(np.array(steps[5]["new_weights"][L]), final[L])


def test_trace_text_is_the_explainers_notation(data, capsys):
    tmp, X, y = data
    assert main(["neuralnet", *files(tmp), "1", "3", "1", "0.1", "--trace", str(tmp / "t.txt")]) == 0
    text = (tmp / "t.txt").read_text()
    assert text.count("Epoch 1, step ") == 3  # K = 3 by default
    for line in ("∂ℓ/∂b = ŷ − y", "∂ℓ/∂α = (∂ℓ/∂a)ᵀ x̂", "α⁺ = α − 0.1 ∂ℓ/∂α", "β⁺ = β − 0.1 ∂ℓ/∂β"):
        assert line in text
    res = train_course(X, y, X, y, 1, 3, 1, 0.1, trace_steps=2)
    doc = sgd_steps_document(res.net, X, y, res.steps, 0.1)
    news = [
        b.rows[i][-1].array
        for b in doc.blocks
        if isinstance(b, Equations)
        for i, q in enumerate(b.qids)
        if q.endswith("+")
    ]
    assert len(news) == 4
    for got, want in zip(news, [w for s in res.steps for w in s.after], strict=True):
        np.testing.assert_array_equal(got, want)
    assert main(["neuralnet", *files(tmp), "1", "3", "1", "0.1", "--explain-steps", "1"]) == 0
    assert capsys.readouterr().out.count("Epoch 1, step 1") == 1
    assert main(["neuralnet", *files(tmp), "1", "3", "1", "0.1", "--explain-steps", "0"]) == 2
    assert "--explain-steps" in capsys.readouterr().err
