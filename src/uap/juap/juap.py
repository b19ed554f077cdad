"""Algorithm 1 of 002_0c35d062ce311dce.txt: train a generator whose scaled output (eq. 6) is one
universal perturbation that fools the classifier (eqs. 7–9) while keeping the interpreter's maps of
the perturbed images close to the benign ones (eq. 13), with the joint objective of eq. 16.

With lam = 0 (or interpreter None) the interpretation term is absent: the generative UAP baseline
("GUAP")."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from ..interpret import classify_and_explain, get_interpreter
from ..interpret.smooth_relu import smooth_relu_gradient
from ..metrics import as_float
from ..optim import adam
from ..threats import apply_perturbation
from ..utils import progress
from .generators import build_generator, scale_to_norm
from .losses import classifier_loss, interpretation_shift, joint_loss


@dataclass
class JUAPResult:
    delta: torch.Tensor                       # [C, H, W], ‖·‖_p ≤ ζ
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def loss_labels(model, x: torch.Tensor, y: torch.Tensor, kind: str, target_class: int | None,
                batch_size: int = 1024) -> torch.Tensor:
    """The class each classifier loss is computed against: C_x (true label), C_min (least likely
    class of the clean image) or C_t."""
    if kind == "ce":
        return y
    if kind == "targeted":
        if target_class is None:
            raise ValueError("the targeted loss (eq. 9) needs a target class")
        return torch.full_like(y, int(target_class))
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch_size]).argmin(1) for i in range(0, x.shape[0], batch_size)])


def interp_options(name: str, masker=None) -> dict:
    return {"masker": masker} if name == "rts" else {}


def train_juap(model, x: torch.Tensor, y: torch.Tensor, *, generator_arch: str, norm: str, zeta: float,
               interpreter: str | None, lam: float, delta: float, loss: str = "ce", target_class: int | None = None,
               steps: int = 100, batch_size: int = 32, lr: float = 2e-4, width: int = 16, blocks: int = 3,
               smooth_relu: bool = True, masker=None, encoder_weight: float = 0.0, gen: torch.Generator,
               device="cpu", desc: str = "juap") -> JUAPResult:
    """x: training images [N, C, H, W] (uint8 or [0,1] floats), y: their labels. Returns the
    universal perturbation and the loss history."""
    device = torch.device(device)
    x = as_float(x).to(device)
    y = y.to(device)
    labels = loss_labels(model, x, y, loss, target_class).to(device)
    use_int = interpreter is not None and lam > 0
    interp = get_interpreter(interpreter) if use_int else None
    opts = interp_options(interpreter, masker) if use_int else {}
    if use_int:
        with torch.no_grad():
            clean_pred = torch.cat([model(x[i:i + 1024]).argmax(1) for i in range(0, len(x), 1024)])
        clean_maps = torch.cat([interp(model, x[i:i + 256], clean_pred[i:i + 256], **opts)
                                for i in range(0, len(x), 256)])
        if interpreter == "rts" and encoder_weight > 0:
            with torch.no_grad():
                clean_codes = torch.cat([masker.encode(x[i:i + 256])[-1] for i in range(0, len(x), 256)])
    G = build_generator(generator_arch, x.shape[1], width, blocks).to(device)
    noise = torch.rand((1, *x.shape[1:]), generator=gen).to(device)          # fixed n ~ U(0,1)
    opt = adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    history = []
    t0 = time.time()
    for step in progress(range(steps), desc=desc, unit="step"):
        idx = torch.randint(0, x.shape[0], (min(batch_size, x.shape[0]),), generator=gen).to(device)
        d = scale_to_norm(G(noise), norm, zeta)[0]
        xa = apply_perturbation(x[idx], d)
        with smooth_relu_gradient(enabled=use_int and smooth_relu):
            if use_int:   # CAM / Grad-CAM: logits and maps from one forward through the trunk
                logits, adv_maps = classify_and_explain(model, xa, interpreter, **opts)
                l_int = interpretation_shift(adv_maps, clean_maps[idx])
                if interpreter == "rts" and encoder_weight > 0:   # the extra encoder term for RTS
                    l_int = l_int + encoder_weight * interpretation_shift(masker.encode(xa)[-1], clean_codes[idx])
            else:
                logits, l_int = model(xa), torch.zeros((), device=device)
            l_cls = classifier_loss(logits, loss, labels[idx])
        total = joint_loss(l_cls, l_int, delta, lam if use_int else 0.0)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        history.append({"step": step + 1, "loss": float(total.detach()), "l_cls": float(l_cls.detach()),
                        "l_int": float(l_int.detach()),
                        "batch_fooled": float((logits.argmax(1) != y[idx]).float().mean())})
    with torch.no_grad():
        d = scale_to_norm(G(noise), norm, zeta)[0]
    return JUAPResult(delta=d.detach().cpu(), history=history, seconds=time.time() - t0)
