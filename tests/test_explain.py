"""chainrule.explain: the recitation's numbers, values straight from the engine, PyTorch agreement."""

import json

import numpy as np
import pytest
from oracle import torch_intermediates

import chainrule as cr
from chainrule.explain.numbers import NumberFormat

ALPHA = [[0, 1, 2], [2, 1, 0], [0, 2, 0]]
BETA = [[0, 1, 2, 2]]


def recitation_net():
    return cr.Sequential(cr.Linear.from_folded(ALPHA), cr.Tanh(), cr.Linear.from_folded(BETA))


def test_section_3_1_scalar_form_shows_the_recitation_numbers():
    text = cr.explain(recitation_net(), [1, 2], 3).to_text()
    for line in [
        "a₁ = Σᵢ α₁,ᵢ xᵢ = 0 · 1 + 1 · 1 + 2 · 2 = 5",
        "a₂ = Σᵢ α₂,ᵢ xᵢ = 2 · 1 + 1 · 1 + 0 · 2 = 3",
        "z₁ = tanh(a₁) = tanh(5) = 0.9999092",
        "z₂ = tanh(a₂) = tanh(3) = 0.99505475",
        "ŷ = Σⱼ βⱼ zⱼ = 0 · 1 + 1 · 0.9999092 + 2 · 0.99505475 + 2 · 0.96402758 = 4.9180739",
        "ℓ = ½ (ŷ − y)² = ½ · (4.9180739 − 3)² = 1.8395037",
        "∂ℓ/∂β₁ = ∂ℓ/∂ŷ ∂ŷ/∂β₁ = ∂ℓ/∂ŷ · z₁ = 1.9180739 · 0.9999092 = 1.9178997",
        "∂ℓ/∂z₂  = ∂ℓ/∂ŷ ∂ŷ/∂z₂ = ∂ℓ/∂ŷ · β₂ = 1.9180739 · 2 ≈ 3.8361477",  # 1.9180739 · 2 = 3.8361478
        "∂ℓ/∂α₁,₁ = ∂ℓ/∂ŷ ∂ŷ/∂z₁ ∂z₁/∂a₁ ∂a₁/∂α₁,₁ = ∂ℓ/∂a₁ · x₁ = 0.00034829005 · 1 = 0.00034829005",
    ]:
        assert line in text, line
    assert "a₃ = Σᵢ α₃,ᵢ xᵢ = 0 · 1 + 2 · 1 + 0 · 2 = 2" in text


def test_wrt_expands_the_chain_as_in_equations_3_to_6():
    text = cr.explain(recitation_net(), [1, 2], 3, wrt="alpha[1,1]").to_text()
    assert "∂ℓ/∂α₁,₁ = ∂ℓ/∂ŷ ∂ŷ/∂α₁,₁\n" in text
    assert "= ∂ℓ/∂ŷ ∂ŷ/∂z₁ ∂z₁/∂a₁ ∂a₁/∂α₁,₁\n" in text
    assert "∂z₁/∂a₁  = 1 − tanh²(a₁) = 1 − tanh²(5) = 0.00018158323" in text
    assert "α₂" not in text.split("The chain")[1]  # only the one chain
    # the closed form, with the numbers substituted, as the recitation's 3.1 writes it
    five = cr.explain(recitation_net(), [1, 2], 3, wrt="alpha[1,1]", decimals=5).to_text()
    assert "= (ŷ − y) β₁ (1 − tanh²(a₁)) x₁ = (4.91807 − 3) · 1 · (1 − tanh²(5)) · 1 = 0.00034829\n" in five
    beta = cr.explain(recitation_net(), [1, 2], 3, wrt="beta[1]").to_text()
    assert "∂ℓ/∂β₁ = ∂ℓ/∂ŷ ∂ŷ/∂β₁" in beta and "= 1.9178997" in beta
    assert "= (ŷ − y) z₁ = (4.9180739 − 3) · 0.9999092 = 1.9178997" in beta
    with pytest.raises(cr.ChainruleError, match="--wrt 'alpha.1,1.' with --form vector"):
        cr.explain(recitation_net(), [1, 2], 3, wrt="alpha[1,1]", form="vector")


