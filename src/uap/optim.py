"""SGD and Adam for CPU parameters, written out.

torch.optim imports torch._dynamo (and with it sympy and the compiler stack) the first time an
optimizer is built or stepped: ~1.6 s in every training process on this project's 2-core machine, for
models whose whole training takes seconds in the smoke profile. The update rules below are torch's
single-tensor CPU code paths (torch 2.14 `_single_tensor_sgd` / `_single_tensor_adam`, which
torch.optim uses for CPU tensors), op for op, so the results are bit-identical (tests/unit/test_optim.py
checks this against torch.optim). The state layout is torch's too (`param_groups`, `state[p]`
with `momentum_buffer` / `step`, `exp_avg`, `exp_avg_sq`), which the training checkpoints rely on.

On other devices `sgd` and `adam` return torch.optim's optimizers (fused/foreach kernels there; the
import cost does not matter next to a GPU run).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import torch


class _Optimizer:
    def __init__(self, params: Iterable[torch.nn.Parameter], defaults: dict):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        self.defaults = defaults
        self.param_groups = [{"params": params, **defaults}]
        self.state: dict = defaultdict(dict)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.detach_().zero_()


class SGD(_Optimizer):
    """SGD with (heavy-ball) momentum, dampening 0, no Nesterov, L2 weight decay added to the gradient."""

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if wd != 0:
                    grad = grad.add(p, alpha=wd)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = grad.detach().clone()
                        state["momentum_buffer"] = buf
                    else:
                        buf.mul_(momentum).add_(grad, alpha=1)
                    grad = buf
                p.add_(grad, alpha=-lr)


class Adam(_Optimizer):
    """Adam (no AMSGrad, no weight decay), bias-corrected as torch's non-capturable path."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0, dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                grad, exp_avg, exp_avg_sq = p.grad, state["exp_avg"], state["exp_avg_sq"]
                state["step"] += 1
                step = state["step"].item()
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                denom = (exp_avg_sq.sqrt() / bias_correction2 ** 0.5).add_(eps)
                p.addcdiv_(exp_avg, denom, value=-step_size)


def _on_cpu(params: list) -> bool:
    return all(p.device.type == "cpu" for p in params)


def sgd(params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
    """`SGD` for CPU parameters, torch.optim.SGD (same update, same state names) elsewhere."""
    params = list(params)
    if _on_cpu(params):
        return SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def adam(params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
    """`Adam` for CPU parameters, torch.optim.Adam elsewhere."""
    params = list(params)
    if _on_cpu(params):
        return Adam(params, lr=lr, betas=betas, eps=eps)
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)
