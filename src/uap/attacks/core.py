"""Grouped targeted PGD: one perturbation per *group* of images, all groups optimised at once.

This single batched routine is both attacks of S1:
- per-example targeted PGD is the case of groups of one image (`attacks.pgd`);
- a universal perturbation over a base set of K images is one group of K (`attacks.universal`),
  and D_univ's "one universal perturbation per batch" is many groups optimised side by side.
The loss of each group is the mean cross-entropy towards its target over its images (eq. 1 of S1);
summing the group losses keeps the gradients of different groups separate.

Inside `checkpointing(path)` (the CLI's --checkpoint of `universal`, `construct`, `interp-dataset`) every
call keeps a checkpoint of its progress, so that a killed or SIGTERM-stopped command resumes where it
was and ends bit-identical to an uninterrupted run (see `grouped_targeted_pgd`).
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..threats import Threat, apply_perturbation
from ..utils import autocast, progress, sigterm_flag

# The checkpoint of the current command's grouped PGD calls (`checkpointing`): its path and how many
# calls have started, so that the n-th call of a re-run finds the n-th call's checkpoint.
_CHECKPOINT: dict | None = None
# Seconds between two periodic checkpoints of one call (besides SIGTERM and the end of the call):
# what a SIGKILL (out of memory, a node failure) can lose at most. UAP_PGD_CHECKPOINT_S overrides it.
CHECKPOINT_EVERY_S = 60.0


@contextlib.contextmanager
def checkpointing(path: str | Path | None):
    """Inside the block, the i-th grouped PGD call keeps its progress in `<stem>.pgd<i>.safetensors`
    next to `path` (a command is deterministic, so a re-run makes the same calls in the same order; each
    checkpoint also records what its call was made with and is ignored if that differs). A checkpoint is
    saved every CHECKPOINT_EVERY_S seconds, at once on SIGTERM (then errors.Terminated is raised) and at
    the end of the call (a re-run then skips the finished call). `path=None`: no checkpoints."""
    global _CHECKPOINT
    if path is None:
        yield
        return
    old, _CHECKPOINT = _CHECKPOINT, {"path": Path(path), "calls": 0}
    try:
        yield
    finally:
        _CHECKPOINT = old


def checkpoint_files(path: str | Path) -> list[Path]:
    """The files `checkpointing(path)` may have written (tensors and sidecars)."""
    p = Path(path)
    return sorted(p.parent.glob(f"{p.stem}.pgd*{p.suffix}")) + sorted(p.parent.glob(f"{p.stem}.pgd*.json"))


def _call_checkpoint(model, x, target, threat, rng, device, precision, **settings) -> tuple[Path, str, dict] | None:
    """(file, key, identity) of this call's checkpoint inside `checkpointing`, else None."""
    if _CHECKPOINT is None:
        return None
    from ..train import _state_hash, tensor_hash
    n = _CHECKPOINT["calls"]
    _CHECKPOINT["calls"] += 1
    p = _CHECKPOINT["path"]
    identity = {"call": n, "x": tensor_hash(x), "target": tensor_hash(target),
                "model": tensor_hash(*model.state_dict().values()), "threat": [threat.name, float(threat.eps)],
                "rng": tensor_hash(rng.get_state()), "settings": _state_hash(settings), "precision": precision,
                "device": device.type, "torch": torch.__version__,
                "threads": torch.get_num_threads() if device.type == "cpu" else None}
    return p.with_name(f"{p.stem}.pgd{n}{p.suffix}"), _state_hash(identity), identity


def box_active_set(grad: torch.Tensor, x_adv: torch.Tensor, ascent: bool = False) -> torch.Tensor:
    """Zero the gradient where the step along it (descent: −grad, ascent: +grad) would push a pixel
    of x_adv that is already at 0 or 1 out of [0,1].

    Without this, the normalised ℓ2 direction spends much of its length on pixels that are then
    clipped back (e.g. the black background of Fashion-MNIST), and the step is shorter than asked."""
    up = grad > 0 if ascent else grad < 0
    blocked = ((x_adv <= 0.0) & ~up & (grad != 0)) | ((x_adv >= 1.0) & up)
    return grad.masked_fill(blocked, 0.0)


@dataclass
class PGDResult:
    delta: torch.Tensor            # [G, C, H, W] on the CPU
    success: torch.Tensor          # [G, K] bool: base image classified as its group's target at the end
    loss_curve: torch.Tensor       # [epochs, G] mean loss per epoch (before each step)
    acc_curve: torch.Tensor        # [epochs, G] fraction of the base set at the target, per epoch
    info: dict = field(default_factory=dict)

    @property
    def asr(self) -> float:
        return float(self.success.float().mean())