def test_vector_form_sections_3_2_and_3_3():
    t32 = cr.explain(recitation_net(), [0, 1], 3, form="vector").to_text()
    assert "x̂ = [1 0 1]" in t32 and "= [2 2 0]" in t32 and "z = tanh(a) = [0.96402758 0.96402758 0]" in t32
    # exact arithmetic: ŷ = 2.8920827 (the text's 2.89209 is 3 × 0.96403, rounded first)
    assert (
        "= 2.8920827" in t32
        and "∂ℓ/∂β = ∂ℓ/∂ŷ z\u0302 = −0.10791726 [1 0.96402758 0.96402758 0] = [−0.10791726 −0.10403521" in t32
    )
    assert "∂z/∂a = diag(1 − tanh²(a)) = diag(1 − tanh²([2 2 0])) = " in t32  # section 3.2's diag step
    assert "[−0.0076244434 −0.015248887 −0.21583452]" in t32 and "(β̂: β without its bias column)" in t32
    t33 = cr.explain(recitation_net(), [2, 3], 3, form="vector").to_text()
    assert "= [8 4 4]" in t33 and "= 4.997317" in t33 and "[0.99999977 0.9993293 0.9993293]" in t33
    assert "[8.9907346e−7 0.0053566071 0.0053566071]" in t33  # ∂ℓ/∂a
    col = cr.explain(recitation_net(), [2, 3], 3, form="vector", layout="column").to_text()
    assert "a = α x̂ = " in col and "∂ℓ/∂α = ∂ℓ/∂a x̂ᵀ = " in col and "∂ℓ/∂β = ∂ℓ/∂ŷ z\u0302ᵀ = " in col
    assert "∂ℓ/∂z = ∂ℓ/∂ŷ β̂ᵀ = " in col  # section 3.3's column vectors


def test_round_each_step_reproduces_the_texts_hand_rounded_loss():
    exact = cr.explain(recitation_net(), [0, 1], 3, decimals=9)
    by_hand = cr.explain(recitation_net(), [0, 1], 3, decimals=5, round_each_step=True)
    assert exact.trace.loss == pytest.approx(0.0058230675, abs=1e-10)
    assert by_hand.trace.yhat[0] == 2.89209
    assert by_hand.trace.loss == 0.0058223  # ½(−0.10791)² = 0.005822284, the text's figure, to 5 digits
    d4 = cr.explain(recitation_net(), [0, 1], 3, decimals=4, round_each_step=True)
    assert d4.trace.loss == 0.005832  # ½ (3 · 0.964 − 3)²: the rounding of the steps shows (exact 0.0058231)
    assert "ℓ = ½ (ŷ − y)² = ½ · (2.89209 − 3)² = 0.0058223" in by_hand.to_text()


def test_json_is_the_engines_values_to_the_bit():
    e = cr.explain(recitation_net(), [1, 2], 3, loss=cr.SquaredError())
    net, sq = recitation_net(), cr.SquaredError()  # the same pass, run by hand (explain works on a copy)
    sq.forward(net.forward(np.array([1.0, 2.0])), 3)
    net.backward(sq.backward())
    data = json.loads(e.to_json())
    assert data["yhat"] == net.outputs[-1].tolist() and data["loss"] == e.trace.loss
    assert data["grad_yhat"] == net.output_grads[-1].tolist()
    for layer, lin, act, k in zip(data["layers"], (net[0], net[2]), (1, 2), (0, 2), strict=True):
        assert layer["a"] == net.outputs[k].tolist() and layer["z"] == net.outputs[act].tolist()
        assert layer["grad_a"] == net.output_grads[k].tolist()
        assert layer["grad_z"] == net.output_grads[act].tolist()
        assert layer["grad_weights"] == lin.grad_folded.tolist() and layer["weights"] == lin.folded.tolist()
    assert [layer["name"] for layer in data["layers"]] == ["alpha", "beta"]
    assert data["layers"][0]["grad_weights"][0][1] == pytest.approx(0.00034829005, abs=1e-12)


def test_explanation_renders_itself_in_jupyter_and_every_format():
    e = cr.explain(recitation_net(), [1, 2], 3)
    md = e._repr_markdown_()
    assert md == e.to_markdown() and md.count("$$") % 2 == 0
    assert md.count(r"\begin{aligned}") == md.count(r"\end{aligned}") > 0
    tex = e.to_latex(standalone=True)
    assert tex.startswith(r"\documentclass") and tex.count(r"\begin{align*}") == tex.count(r"\end{align*}")
    assert r"\frac{\partial \ell}{\partial \alpha_{1,1}}" in e.to_latex()
    assert str(e) == e.to_text()


