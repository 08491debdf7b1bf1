"""Dropout in a dense network: the identity in evaluation mode (where explain runs), one line saying so,
and every value of the JSON equal to PyTorch's float64 pass of the same network in eval mode."""

import re

import numpy as np
import torch
from oracle import RTOL_NETWORK, assert_close, to_torch, torch_loss
from test_explain_arithmetic import check_lines

import chainrule as cr
from chainrule.nn.dropout import Dropout


def net_and_example():
    net = cr.Sequential(cr.Linear(2, 3, rng=0), cr.Tanh(), Dropout(0.3), cr.Linear(3, 2, rng=1))
    return net, [0.5, -1.5], [0.2, -0.1], cr.MSELoss()


def test_dropout_is_one_line_and_the_values_are_pytorchs_in_eval_mode():
    net, x, y, loss = net_and_example()
    e = cr.explain(net, x, y, loss)
    text = e.to_text()
    assert "Dropout(p=0.3) is the identity in evaluation mode" in text
    assert "Dropout is the identity in evaluation mode: ∂ℓ/∂z passes back unchanged." in text
    tmodel = to_torch(net).eval()
    outs = []

    def keep(_module, _inputs, out) -> None:
        out.retain_grad()
        outs.append(out)

    for layer in tmodel:
        layer.register_forward_hook(keep)
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    lt = torch_loss(loss, tmodel(xt), y)
    lt.backward()
    layers = e.to_dict()["layers"]
    assert [entry["type"] for entry in layers] == ["Linear", "Tanh", "Dropout", "Linear"]
    for entry, out in zip(layers, outs, strict=True):
        assert_close(entry["output"], out.detach().numpy(), RTOL_NETWORK, f"layer {entry['index']} output")
        assert_close(entry["grad_output"], out.grad.numpy(), RTOL_NETWORK, f"layer {entry['index']} grad")
    assert_close(e.to_dict()["loss"], lt.item(), RTOL_NETWORK, "loss")
    assert_close(layers[0]["params"]["weight"]["grad"], tmodel[0].weight.grad.numpy(), RTOL_NETWORK, "dl/dalpha")


def test_dropout_lines_hold_as_printed():
    net, x, y, loss = net_and_example()
    for by_hand in (True, False):
        e = cr.explain(net, x, y, loss, round_each_step=by_hand)
        assert check_lines(e.to_text(), e.fmt, exact=by_hand) > 5
        assert (
            "Dropout is the identity" in cr.explain(net, x, y, loss, round_each_step=by_hand, form="vector").to_text()
        )
        assert len(re.findall(r"^∂ℓ/∂z₁ +=", e.to_text(), re.M)) == 1  # once, in the tanh section
        w = cr.explain(net, x, y, loss, round_each_step=by_hand, wrt="alpha[1,1]")
        assert check_lines(w.to_text(), w.fmt, exact=by_hand) > 3
        assert re.search(r"^∂ℓ/∂z₁ +=", w.to_text(), re.M)  # the step through Dropout is evaluated too


def test_dropout_on_a_map_is_refused_by_name():
    net = cr.Sequential(cr.nn.Conv2d(1, 1, 3, rng=0), Dropout(0.2), cr.nn.Flatten(), cr.Linear(4, 1, rng=0))
    try:
        cr.explain(net, np.zeros((1, 4, 4)), 1.0)
    except cr.ChainruleError as err:
        assert str(err) == "layer 1 is Dropout on a map: explain writes it in the dense part (after Flatten)"
    else:
        raise AssertionError("Dropout on a map was explained")
