"""S1 analyses (locality, shifts, scaling, transfer, robustness) on tiny models and tensors."""
from __future__ import annotations

import pytest
import torch

from uap.metrics import attack_success_rate, attack_success_rates, predict, predict_perturbed
from uap.s1.locality import box_masks, isolate_patches, per_example_patch_asr, random_boxes, universal_patch_asr
from uap.s1.robustness import robust_accuracy
from uap.s1.scaling import scaled_stack, scaling_asr
from uap.s1.shifts import (per_example_shift_asr, shift, shift_grid, shift_offsets, shifted_stack,
                           universal_shift_asr)
from uap.s1.transfer import transfer_rate
from uap.threats import make_threat

from helpers_uap import tiny_resnet


@pytest.fixture(scope="module")
def setup():
    model = tiny_resnet(num_classes=3, image_size=8, logit_scale=30.0).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(24, 1, 8, 8, generator=g)
    labels = torch.randint(0, 3, (24,), generator=g)
    deltas = torch.randn(3, 1, 8, 8, generator=g) * 0.5            # one universal perturbation per target
    per_ex = torch.randn(24, 1, 8, 8, generator=g) * 0.5
    targets = (labels + 1) % 3
    return model, x, labels, deltas, per_ex, targets


def test_predict_perturbed_matches_predict_for_universal_and_per_image(setup):
    model, x, _, deltas, per_ex, _ = setup
    pred = predict_perturbed(model, x, deltas, max_images=7)          # chunks cross perturbation rows
    for m in range(3):
        assert torch.equal(pred[m], predict(model, x, delta=deltas[m]))
    stack = torch.stack([per_ex, -per_ex])
    pred = predict_perturbed(model, x, stack, max_images=5)
    assert torch.equal(pred[1], predict(model, x, delta=-per_ex))
    with pytest.raises(ValueError):
        predict_perturbed(model, x, stack[:, :5])


def test_row_wise_asr_is_the_scalar_definition(setup):
    model, x, labels, deltas, _, _ = setup
    pred = predict_perturbed(model, x, deltas)
    rates = attack_success_rates(pred, torch.arange(3)[:, None], labels)
    for t in range(3):
        assert rates[t].item() == pytest.approx(attack_success_rate(pred[t], t, labels))
    assert torch.isnan(attack_success_rates(torch.zeros(1, 4, dtype=torch.long), 0, torch.zeros(4, dtype=torch.long)))[0]


def test_patches_tile_the_perturbation_and_l2_rescaling_equalises_norms():
    delta = torch.randn(2, 1, 8, 8)
    boxes = torch.tensor([[0, 0], [0, 4], [4, 0], [4, 4]])             # a tiling by 4×4 boxes
    masks = box_masks(boxes, 4, 8, 8)
    assert masks.shape == (4, 1, 8, 8) and (masks.sum(dim=(1, 2, 3)) == 16).all()
    patches, norms = isolate_patches(delta, masks, rescale=False)
    assert patches.shape == (4, 2, 1, 8, 8) and torch.allclose(patches.sum(0), delta)
    assert torch.allclose(norms, patches.flatten(2).norm(dim=2))
    scaled, norms2 = isolate_patches(delta, masks, rescale=True)
    assert torch.equal(norms, norms2)
    after = scaled.flatten(2).norm(dim=2)                              # every patch at the largest patch norm
    assert torch.allclose(after, norms.amax(0, keepdim=True).expand_as(after), rtol=1e-5)
    b = random_boxes(50, 3, 8, 10, torch.Generator().manual_seed(1))
    assert (b[:, 0] <= 5).all() and (b[:, 1] <= 7).all() and (b >= 0).all()
    with pytest.raises(ValueError):
        random_boxes(1, 9, 8, 8)


def test_a_whole_image_patch_reproduces_the_perturbations_asr(setup):
    model, x, labels, deltas, per_ex, targets = setup
    whole = torch.zeros(3, 2, 2, dtype=torch.long)                     # two boxes per target, both the full image
    res = universal_patch_asr(model, x, labels, deltas, torch.arange(3), whole, 8, rescale=True)
    for t in range(3):
        full = attack_success_rate(predict(model, x, delta=deltas[t]), t, labels)
        assert res["asr"][t].tolist() == pytest.approx([full, full])
    small = universal_patch_asr(model, x, labels, deltas, torch.arange(3),
                                random_boxes(6, 3, 8, 8, torch.Generator().manual_seed(2)).view(3, 2, 2), 3,
                                rescale=False)
    assert (small["norm"] <= deltas.flatten(1).norm(dim=1)[:, None] + 1e-6).all()
    pe = per_example_patch_asr(model, x, labels, per_ex, targets, torch.zeros(1, 2, dtype=torch.long), 8, rescale=True)
    assert pe["asr"][0].item() == pytest.approx(attack_success_rate(predict(model, x, delta=per_ex), targets, labels))


def test_shift_grid_offsets_and_wraparound():
    assert shift_offsets(28, 4) == [-12, -8, -4, 0, 4, 8, 12]
    assert shift_offsets(32, 4) == [-16, -12, -8, -4, 0, 4, 8, 12]    # +16 ≡ −16 (mod 32)
    grid = shift_grid(8, 8, 2)
    assert grid.shape == (16, 2) and [0, 0] in grid.tolist()
    delta = torch.randn(5, 2, 8, 8)
    stack = shifted_stack(delta, grid)
    for s, (dy, dx) in enumerate(grid.tolist()):
        assert torch.equal(stack[s], shift(delta, dy, dx))
    for p in (2, float("inf")):                                          # a wrap-around shift preserves every norm
        assert torch.allclose(stack.flatten(2).norm(p=p, dim=2), delta.flatten(1).norm(p=p, dim=1).expand(16, 5))
    assert torch.equal(shift(delta, 8, -8), delta)                     # a full period is the identity
    assert not torch.equal(shift(delta, 1, 0), delta)