def test_errors_are_chainrule_errors():
    net = recitation_net()
    with pytest.raises(cr.ChainruleError, match=r"no such weight; expected alpha\[j,i\] with j in 1…3"):
        cr.explain(net, [1, 2], 3, wrt="alpha[4,1]")
    with pytest.raises(cr.ChainruleError, match="expected a weight such as"):
        cr.explain(net, [1, 2], 3, wrt="gamma[1]")
    with pytest.raises(cr.ChainruleError, match="one example"):
        cr.explain(net, [[1, 2], [3, 4]], [3, 3])
    with pytest.raises(cr.ChainruleError, match="form 'matrix'"):
        cr.explain(net, [1, 2], 3, form="matrix")
    with pytest.raises(cr.ChainruleError, match="two activations in a row"):
        cr.explain(cr.Sequential(cr.Linear(2, 2), cr.Tanh(), cr.ReLU()), [1, 2], [0, 0])
    with pytest.raises(cr.ChainruleError, match=r"summing to 1.*got \[0.5, 0.7\]"):  # ∂ℓ/∂b = ŷ − y needs Σy = 1
        cr.explain(cr.Sequential(cr.Linear(2, 2), cr.Softmax()), [1, 2], [0.5, 0.7])
    with pytest.raises(cr.ChainruleError, match=r"output of layer 0 \(Linear\) overflows float64"):
        cr.explain(
            cr.Sequential(cr.Linear.from_folded([[0, 1e300]]), cr.Tanh(), cr.Linear.from_folded([[0, 1]])), [1e300], 1
        )


def test_explaining_leaves_ordinary_runs_unrounded():
    net = recitation_net()
    cr.explain(net, [0, 1], 3, round_each_step=True)
    sq = cr.SquaredError()
    assert sq(net([0.0, 1.0]), 3) == pytest.approx(0.0058230675, abs=1e-10)


def test_check_shows_finite_differences():
    e = cr.explain(recitation_net(), [1, 2], 3, check=True)
    assert "(finite differences: 0.00034829" in e.to_text() and ", relative error " in e.to_text()
    layer = json.loads(e.to_json())["layers"][0]
    np.testing.assert_allclose(layer["numeric_grad_weights"], layer["grad_weights"], atol=1e-8)


# --- random networks against PyTorch --------------------------------------------------------------
ACTS = ["tanh", "sigmoid", "relu", "identity", "softmax", None]


def random_case(seed: int):
    rng = np.random.default_rng(seed)
    depth = 1 + seed % 4
    loss_name = ["squared", "mse", "cross-entropy"][seed % 3]
    widths = [int(w) for w in rng.integers(1, 5, size=depth + 1)]
    if loss_name == "cross-entropy":
        widths[-1] = max(widths[-1], 2)
    layers = []
    for k in range(depth):
        layers.append(cr.Linear(widths[k], widths[k + 1], rng=rng))
        act = (
            ACTS[int(rng.integers(len(ACTS)))]
            if k < depth - 1
            else (None if loss_name == "cross-entropy" else ACTS[int(rng.integers(len(ACTS)))])
        )
        if act:
            layers.append(cr.nn.activation(act))
    x = rng.normal(size=widths[0])
    if loss_name == "cross-entropy":
        y = int(rng.integers(widths[-1])) if seed % 2 else rng.dirichlet(np.ones(widths[-1]))
        loss = cr.CrossEntropyLoss()
    else:
        y = rng.normal(size=widths[-1])
        loss = cr.SquaredError() if loss_name == "squared" else cr.MSELoss()
    return cr.Sequential(*layers), x, y, loss


@pytest.mark.parametrize("seed", range(24))
def test_random_networks_json_equals_pytorch(seed):
    net, x, y, loss = random_case(seed)
    ref = torch_intermediates(net, x, y, loss)
    data = json.loads(cr.explain(net, x, y, loss, form="vector").to_json())
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(data["loss"], ref["loss"], **close)
    k = 0
    for layer in data["layers"]:
        li = k
        np.testing.assert_allclose(layer["a"], ref["outputs"][li], **close)
        np.testing.assert_allclose(layer["grad_a"], ref["output_grads"][li], **close)
        grads = ref["grads"]
        folded = np.concatenate([grads[f"{li}.bias"][:, None], grads[f"{li}.weight"]], axis=1)
        np.testing.assert_allclose(layer["grad_weights"], folded, **close)
        has_act = li + 1 < len(net.layers) and not isinstance(net.layers[li + 1], cr.Linear)
        if has_act:
            np.testing.assert_allclose(layer["z"], ref["outputs"][li + 1], **close)
            np.testing.assert_allclose(layer["grad_z"], ref["output_grads"][li + 1], **close)
        k = li + (2 if has_act else 1)
    if isinstance(loss, cr.CrossEntropyLoss):  # ŷ = softmax(b), from the fused loss
        b = ref["outputs"][-1]
        np.testing.assert_allclose(data["yhat"], np.exp(b - b.max()) / np.exp(b - b.max()).sum(), **close)
    else:
        np.testing.assert_allclose(data["yhat"], ref["outputs"][-1], **close)


