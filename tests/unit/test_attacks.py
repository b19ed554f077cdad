"""Grouped targeted PGD: per-example PGD, universal PGD and groups optimised side by side."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from helpers_uap import tiny_resnet
from uap.attacks import ATTACKS, grouped_targeted_pgd, targeted_pgd, universal_pgd
from uap.threats import L2, Linf, apply_perturbation


@pytest.fixture(scope="module")
def model():
    return tiny_resnet(num_classes=3, image_size=8, logit_scale=30.0).eval()


@pytest.fixture(scope="module")
def images():
    torch.manual_seed(123)
    return torch.rand(8, 1, 8, 8)


def _probs(model, x):
    with torch.no_grad():
        return F.softmax(model(x), dim=1)


def _target_away_from_prediction(model, x):
    with torch.no_grad():
        return (model(x).argmax(1) + 1) % 3


def test_registry():
    assert ATTACKS["pgd"] is targeted_pgd and ATTACKS["universal"] is universal_pgd


# --------------------------------------------------------------------------------- per-example PGD
@pytest.mark.parametrize("threat", [L2(2.0), Linf(0.3)], ids=["l2", "linf"])
def test_targeted_pgd_raises_target_probability_and_respects_the_budget(model, images, threat):
    target = _target_away_from_prediction(model, images)
    x0 = images.clone()
    res = targeted_pgd(model, images, target, threat, steps=10)
    assert torch.equal(images, x0), "the input tensor must not be modified"
    assert res.delta.shape == images.shape
    assert (threat.norm(res.delta) <= threat.eps + 1e-5).all()
    p_clean = _probs(model, images)[torch.arange(8), target]
    p_adv = _probs(model, apply_perturbation(images, res.delta))[torch.arange(8), target]
    assert (p_adv > p_clean).all()
    assert p_adv.mean() > p_clean.mean() + 0.1
    assert res.asr > 0.25          # targets differ from every clean prediction: clean ASR is 0
    # bookkeeping: one group of one image per input
    assert res.success.shape == (8, 1)
    assert res.loss_curve.shape == (10, 8) and res.acc_curve.shape == (10, 8)
    with torch.no_grad():
        pred = model(apply_perturbation(images, res.delta)).argmax(1)
    assert torch.equal(res.success[:, 0], pred == target)
    assert res.asr == pytest.approx(float((pred == target).float().mean()))
    # the first recorded loss is the clean loss (the curve is taken before each step)
    with torch.no_grad():
        clean_ce = F.cross_entropy(model(images), target, reduction="none")
    assert torch.allclose(res.loss_curve[0], clean_ce, atol=1e-5)
    assert res.info["norm"] == threat.name and res.info["eps"] == threat.eps


def test_targeted_pgd_perturbations_are_independent_per_image(model, images):
    """Summing the group losses keeps the groups separate: attacking all images at once gives the
    same per-image perturbation as attacking each one alone."""
    target = _target_away_from_prediction(model, images)
    threat = L2(1.0)
    together = targeted_pgd(model, images, target, threat, steps=4)
    for i in (0, 3, 7):
        alone = targeted_pgd(model, images[i:i + 1], target[i:i + 1], threat, steps=4)
        assert torch.allclose(together.delta[i], alone.delta[0], atol=1e-5)


def test_attack_restores_training_mode_and_leaves_the_model_alone(images):
    m = tiny_resnet(num_classes=3, image_size=8)
    m.train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    targeted_pgd(m, images, torch.zeros(8, dtype=torch.long), L2(1.0), steps=2)
    assert m.training
    after = m.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "BN statistics or weights changed"


def test_one_l2_step_matches_the_normalised_gradient(model, images):
    """One universal step from zero: delta = -lr * g/||g|| with g the gradient of the mean CE."""
    x = images[:5]
    target = 2
    lr = 0.4
    res = universal_pgd(model, x, target, L2(1.0), lr=lr, epochs=1, batch_size=5)
    d = torch.zeros(1, 1, 8, 8, requires_grad=True)
    loss = F.cross_entropy(model((x + d).clamp(0, 1)), torch.full((5,), target))
    (g,) = torch.autograd.grad(loss, d)
    expected = -lr * g / g.norm()
    assert torch.allclose(res.delta, expected, atol=1e-5)


# ---------------------------------------------------------------------------------- universal PGD
@pytest.mark.parametrize("threat,lr", [(L2(2.0), 0.5), (Linf(0.25), 0.05)], ids=["l2", "linf"])
@pytest.mark.parametrize("batch_size", [8, 3])
def test_universal_pgd_returns_one_shared_delta_whose_success_is_recorded(model, images, threat, lr, batch_size):
    x0 = images.clone()
    res = universal_pgd(model, images, 1, threat, lr=lr, epochs=5, batch_size=batch_size,
                        generator=torch.Generator().manual_seed(0))
    assert torch.equal(images, x0)
    assert res.delta.shape == (1, 1, 8, 8)
    assert res.success.shape == (1, 8)
    assert (threat.norm(res.delta) <= threat.eps + 1e-5).all()
    with torch.no_grad():
        pred = model(apply_perturbation(images, res.delta[0])).argmax(1)
    assert torch.equal(res.success[0], pred == 1)
    assert res.loss_curve.shape == (5, 1) and res.acc_curve.shape == (5, 1)
    assert res.info["K"] == 8 and res.info["batch_size"] == batch_size


def test_universal_pgd_lowers_the_targeted_loss(model, images):
    target = 0
    res = universal_pgd(model, images, target, L2(3.0), lr=0.5, epochs=6, batch_size=8)
    tgt = torch.full((8,), target)
    with torch.no_grad():
        clean = F.cross_entropy(model(images), tgt)
        adv = F.cross_entropy(model(apply_perturbation(images, res.delta[0])), tgt)
        acc0 = float((model(images).argmax(1) == tgt).float().mean())
    assert adv < clean
    assert res.loss_curve[0, 0] == pytest.approx(float(clean), abs=1e-5)
    assert res.acc_curve[0, 0] == pytest.approx(acc0)


def test_universal_pgd_is_reproducible_with_a_seeded_generator(model, images):
    kw = dict(lr=0.5, epochs=3, batch_size=3)
    a = universal_pgd(model, images, 2, L2(1.0), generator=torch.Generator().manual_seed(7), **kw)
    b = universal_pgd(model, images, 2, L2(1.0), generator=torch.Generator().manual_seed(7), **kw)
    assert torch.equal(a.delta, b.delta)


@pytest.mark.parametrize("max_images", [4096, 4], ids=["one-chunk", "chunk-per-group"])
def test_grouped_groups_side_by_side_equal_groups_alone(model, images, max_images):
    base = torch.stack([images[:4], images[4:]])          # [2, 4, 1, 8, 8]
    targets = torch.tensor([0, 2])
    threat = L2(1.5)
    kw = dict(lr=0.3, epochs=5, batch_size=4)             # batch_size >= K: no shuffling
    both = universal_pgd(model, base, targets, threat, max_images=max_images,
                         generator=torch.Generator().manual_seed(0), **kw)
    assert both.delta.shape == (2, 1, 8, 8) and both.success.shape == (2, 4)
    assert both.loss_curve.shape == (5, 2)
    for g in range(2):
        alone = universal_pgd(model, base[g], int(targets[g]), threat,
                              generator=torch.Generator().manual_seed(0), **kw)
        assert torch.allclose(both.delta[g], alone.delta[0], atol=1e-5)
        assert torch.equal(both.success[g], alone.success[0])
        assert torch.allclose(both.loss_curve[:, g], alone.loss_curve[:, 0], atol=1e-5)


def test_universal_int_target_is_broadcast_over_groups(model, images):
    base = torch.stack([images[:4], images[4:]])
    res = universal_pgd(model, base, 1, L2(1.0), lr=0.3, epochs=2, batch_size=4)
    ref = universal_pgd(model, base, torch.tensor([1, 1]), L2(1.0), lr=0.3, epochs=2, batch_size=4)
    assert torch.equal(res.delta, ref.delta)


# ------------------------------------------------------------------------------------- bad arguments
def test_bad_arguments_raise_value_error(model, images):
    t = L2(1.0)
    with pytest.raises(ValueError, match="groups"):
        grouped_targeted_pgd(model, images, torch.zeros(8, dtype=torch.long), t, step_size=0.1, epochs=1)
    with pytest.raises(ValueError, match="target"):
        grouped_targeted_pgd(model, images[None], torch.zeros(2, dtype=torch.long), t, step_size=0.1, epochs=1)
    with pytest.raises(ValueError):
        grouped_targeted_pgd(model, images[None], torch.zeros(1, dtype=torch.long), t, step_size=0.1, epochs=0)
    with pytest.raises(ValueError):
        grouped_targeted_pgd(model, images[None], torch.zeros(1, dtype=torch.long), t, step_size=0.0, epochs=1)
    with pytest.raises(ValueError, match="steps"):
        targeted_pgd(model, images, torch.zeros(8, dtype=torch.long), t, steps=0)
    with pytest.raises(ValueError, match="step_ratio"):
        targeted_pgd(model, images, torch.zeros(8, dtype=torch.long), t, step_ratio=0)
    with pytest.raises(ValueError):
        universal_pgd(model, torch.stack([images[:4], images[4:]]), torch.tensor([0, 1, 2]), t,
                      lr=0.1, epochs=1, batch_size=4)
    with pytest.raises(ValueError):
        universal_pgd(model, images, 0, t, lr=0.1, epochs=0, batch_size=4)


@pytest.mark.parametrize("threat", [L2(1.0), Linf(0.5)])
def test_per_example_pgd_can_brighten_black_pixels(threat):
    """The target's evidence lives only where the image is black (0): the attack must be able to
    raise those pixels (a clamp in the forward pass would give them zero gradient forever)."""
    x = torch.zeros(4, 1, 4, 4)
    x[:, :, :, 2:] = 1.0                                   # right half white, left half black
    w = torch.zeros(2, 16)
    w[1, :8] = 1.0                                         # class 1 <- brightness of the black half ...
    w[1, 8:] = -1.0                                        # ... and darkness of the white half
    b = torch.tensor([0.3, 0.0])
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    with torch.no_grad():
        model[1].weight.copy_(w)
        model[1].bias.copy_(b)
    target = torch.ones(4, dtype=torch.long)
    res = targeted_pgd(model, x, target, threat, steps=10, step_ratio=1 / 3)
    adv = x + res.delta
    assert adv.min() >= 0 and adv.max() <= 1
    assert (res.delta[:, :, :, :2] > 0).any()              # black pixels were brightened
    assert res.success.all()


def test_box_active_set_blocks_only_outward_moves():
    from uap.attacks.core import box_active_set
    x_adv = torch.tensor([0.0, 0.0, 1.0, 1.0, 0.5, 0.5])
    grad = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    # descent moves along -grad: at 0 a positive grad would darken (blocked), at 1 a negative one brightens
    assert box_active_set(grad, x_adv).tolist() == [0.0, -1.0, 1.0, 0.0, 1.0, -1.0]
    assert box_active_set(grad, x_adv, ascent=True).tolist() == [1.0, 0.0, 0.0, -1.0, 1.0, -1.0]


def test_training_adversary_stays_in_the_box_and_uses_black_pixels():
    from uap.train import untargeted_pgd
    x = torch.zeros(4, 1, 4, 4)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[1].fill_(1.0)                     # class 1 <- overall brightness
    y = torch.zeros(4, dtype=torch.long)
    adv = untargeted_pgd(model, x, y, L2(1.0), steps=3, step_ratio=2 / 3, gen=torch.Generator().manual_seed(0))
    assert adv.min() >= 0 and adv.max() <= 1 and (adv - x).flatten(1).norm(dim=1).max() <= 1.0 + 1e-5
    assert (adv.flatten(1).sum(1) > 1.5).all()            # pushed towards class 1 by brightening
