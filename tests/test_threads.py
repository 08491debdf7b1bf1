"""The thread policy (core.threads): one count, NumPy's BLAS held at one thread, splits above thresholds.

Not timed: these prove the mechanism (what threadpoolctl reports, which threads ran which chunk, the bytes).
"""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import chainrule as cr
from chainrule.core import threads
from chainrule.train.settings import DEFAULTS, resolve


def blas_counts() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"]]


def test_the_first_layer_built_puts_numpys_blas_on_one_thread():
    code = (
        "import numpy\nfrom threadpoolctl import threadpool_info\n"
        "def n(): return [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
        "import chainrule\nchainrule.ReLU()\nbefore = n()\nchainrule.Linear(2, 3)\nprint(before, n())"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}  # as on a 2-core machine, whatever this one has
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["[2]", "[1]"], out.stdout


def test_set_num_threads_is_one_number_and_holds_blas_at_one():
    before = cr.get_num_threads()
    try:
        with threadpool_limits(2, user_api="blas"):  # a user raised BLAS's threads
            cr.set_num_threads(3)
            assert cr.get_num_threads() == 3 and set(blas_counts()) == {1}
    finally:
        cr.set_num_threads(before)
    for bad in (0, 1.5, True, "2"):
        with pytest.raises(cr.ChainruleError, match="whole number ≥ 1"):
            cr.set_num_threads(bad)


def test_using_restores_chainrules_count_and_blas():
    before = cr.get_num_threads()
    with threadpool_limits(2, user_api="blas"):
        with threads.using(before + 1):
            assert cr.get_num_threads() == before + 1 and set(blas_counts()) == {1}
        assert cr.get_num_threads() == before and set(blas_counts()) == {2}


def test_a_split_convolution_runs_every_chunk_on_single_threaded_blas(monkeypatch):
    """Inside chainrule's call BLAS reports one thread, in the pool threads too; the user's limit comes back."""
    monkeypatch.setattr(threads, "CONV_FORWARD_SPLIT", 0)
    seen = []

    def chunk(lo, hi):
        seen.append((lo, hi, threading.current_thread().name, tuple(blas_counts())))

    with threads.using(3), threadpool_limits(2, user_api="blas"):  # the user raised BLAS after
        threads.parallel(chunk, 9, 1)
        after = blas_counts()
    assert sorted(s[:2] for s in seen) == [(0, 3), (3, 6), (6, 9)]
    assert {s[3] for s in seen} == {(1,)} and set(after) == {2}
    assert sum(s[2].startswith("chainrule") for s in seen) == 2  # two chunks ran in the pool


@pytest.mark.parametrize("groups", [1, 2])
def test_threaded_and_serial_chunks_give_the_same_bytes(monkeypatch, groups):
    rng = np.random.default_rng(5)
    conv = cr.Conv2d(4, 6, 3, padding=1, groups=groups, rng=1)
    x, dy = rng.standard_normal((6, 4, 9, 9)), rng.standard_normal((6, 6, 9, 9))
    results = []
    with threads.using(2):
        for split in (0, 10**12):  # every call split over the threads / none
            monkeypatch.setattr(threads, "CONV_FORWARD_SPLIT", split)
            monkeypatch.setattr(threads, "CONV_BACKWARD_SPLIT", split)
            conv.zero_grad()
            y = conv.forward(x)
            results.append([y, conv.backward(dy), conv.weight.grad.copy(), conv.bias.grad.copy()])
    for a, b in zip(*results, strict=True):
        assert np.array_equal(a, b)


def test_train_threads_defaults_to_chainrules_count():
    assert DEFAULTS["threads"] is None
    assert resolve({})["threads"] == cr.get_num_threads()
    assert resolve({"threads": 3})["threads"] == 3
    with pytest.raises(cr.ChainruleError, match="--threads must be ≥ 1"):
        resolve({"threads": 0})


def test_more_threads_than_samples_makes_no_empty_chunk(monkeypatch):
    monkeypatch.setattr(threads, "CONV_BACKWARD_SPLIT", 0)
    seen = []
    with threads.using(4):
        threads.parallel(lambda lo, hi: seen.append((lo, hi)), 2, 1, backward=True)
    assert sorted(seen) == [(0, 1), (1, 2)]
