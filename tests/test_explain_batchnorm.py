"""BatchNorm1d / BatchNorm2d in explain: evaluation mode (the running statistics), every value of the JSON
and of the printed lines equal to PyTorch's float64 autograd in eval mode, and what cannot be written is
refused in one line."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from oracle import RTOL_NETWORK, assert_close
from test_explain_cnn import torch_pass

import chainrule as cr
from chainrule.nn import AvgPool2d, Conv2d, Flatten, MaxPool2d

ACTS = [cr.Tanh, cr.ReLU, cr.Sigmoid]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "batchnorm.toml"


def bn(cls, n: int, rng: np.random.Generator):
    """A BatchNorm with trained-looking running statistics and γ, β (the defaults make it almost the identity)."""
    b = cls(n)
    b.running_mean[...] = rng.normal(size=n)
    b.running_var[...] = rng.uniform(0.3, 2.0, n)
    b.weight.data[...] = rng.normal(size=n)
    b.bias.data[...] = rng.normal(size=n)
    return b


def random_dense(seed: int):
    """Linear → BN → act, Linear → act → BN, Linear → BN (no act), BN on the input, BN in the output stage."""
    rng = np.random.default_rng(seed)
    n_in, h, k = int(rng.integers(2, 4)), int(rng.integers(2, 5)), int(rng.integers(1, 4))
    act = ACTS[seed % 3]
    where = seed % 5
    layers = [bn(cr.BatchNorm1d, n_in, rng)] if where == 3 else []
    layers.append(cr.Linear(n_in, h, rng=rng))
    layers += {
        0: [bn(cr.BatchNorm1d, h, rng), act()],
        1: [act(), bn(cr.BatchNorm1d, h, rng)],
        2: [bn(cr.BatchNorm1d, h, rng)],
        3: [act()],
        4: [act()],
    }[where]
    layers.append(cr.Linear(h, k, rng=rng))
    if where == 4:
        layers += [bn(cr.BatchNorm1d, k, rng), cr.Sigmoid()]
    x = rng.normal(size=n_in)
    if seed % 2 and where != 4:
        return cr.Sequential(*layers), x, int(rng.integers(0, k)), cr.CrossEntropyLoss()
    return cr.Sequential(*layers), x, rng.normal(size=k), cr.MSELoss() if seed % 4 else cr.SquaredError()


def random_cnn(seed: int):
    """Conv2d → BatchNorm2d → act → pool → Flatten → Linear [→ BatchNorm1d → tanh → Linear]."""
    rng = np.random.default_rng(100 + seed)
    C, H, W = int(rng.integers(1, 3)), int(rng.integers(4, 7)), int(rng.integers(4, 7))
    conv = Conv2d(C, int(rng.integers(1, 3)), int(rng.integers(1, 3)), padding=int(rng.integers(0, 2)), rng=rng)
    pool = (MaxPool2d if seed % 2 else AvgPool2d)(2)
    front = [conv, bn(cr.BatchNorm2d, conv.out_channels, rng), ACTS[seed % 3](), pool, Flatten()]
    n = cr.Sequential(*front).output_shape((C, H, W))[0]
    tail = [cr.Linear(n, 3, rng=rng), bn(cr.BatchNorm1d, 3, rng), cr.Tanh(), cr.Linear(3, 2, rng=rng)]
    net = cr.Sequential(*front, *(tail if seed % 2 else [cr.Linear(n, 2, rng=rng)]))
    return net, rng.normal(size=(C, H, W)), rng.normal(size=2), cr.MSELoss()


def printed_values(e, qid_prefixes: tuple[str, ...]) -> dict[str, float]:
    """The result of each line whose quantity starts with one of ``qid_prefixes`` (the number it prints)."""
    out = {}
    for b in e.document.blocks:
        for i, q in enumerate(getattr(b, "qids", [])):
            if q.startswith(qid_prefixes) and hasattr(b.rows[i][-1], "value"):
                out[q] = b.rows[i][-1].value
    return out


MAX_DIFF = [0.0]  # the largest difference from PyTorch seen, relative to max(1, |value|)


def compare(net, x, y, loss):
    lr = 0.05
    e = cr.explain(net, x, y, loss, lr=lr, cells=100)
    d = json.loads(e.to_json())
    outs, gouts, gx, grads, updated = torch_pass(net, x, y, loss, lr)
    assert [entry["type"] for entry in d["layers"]] == [type(m).__name__ for m in net.layers]
    for i, entry in enumerate(d["layers"]):
        where = f"layer {i} ({entry['type']})"
        pairs = [("output", entry["output"], outs[i]), ("grad_output", entry["grad_output"], gouts[i])]
        if entry["grad_input"] is not None:
            pairs.append(("grad_input", entry["grad_input"], gx if i == 0 else gouts[i - 1]))
        for name, p in entry["params"].items():
            pairs += [(f"{name}.grad", p["grad"], grads[f"{i}.{name}"])]
            pairs += [(f"{name} after SGD", p["updated"], updated[f"{i}.{name}"])]
        for what, ours, theirs in pairs:
            assert_close(ours, theirs, RTOL_NETWORK, f"{where} {what}")
            diff = np.abs(np.asarray(ours) - theirs) / np.maximum(1.0, np.abs(theirs))
            MAX_DIFF[0] = max(MAX_DIFF[0], float(np.max(diff, initial=0.0)))
    return e, d, outs, gouts, grads


@pytest.mark.parametrize("seed", range(10))
def test_random_dense_networks_with_batchnorm_equal_pytorch_eval_mode(seed):
    net, x, y, loss = random_dense(seed)
    e, d, outs, gouts, grads = compare(net, x, y, loss)
    bns = [i for i, m in enumerate(net.layers) if isinstance(m, cr.BatchNorm1d)]
    assert bns and all(d["layers"][i]["running_var"] == net.layers[i].running_var.tolist() for i in bns)
    # the printed lines: ũⱼ (the output), ∂ℓ/∂γⱼ, ∂ℓ/∂δⱼ are PyTorch's numbers
    shown = printed_values(e, ("atilde", "ztilde", "xtilde", "btilde", "dl/dgamma", "dl/ddelta"))
    assert len(shown) >= 3 * min(m.num_features for m in (net.layers[i] for i in bns))
    i = bns[0]
    prefix = "" if len(bns) == 1 else "1"
    for j in range(net.layers[i].num_features):
        g = shown[f"dl/dgamma{prefix}[{j + 1}]"]
        assert_close(g, grads[f"{i}.weight"][j], RTOL_NETWORK, "printed ∂ℓ/∂γ")
        assert_close(shown[f"dl/ddelta{prefix}[{j + 1}]"], grads[f"{i}.bias"][j], RTOL_NETWORK, "printed ∂ℓ/∂δ")
        tilde = next(v for q, v in shown.items() if q.endswith(f"tilde[{j + 1}]"))
        assert_close(tilde, outs[i][j], RTOL_NETWORK, "printed ũ")


@pytest.mark.parametrize("seed", range(4))
def test_random_cnns_with_batchnorm_equal_pytorch_eval_mode(seed):
    net, x, y, loss = random_cnn(seed)
    e, d, outs, *_ = compare(net, x, y, loss)
    shown = printed_values(e, ("Ytilde[",))
    assert len(shown) == outs[1].size  # every cell of the map (--cells 100)
    for q, v in shown.items():
        cell = tuple(int(t) - 1 for t in q[7:-1].split(","))
        assert_close(v, outs[1][cell if len(cell) == 3 else (0, *cell)], RTOL_NETWORK, f"printed {q}")
    text = e.to_text()
    assert "Y\u0303" in text and "∂ℓ/∂γ" in text and re.search("γ(⁽[¹²]⁾)?⁺", text)
    assert ("γ⁽²⁾⁺₃" in text) == bool(seed % 2)  # a BatchNorm1d after Flatten too: numbered across the network


@pytest.mark.parametrize(
    "layers, message",
    [
        (
            lambda: [cr.BatchNorm1d(2, track_running_stats=False), cr.Linear(2, 1)],
            "layer 1 is BatchNorm1d(track_running_stats=False): it normalises by its batch's statistics",
        ),
        (lambda: [cr.BatchNorm1d(2)], "layer 1 is BatchNorm1d, the network's last"),
        (
            lambda: [cr.Tanh(), cr.BatchNorm1d(2), cr.ReLU(), cr.Linear(2, 1)],
            "layers 1 and 3 (a BatchNorm between) are two activations in a row",
        ),
    ],
)
def test_what_explain_cannot_write_is_one_line(layers, message):
    with pytest.raises(cr.ChainruleError) as err:
        cr.explain(cr.Sequential(cr.Linear(2, 2, rng=0), *layers()), [1.0, 2.0], 0.5)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_wrt_through_a_batchnorm_is_refused_in_one_line():
    net, x, y, loss = random_dense(0)
    with pytest.raises(cr.ChainruleError, match=r"^--wrt 'alpha\[1,1\]': layer 1 is BatchNorm1d"):
        cr.explain(net, x, y, loss, wrt="alpha[1,1]")


def test_the_example_spec_gives_the_running_statistics_and_equals_pytorch(capsys):
    from chainrule.cli import main
    from chainrule.spec import load_spec

    spec = load_spec(EXAMPLE)
    net, loss = spec.build()
    assert net.layers[1].running_var.tolist() == [4, 1, 0.25] and net.layers[1].bias.data.tolist() == [0, 0.5, -1]
    compare(net, spec.x, spec.y, loss)
    assert main(["explain", str(EXAMPLE), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][1]["running_mean"] == [4, 2, 1]


@pytest.mark.parametrize(
    "table, message",
    [
        ('type = "batchnorm1d"\nrunning_var = [1, -1]', "key 'running_var': must be a list of numbers (variances ≥ 0)"),
        ('type = "batchnorm1d"\nrunning_mean = [1, 2, 3]', "key 'running_mean': has shape (3,); this batchnorm1d"),
        ('type = "relu"\nrunning_mean = [1, 2]', "key 'running_mean': running statistics are for batchnorm layers"),
    ],
)
def test_spec_running_statistics_are_checked(tmp_path, capsys, table, message):
    from chainrule.cli import main

    spec = tmp_path / "bn.toml"
    spec.write_text(f"x = [1, 2]\ny = 0.5\n[[layers]]\nunits = 2\n[[layers]]\n{table}\n[[layers]]\nunits = 1\n")
    assert main(["explain", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err and str(spec) in err


def test_form_vector_on_a_cnn_says_the_maps_are_written_cell_by_cell():
    net, x, y, loss = random_cnn(1)
    text = cr.explain(net, x, y, loss, form="vector").to_text()
    assert "--form vector: the image layers are written cell by cell (a map has no vector form); the dense" in text
    assert "--form vector" not in cr.explain(net, x, y, loss).to_text()


def test_the_cnn_bn_training_preset_is_explained_and_equals_pytorch():
    from chainrule.train.models import cnn

    rng = np.random.default_rng(5)
    net = cnn((1, 8, 8), 10, np.float64, rng, batchnorm=True)
    for m in net.layers:
        if isinstance(m, cr.BatchNorm2d):  # as training leaves them
            m.load_state_dict(bn(cr.BatchNorm2d, m.num_features, rng).state_dict())
    x = rng.normal(size=(1, 8, 8))
    _, d, *_ = compare(net, x, 3, cr.CrossEntropyLoss())  # (its text, 28,000 lines, is left to the CLI)
    assert [e["type"] for e in d["layers"]].count("BatchNorm2d") == 2


def test_check_refuses_a_network_with_batchnorm_in_one_line(tmp_path, capsys):
    from chainrule.cli import main

    (tmp_path / "bn.toml").write_bytes(EXAMPLE.read_bytes())
    (tmp_path / "answers.txt").write_text('network = "bn.toml"\na1 = 5\n', encoding="utf-8")
    assert main(["check", str(tmp_path / "answers.txt")]) == 2  # its replay has no BatchNorm: never graded wrongly
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "layer 1 is BatchNorm1d: this works on Linear layers and activations only" in err


def test_check_shows_finite_differences_beside_the_gamma_and_delta_gradients():
    net, x, y, loss = random_dense(2)
    lines = [line for line in cr.explain(net, x, y, loss, check=True).to_text().splitlines() if "∂ℓ/∂γ" in line]
    assert lines and all("(finite differences: " in line for line in lines if line.startswith("∂ℓ/∂γ"))


def test_a_pytorch_model_with_trained_running_statistics_is_explained_as_pytorch_evaluates_it():
    import torch

    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    m = m.double().train()
    for _ in range(3):  # running statistics away from 0 and 1
        m(torch.randn(8, 2, dtype=torch.float64))
    m.eval()
    x, y = torch.tensor([[0.5, -1.0]], dtype=torch.float64, requires_grad=True), torch.tensor([[0.3]]).double()
    loss = torch.nn.functional.mse_loss(m(x), y)
    loss.backward()
    d = cr.explain(m, x, y, torch.nn.MSELoss()).to_dict()
    assert_close(d["loss"], loss.item(), RTOL_NETWORK, "loss")
    assert_close(d["layers"][1]["running_var"], m[1].running_var.numpy(), RTOL_NETWORK, "running σ²")
    for name in ("weight", "bias"):
        assert_close(d["layers"][1]["params"][name]["grad"], getattr(m[1], name).grad.numpy(), RTOL_NETWORK, name)