def grouped_targeted_pgd(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    threat: Threat,
    *,
    step_size: float,
    epochs: int,
    batch_size: int | None = None,
    max_images: int = 4096,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
    desc: str = "pgd",
) -> PGDResult:
    """Minimise the mean targeted cross-entropy of each group over its own perturbation.

    x: [G, K, C, H, W] images in [0,1] (K images per group); target: [G] target class per group.
    Each epoch visits every image of each group once, in minibatches of `batch_size` per group
    (one step per minibatch). Groups are processed in chunks of at most `max_images` images.
    After each step the perturbation is projected onto the ε-ball; with one image per group it is
    also projected onto the pixel box (x + δ ∈ [0,1]), which a shared perturbation cannot be.
    The input tensor is never modified.
    """
    if x.dim() != 5:
        raise ValueError(f"x must be [groups, K, C, H, W], got shape {tuple(x.shape)}")
    G, K = x.shape[:2]
    if G == 0 or K == 0:
        raise ValueError(f"nothing to attack: {G} groups of {K} images")
    if target.shape != (G,):
        raise ValueError(f"target must have shape ({G},), got {tuple(target.shape)}")
    if epochs < 1 or step_size <= 0:
        raise ValueError(f"epochs must be >= 1 and step_size > 0 (got {epochs}, {step_size})")
    device = torch.device(device)
    b = K if not batch_size else min(int(batch_size), K)
    steps_per_epoch = -(-K // b)
    groups_per_chunk = max(1, max_images // b)
    rng = generator if generator is not None else torch.default_generator   # the shuffling's random state
    ck = _call_checkpoint(model, x, target, threat, rng, device, precision, step_size=step_size, epochs=epochs,
                          batch_size=b, groups_per_chunk=groups_per_chunk)
    info = {"groups": G, "K": K, "batch_size": b, "epochs": epochs, "step_size": step_size,
            "norm": threat.name, "eps": threat.eps}
    from ..artifacts import load_checkpoint
    saved = load_checkpoint(*ck, desc) if ck else None
    if saved is not None and saved[1].get("finished"):       # a re-run: this call had finished
        t, _ = saved
        rng.set_state(t["rng_state"])
        print(f"[{desc}] finished before: result taken from checkpoint {ck[0]}", flush=True)
        return PGDResult(delta=t["done.delta"], success=t["done.success"], loss_curve=t["done.loss"],
                         acc_curve=t["done.acc"], info=info)
    was_training = model.training
    model.eval()
    deltas, successes, losses, accs = [], [], [], []
    start = {"g0": 0, "ep": 0, "s": 0}
    if saved is not None:         # resume: the finished chunks' results, the current chunk's state
        t, meta = saved
        start = {k: meta[k] for k in start}
        if "done.delta" in t:
            deltas, successes, losses, accs = [t["done.delta"]], [t["done.success"]], [t["done.loss"]], [t["done.acc"]]
        rng.set_state(t["rng_state"])
        print(f"[{desc}] resuming from {ck[0]} at group {start['g0']}, epoch {start['ep'] + 1}, "
              f"step {start['s']}", flush=True)
    last_save = time.time()
    every = float(os.environ.get("UAP_PGD_CHECKPOINT_S", CHECKPOINT_EVERY_S))
    if ck:
        print(f"[{desc}] checkpointing to {ck[0]} (every {every:g} s and on SIGTERM)", flush=True)

    def save(state: dict, tensors: dict, finished: bool = False) -> None:
        from ..artifacts import immediate, save_tensors
        done = {}
        if deltas:
            done = {"done.delta": torch.cat(deltas), "done.success": torch.cat(successes),
                    "done.loss": torch.cat(losses, dim=1), "done.acc": torch.cat(accs, dim=1)}
        with immediate():          # survives the command failing later: that is what it is for
            save_tensors(ck[0], {**done, **tensors, "rng_state": rng.get_state()},
                         {"key": ck[1], "identity": ck[2], "finished": finished, **state})

    done_steps = start["g0"] * epochs * steps_per_epoch
    bar = progress(total=G * epochs * steps_per_epoch, desc=desc, unit="grp-step", initial=done_steps)
    try:
        with sigterm_flag() if ck else contextlib.nullcontext({"signal": None}) as stop:
            for g0 in range(start["g0"], G, groups_per_chunk):
                xs = x[g0:g0 + groups_per_chunk].to(device, non_blocking=True)
                ts = target[g0:g0 + groups_per_chunk].to(device)
                n = xs.shape[0]
                delta = torch.zeros((n, *x.shape[2:]), device=device)
                loss_c = torch.zeros(epochs, n)
                acc_c = torch.zeros(epochs, n)
                rows = torch.arange(n, device=device)[:, None]
                ep0 = 0
                if saved is not None and g0 == start["g0"] and "cur.delta" in saved[0]:
                    t = saved[0]
                    delta, loss_c, acc_c = t["cur.delta"].to(device), t["cur.loss"], t["cur.acc"]
                    ep0 = start["ep"]
                    bar.update(n * (ep0 * steps_per_epoch + start["s"]))
                for ep in range(ep0, epochs):
                    s0 = 0
                    if saved is not None and g0 == start["g0"] and ep == ep0 and "cur.perm" in saved[0]:
                        t = saved[0]                     # mid-epoch: this epoch's order and sums so far
                        perm, ep_loss, ep_hit = (t["cur.perm"].to(device), t["cur.ep_loss"].to(device),
                                                 t["cur.ep_hit"].to(device))
                        s0 = start["s"]
                    else:
                        if steps_per_epoch > 1:
                            perm = torch.rand(n, K, generator=generator).argsort(dim=1).to(device)
                        else:
                            perm = torch.arange(K, device=device).expand(n, K)
                        ep_loss = torch.zeros(n, device=device)
                        ep_hit = torch.zeros(n, device=device)
                    for s in range(s0, steps_per_epoch):
                        idx = perm[:, s * b:(s + 1) * b]
                        xb = xs[rows, idx]                                   # [n, b', C, H, W]
                        delta.requires_grad_(True)
                        if K == 1:  # x + δ stays in the box (below), so no clamp: its gradient is 0 at 0 and 1,
                            inp = (xb + delta[:, None]).flatten(0, 1)   # which would freeze every black pixel
                        else:  # shared δ: the clamp's zero gradient at the bounds helps (measured: higher ASR)
                            inp = apply_perturbation(xb, delta[:, None]).flatten(0, 1)
                        with autocast(device, precision):
                            logits = model(inp.contiguous(memory_format=torch.channels_last))
                        tgt = ts[:, None].expand(-1, idx.shape[1]).reshape(-1)
                        ce = F.cross_entropy(logits.float(), tgt, reduction="none").view(n, -1)
                        (grad,) = torch.autograd.grad(ce.mean(1).sum(), delta)
                        with torch.no_grad():
                            if K == 1:  # per-example: drop components that push a pixel already at 0 or 1
                                grad = box_active_set(grad, xs[:, 0] + delta)  # out of the box (they would be clipped)
                            ep_loss += ce.sum(1).detach()
                            ep_hit += (logits.argmax(1) == tgt).view(n, -1).sum(1)
                            delta = threat.project(delta.detach() - step_size * threat.direction(grad))
                            if K == 1:  # per-example: also keep x + δ inside the pixel box (standard PGD)
                                delta = (xs[:, 0] + delta).clamp_(0.0, 1.0) - xs[:, 0]
                        bar.update(n)
                        if ck and (stop["signal"] or time.time() - last_save >= every):
                            save({"g0": g0, "ep": ep, "s": s + 1},
                                 {"cur.delta": delta, "cur.loss": loss_c, "cur.acc": acc_c, "cur.perm": perm,
                                  "cur.ep_loss": ep_loss, "cur.ep_hit": ep_hit})
                            last_save = time.time()
                        if stop["signal"]:
                            from ..errors import Terminated
                            raise Terminated(
                                f"{stop['signal']} in {desc}, groups {g0}-{g0 + n - 1} of {G}, epoch {ep + 1} of "
                                f"{epochs}, step {s + 1} of {steps_per_epoch}: checkpoint {ck[0]} saved; re-run "
                                "the same command to resume from it")
                    loss_c[ep] = (ep_loss / K).cpu()
                    acc_c[ep] = (ep_hit / K).cpu()
                with torch.no_grad(), autocast(device, precision):
                    pred = model(apply_perturbation(xs, delta[:, None]).flatten(0, 1)
                                 .contiguous(memory_format=torch.channels_last)).argmax(1).view(n, K)
                deltas.append(delta.detach().cpu())
                successes.append((pred == ts[:, None]).cpu())
                losses.append(loss_c)
                accs.append(acc_c)
            if ck:       # the whole result: a re-run of a command with later stages skips this call
                save({"g0": G, "ep": 0, "s": 0}, {}, finished=True)
    finally:
        bar.close()
        model.train(was_training)
    return PGDResult(
        delta=torch.cat(deltas),
        success=torch.cat(successes),
        loss_curve=torch.cat(losses, dim=1),
        acc_curve=torch.cat(accs, dim=1),
        info=info,
    )
