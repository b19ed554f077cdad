"""uap.optim's written-out SGD / Adam update exactly as torch.optim does on the CPU, without importing
torch._dynamo."""
import subprocess
import sys

import pytest
import torch

from uap import optim


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3), torch.nn.Linear(3, 3))
    return net.to(memory_format=torch.channels_last)


def _run(make_opt, steps: int = 6, frozen_last: bool = True) -> list[torch.Tensor]:
    net = _net(0)
    if frozen_last:                      # a parameter without a gradient is skipped, as torch does
        net[-1].weight.requires_grad_(False)
    opt = make_opt([p for p in net.parameters()])
    g = torch.Generator().manual_seed(1)
    for step in range(steps):
        for group in opt.param_groups:   # the training loop sets the lr per step
            group["lr"] = group["lr"] * 0.9
        x = torch.rand(5, 1, 8, 8, generator=g).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 3, (5,), generator=g)
        loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("momentum,wd", [(0.9, 5e-4), (0.0, 0.0), (0.9, 0.0)])
def test_sgd_is_bit_identical_to_torch(momentum, wd):
    ours = _run(lambda ps: optim.sgd(ps, lr=0.1, momentum=momentum, weight_decay=wd))
    ref = _run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=momentum, weight_decay=wd))
    assert isinstance(optim.sgd(_net(0).parameters(), lr=0.1), optim.SGD)
    for a, b in zip(ours, ref):
        assert torch.equal(a, b)


@pytest.mark.parametrize("betas", [(0.5, 0.999), (0.9, 0.999)])
def test_adam_is_bit_identical_to_torch(betas):
    ours = _run(lambda ps: optim.adam(ps, lr=2e-3, betas=betas))
    ref = _run(lambda ps: torch.optim.Adam(ps, lr=2e-3, betas=betas))
    for a, b in zip(ours, ref):
        assert torch.equal(a, b)


def test_sgd_state_has_torchs_layout_for_checkpoints():
    net = _net(0)
    opt = optim.sgd(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.rand(2, 1, 8, 8)).sum().backward()
    opt.step()
    p = opt.param_groups[0]["params"][0]
    assert torch.equal(opt.state[p]["momentum_buffer"], p.grad)   # first step: the buffer is the gradient
    opt.zero_grad(set_to_none=True)
    assert all(q.grad is None for q in net.parameters())
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.sgd([], lr=0.1)


def test_no_dynamo_import():
    code = ("import sys, torch; from uap import optim\n"
            "net = torch.nn.Linear(3, 2)\n"
            "for opt in (optim.sgd(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4),"
            " optim.adam(net.parameters(), lr=1e-3)):\n"
            "    net(torch.rand(4, 3)).sum().backward(); opt.step(); opt.zero_grad()\n"
            "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