def test_zero_shift_reproduces_the_unshifted_asr(setup):
    model, x, labels, deltas, per_ex, targets = setup
    grid = torch.tensor([[0, 0], [3, -2], [8, 8]])
    pe = per_example_shift_asr(model, x, labels, per_ex, targets, grid, max_elems=per_ex.numel())   # 1 shift per chunk
    base = attack_success_rate(predict(model, x, delta=per_ex), targets, labels)
    assert pe[0].item() == pytest.approx(base) and pe[2].item() == pytest.approx(base)
    uni = universal_shift_asr(model, x, labels, deltas, torch.arange(3), grid)
    assert uni.shape == (3, 3)
    for t in range(3):
        assert uni[0, t].item() == pytest.approx(attack_success_rate(predict(model, x, delta=deltas[t]), t, labels))
    moved = attack_success_rate(predict(model, x, delta=shift(per_ex, 3, -2)), targets, labels)
    assert pe[1].item() == pytest.approx(moved)


def test_scaling_by_one_reproduces_the_base_asr_and_zero_the_clean_one(setup):
    model, x, labels, deltas, _, _ = setup
    assert torch.allclose(scaled_stack(deltas, [0.0, 2.0])[1], 2 * deltas)
    asr = scaling_asr(model, x, labels, deltas, torch.arange(3), [0.0, 1.0, 3.0])
    for t in range(3):
        assert asr[t, 1].item() == pytest.approx(attack_success_rate(predict(model, x, delta=deltas[t]), t, labels))
        assert asr[t, 0].item() == pytest.approx(attack_success_rate(predict(model, x), t, labels))


def test_transfer_counts_only_source_fooled_images_of_another_label():
    labels = torch.tensor([0, 0, 1, 2, 2])
    target = torch.tensor([1, 1, 1, 0, 0])
    src = torch.tensor([1, 1, 1, 0, 2])          # image 2's label is the target; image 4 was not fooled
    dst = torch.tensor([1, 0, 1, 2, 0])
    rate, n = transfer_rate(src, dst, target, labels)
    assert n == 3 and rate == pytest.approx(1 / 3)
    assert transfer_rate(src, src, target, labels) == (1.0, 3)
    uni_src = torch.tensor([[1, 1, 1, 1, 0], [0, 0, 0, 2, 2]])
    rate, n = transfer_rate(uni_src, uni_src.flip(1), torch.tensor([[1], [0]]), labels)
    assert n == 3 + 1 and rate == pytest.approx(3 / 4)
    assert transfer_rate(torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long), 1,
                         torch.zeros(2, dtype=torch.long))[1] == 0


def test_robust_accuracy_is_at_most_standard_and_leaves_the_model_alone(setup):
    model, x, labels, _, _, _ = setup
    labels = predict(model, x)                     # every clean prediction correct: standard accuracy 1
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    strong = robust_accuracy(model, x, labels, make_threat("l2", 4.0), steps=5, step_ratio=0.5, generator=g,
                             batch_size=10)
    tiny = robust_accuracy(model, x, labels, make_threat("linf", 1e-6), steps=2, step_ratio=0.5, generator=g)
    assert strong["standard"] == tiny["standard"] == 1.0
    assert strong["robust"] < 1.0 and tiny["robust"] == 1.0
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_same_norm_noise_matches_the_perturbations_norm_and_the_floor_is_measured(setup):
    from uap.metrics import attack_success_outcomes
    from uap.s1.shifts import kept_norm, same_norm_noise, universal_shift_pred
    from uap.utils import generator
    model, x, labels, deltas, _, _ = setup
    noise = same_norm_noise(deltas, "l2", 4, generator(0))
    assert noise.shape == (4, *deltas.shape[1:])
    assert torch.allclose(noise.flatten(1).norm(dim=1), deltas.flatten(1).norm(dim=1).mean().expand(4), rtol=1e-5)
    linf = same_norm_noise(deltas, "linf", 2, generator(0))
    assert torch.allclose(linf.abs(), deltas.flatten(1).abs().amax(1).mean().expand_as(linf))
    with pytest.raises(ValueError):
        same_norm_noise(deltas, "l1", 1)
    # one prediction of noise scores every target: Σ_t hits = images not predicted as their label
    pred = universal_shift_pred(model, x, noise, torch.tensor([[0, 0]]))                    # [1, D, N]
    T = 3
    hit, keep = attack_success_outcomes(pred[:, :, None].expand(-1, -1, T, -1), torch.arange(T).view(1, 1, T, 1), labels)
    assert torch.equal(hit.sum(2), pred != labels) and (keep.sum(2) == T - 1).all()
    k = kept_norm(torch.zeros(2, *x.shape[1:]), deltas)                                     # black images: δ>0 only
    pos = deltas.clamp(0, 1).flatten(1).norm(dim=1) / deltas.flatten(1).norm(dim=1)
    assert torch.allclose(k, pos[:, None].expand(-1, 2), atol=1e-6) and (k <= 1 + 1e-6).all()