def test_number_format():
    f = NumberFormat(5)
    assert [f.text(v) for v in (5.0, 0.9999092043, 1.8395036888, 0.00034829005, 8.9907346e-7, 0.5, -2.0, 0.0)] == [
        "5",
        "0.99991",
        "1.83950",
        "0.000348",
        "8.9907e-07",
        "0.5",
        "-2",
        "0",
    ]
    assert f.latex(8.9907346e-7) == r"8.9907 \times 10^{-7}"
    assert f.round(0.00034829005) == 0.000348
    for v in np.geomspace(1e-30, 1e3, 200):
        assert f.round(v) != 0 and f.round(-v) != 0  # no nonzero value prints as 0
    assert NumberFormat(2).text(0.5) == "0.5" and NumberFormat(2).text(1 / 3) == "0.33"
    # large values in scientific notation, not hundreds of digits; exact short mantissas without zeros
    assert [f.text(v) for v in (2e300, 3.14159265e20, -1e15, 1e-9, 123456789012345.5)] == [
        "2e+300",
        "3.1416e+20",
        "-1e+15",
        "1e-09",
        "123456789012345.5",
    ]
    assert f.latex(2e300) == r"2 \times 10^{300}" and f.round(3.14159265e20) == 3.1416e20
    with pytest.raises(cr.ChainruleError, match="decimals"):
        NumberFormat(-1)


def test_a_layer_without_bias_prints_no_false_bias_gradient():
    # Linear(bias=False): column 0 is a fixed 0; no line may claim "∂ℓ/∂a₁ · x₀ = 0.000182 · 1 = 0"
    hidden = cr.Linear(2, 2, bias=False)
    hidden.folded = np.array([[0, 1, 2], [0, -1, 0.5]])
    net = cr.Sequential(hidden, cr.Tanh(), cr.Linear.from_folded([[0.5, 1, 1]]))
    text = cr.explain(net, [1, 2], 0.5).to_text()
    assert "∂ℓ/∂α₁,₀" not in text and "∂ℓ/∂α₁,₁" in text and "∂ℓ/∂β₀" in text
    assert "This layer has no bias (bias=False): column 0 of α stays 0 and has no gradient." in text
    vector = cr.explain(net, [1, 2], 0.5, form="vector").to_text()
    assert (
        "= ⎡0.00018156674 0.00018156674 0.00036313349⎤" in vector and "column 0 of this product is not used" in vector
    )
    with pytest.raises(cr.ChainruleError, match="no bias"):
        cr.explain(net, [1, 2], 0.5, wrt="alpha[1,0]")
    assert cr.explain(net, [1, 2], 0.5).to_dict()["layers"][0]["grad_weights"][0][0] == 0.0  # the engine's


def test_bad_x_y_and_nested_networks():
    net = cr.Sequential(cr.Linear.from_folded([[0, 1]]))
    for x, y, msg in [
        ("abc", 1, "x must be a number or a list of numbers, got 'abc'"),
        ([1], "q", "y must be a number"),
        ([1], None, "needs a target y"),
        (None, 1, "needs an input x"),
        ([[1], [2, 3]], 1, "x must be"),
    ]:
        with pytest.raises(cr.ChainruleError, match=msg):
            cr.explain(net, x, y)
    # a nested Sequential (as from_torch makes of nested torch Sequentials) is explained flat
    inner = cr.Sequential(recitation_net()[0], recitation_net()[1])
    e = cr.explain(cr.Sequential(inner, recitation_net()[2]), [1, 2], 3)
    assert e.trace.loss == pytest.approx(1.8395036888173095, abs=1e-12)


def test_check_works_on_a_float32_network():
    # a PyTorch model is float32 by default; --check used to stop with "gradcheck needs a float64 model"
    f32 = np.float32
    net = cr.Sequential(cr.Linear(2, 3, dtype=f32, rng=0), cr.Sigmoid(), cr.Linear(3, 2, dtype=f32, rng=1))
    e = cr.explain(net, [1, 2], [0.5, 0.25], check=True)
    for st in e.trace.stages:
        np.testing.assert_allclose(st.numeric, st.grad_weights, rtol=1e-4, atol=1e-6)
    assert net[0].weight.dtype == np.float32 and "finite differences" in e.to_text()


