"""AdamW, RMSprop, the schedulers and clip_grad_norm_ against torch.optim / torch.nn.utils directly
(float64, 1e-10), over several steps; and their bad arguments."""

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import ChainruleError
from chainrule.nn.module import Parameter

SHAPES = [(3, 4), (4,), (2, 2, 3)]


def _pair(seed):
    rng = np.random.default_rng(seed)
    ours = [Parameter(rng.normal(size=s)) for s in SHAPES]
    theirs = [torch.nn.Parameter(torch.tensor(p.data.copy())) for p in ours]
    return rng, ours, theirs


def _run(ours, theirs, opt, topt, rng, steps, after_step=None):
    for k in range(steps):
        for p, t in zip(ours, theirs, strict=True):
            g = rng.normal(size=p.shape) * (1 + k)
            p.grad[...] = g
            t.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
        if after_step is not None:
            after_step(k)
        for p, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-10, atol=1e-13, err_msg=f"step {k + 1}")


OPTIMISERS = [
    ("AdamW", {}, {}),
    ("AdamW", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-6, "weight_decay": 0.3}, None),
    ("AdamW", {"weight_decay": 0.0}, None),
    ("RMSprop", {}, {}),
    ("RMSprop", {"lr": 0.003, "alpha": 0.9, "eps": 1e-5, "weight_decay": 0.1}, None),
    ("RMSprop", {"momentum": 0.8}, None),
    ("RMSprop", {"centered": True}, None),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.05, "lr": 0.02}, None),
]


@pytest.mark.parametrize("name,kw,_", OPTIMISERS)
def test_optimiser_matches_torch_over_several_steps(name, kw, _):
    rng, ours, theirs = _pair(hash(str(kw)) % 1000)
    _run(ours, theirs, getattr(cr, name)(ours, **kw), getattr(torch.optim, name)(theirs, **kw), rng, 8)


def test_optimiser_state_resumes_bitwise():
    """state_dict mid-run, loaded into a fresh optimiser: the rest of the run is bit for bit the same."""
    for cls, kw in ((cr.AdamW, {}), (cr.RMSprop, {"centered": True, "momentum": 0.9})):
        rng = np.random.default_rng(0)
        grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(6)]
        runs = []
        for split in (None, 3):
            ps = [Parameter(np.ones(s)) for s in SHAPES]
            opt = cls(ps, **kw)
            for k, gs in enumerate(grads):
                if k == split:
                    state, data = opt.state_dict(), [p.data.copy() for p in ps]
                    ps = [Parameter(d) for d in data]
                    opt = cls(ps, **kw)
                    opt.load_state_dict(state)
                for p, g in zip(ps, gs, strict=True):
                    p.grad[...] = g
                opt.step()
            runs.append([p.data for p in ps])
        for a, b in zip(*runs, strict=True):
            assert np.array_equal(a, b)


SCHEDULERS = [
    ("StepLR", {"step_size": 3}),
    ("StepLR", {"step_size": 1, "gamma": 0.7}),
    ("CosineAnnealingLR", {"T_max": 7}),
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01}),
]


@pytest.mark.parametrize("name,kw", SCHEDULERS)
def test_scheduler_matches_torch_with_the_optimiser_it_drives(name, kw):
    rng, ours, theirs = _pair(11)
    opt, topt = cr.Adam(ours, lr=0.05), torch.optim.Adam(theirs, lr=0.05)
    sched = getattr(cr, name)(opt, **kw)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)

    def step_both(k):
        sched.step()
        tsched.step()
        assert sched.get_last_lr()[0] == pytest.approx(tsched.get_last_lr()[0], rel=1e-10, abs=1e-15)

    _run(ours, theirs, opt, topt, rng, 2 * 7 + 3, step_both)  # past T_max: the cosine comes back up


def test_scheduler_is_a_pure_function_of_the_epoch():
    opt = cr.SGD([Parameter(np.zeros(2))], lr=0.5)
    sched = cr.CosineAnnealingLR(opt, T_max=10, eta_min=0.05)
    lrs = []
    for _ in range(12):
        sched.step()
        lrs.append(opt.lr)
    assert lrs == [sched.lr_at(e) for e in range(1, 13)]
    step = cr.StepLR(cr.SGD([Parameter(np.zeros(2))], lr=1.0), step_size=4, gamma=0.5)
    assert [step.lr_at(e) for e in (0, 3, 4, 8, 11)] == [1.0, 1.0, 0.5, 0.25, 0.25]


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"mode": "max", "factor": 0.5, "patience": 1},
        {"patience": 2, "threshold": 0.1, "threshold_mode": "abs", "cooldown": 2, "min_lr": 0.004},
    ],
)
def test_reduce_on_plateau_matches_torch(kw):
    rng = np.random.default_rng(2)
    metrics = np.concatenate([np.linspace(1, 0.5, 5), np.full(8, 0.5), rng.uniform(0.4, 0.6, 20)])
    opt = cr.SGD([Parameter(np.zeros(2))], lr=0.1)
    topt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    sched = cr.ReduceLROnPlateau(opt, **kw)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    for k, m in enumerate(metrics):
        sched.step(m)
        tsched.step(m)
        assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-10), f"epoch {k + 1}"
        assert sched.num_bad_epochs == tsched.num_bad_epochs
    # its state, loaded into a new scheduler, continues the same way
    opt2 = cr.SGD([Parameter(np.zeros(2))], lr=0.1)
    again = cr.ReduceLROnPlateau(opt2, **kw)
    again.load_state_dict(sched.state_dict())
    for m in rng.uniform(0.3, 0.7, 15):
        sched.step(m)
        again.step(m)
        assert opt.lr == opt2.lr


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng, ours, theirs = _pair(4)
    for p, t in zip(ours, theirs, strict=True):
        p.grad[...] = rng.normal(size=p.shape)
        t.grad = torch.tensor(p.grad.copy())
    total = cr.clip_grad_norm_(ours, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert total == pytest.approx(float(ttotal), rel=1e-10)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda o: cr.StepLR(None, step_size=2), "StepLR: needs an optimiser"),
        (lambda o: cr.ReduceLROnPlateau("adam"), "ReduceLROnPlateau: needs an optimiser"),
        (lambda o: cr.StepLR(o, step_size=0), "StepLR: step_size must be a whole number ≥ 1, got 0"),
        (lambda o: cr.CosineAnnealingLR(o, T_max=2.5), "T_max must be a whole number"),
        (lambda o: cr.ReduceLROnPlateau(o, factor=1.0), "factor must be a finite number > 0 and < 1, got 1.0"),
        (lambda o: cr.ReduceLROnPlateau(o, mode="lowest"), "mode must be 'min' or 'max', got 'lowest'"),
        (lambda o: cr.RMSprop(o.params, alpha=1.5), "alpha must be ≥ 0 and < 1, got 1.5"),
        (lambda o: cr.AdamW(o.params, weight_decay=-1), "weight_decay must be ≥ 0"),
        (lambda o: cr.clip_grad_norm_(o.params, 0), "clip_grad_norm_: max_norm must be a finite number > 0, got 0"),
        (lambda o: cr.clip_grad_norm_(o.params, 1.0, -2), "norm_type must be > 0 or inf, got -2"),
    ],
)
def test_bad_arguments_are_one_line_errors(make, needle):
    opt = cr.SGD([Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(ChainruleError) as e:
        make(opt)
    assert needle in str(e.value) and "\n" not in str(e.value)
