import sys
from pathlib import Path

import pytest

# tests import the shared helpers (oracle.py) as plain modules
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def split_every_call(monkeypatch):
    """Split every convolution over the threads (test shapes are below the speed thresholds), so the
    thread-count cases really run on the pool."""
    from chainrule.core import threads

    monkeypatch.setattr(threads, "CONV_FORWARD_SPLIT", 0)
    monkeypatch.setattr(threads, "CONV_BACKWARD_SPLIT", 0)