def test_every_equation_line_carries_its_quantity_name():
    doc = cr.explain(recitation_net(), [1, 2], 3).document
    q = doc.qids()
    for name in (
        "a[1]",
        "z[3]",
        "yhat",
        "loss",
        "dl/dyhat",
        "dl/dbeta[0]",
        "dl/dz[2]",
        "dz[1]/da[1]",
        "dl/da[1]",
        "dl/dalpha[1,1]",
        "dl/dalpha[3,2]",
    ):
        assert q.count(name) == 1, name
    [(block, row)] = doc.lines_for("dl/dalpha[1,1]")
    assert block.rows[row][-1].value == pytest.approx(0.00034829005, abs=1e-12)
    vec = cr.explain(recitation_net(), [0, 1], 3, form="vector").document.qids()
    assert {"xhat", "a", "z", "zhat", "dl/dbeta", "dl/dz", "dz/da", "dl/da", "dl/dalpha"} <= set(vec)
    deep = cr.Sequential(cr.Linear(2, 2, rng=0), cr.Tanh(), cr.Linear(2, 2, rng=1), cr.Tanh(), cr.Linear(2, 1, rng=2))
    assert {"a2[1]", "dl/dalpha1[2,0]", "dz2[1]/da2[1]"} <= set(cr.explain(deep, [1, 2], 0.5).document.qids())
    wrt = cr.explain(recitation_net(), [1, 2], 3, wrt="alpha[1,1]").document
    assert len(wrt.lines_for("dl/dalpha[1,1]")) == 5  # the chain's three lines, its closed form, the evaluated one


def test_explain_works_on_a_copy_of_the_callers_network():
    net = recitation_net()
    before = {k: v.copy() for k, v in net.state_dict().items()}
    cr.explain(net, [1, 2], 3, round_each_step=True, check=True)
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())
    assert all(not p.grad.any() for p in net.parameters()) and not hasattr(net, "outputs")


def test_latex_writes_the_arrow_as_maths():
    tex = cr.explain(recitation_net(), [1, 2], 3).to_latex()
    assert "->" not in tex and r"2 $\to$ 3 (tanh)" in tex


def test_the_output_layer_is_named_alike_from_a_spec_python_and_pytorch():
    from pathlib import Path

    from chainrule.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parent.parent / "examples" / "recitation-3.1.toml")
    net, loss = spec.build(rng=0)
    from_spec = cr.explain(net, spec.x, spec.y, loss).to_text()
    from_python = cr.explain(recitation_net(), [1, 2], 3).to_text()  # ends in a Linear, no Identity layer
    assert from_spec == from_python and "Output layer (identity):" in from_python
    assert "-> 1 (identity); loss" in from_python and "none" not in from_python
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 2], [1, 0], [2, 0]]))
        model[0].bias.copy_(torch.tensor([0.0, 2, 0]))
        model[2].weight.copy_(torch.tensor([[1.0, 2, 2]]))
        model[2].bias.zero_()
    assert cr.explain(model, [1, 2], 3).to_text() == from_python


def test_mse_is_written_with_its_k():
    net = cr.Sequential(cr.Linear.from_folded([[0.1, 0.2, 0.3], [0.3, -0.1, 0.2]]), cr.Sigmoid())
    text = cr.explain(net, [1, 2], [0.2, 0.3], cr.MSELoss()).to_text()
    assert "ℓ = 1/K Σₖ (ŷₖ − yₖ)² = 1/2 · ((0.7109495 − 0.2)² + (0.64565631 − 0.3)²) = 0.19027384" in text
    assert "(K = 2 outputs)" in text and "∂ℓ/∂ŷ₁  = 2/K (ŷ₁ − y₁) = 2/2 · (0.7109495 − 0.2) = 0.5109495" in text
    assert "∂ŷ₁/∂b₁ = σ(b₁) (1 − σ(b₁)) = σ(0.9) · (1 − σ(0.9)) = 0.20550031" in text


def test_digits_and_decimals():
    e = cr.explain(recitation_net(), [2, 3], 3, digits=7)
    assert "z₁ = tanh(a₁) = tanh(8) = 0.9999998" in e.to_text()  # not 1.00000
    assert "−0.10791726" in cr.explain(recitation_net(), [0, 1], 3).to_text()  # one minus sign: U+2212
    with pytest.raises(cr.ChainruleError, match="decimals or digits, not both"):
        cr.explain(recitation_net(), [1, 2], 3, digits=3, decimals=3)
    with pytest.raises(cr.ChainruleError, match="digits must be between 1 and 17"):
        cr.explain(recitation_net(), [1, 2], 3, digits=0)
