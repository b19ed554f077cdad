"""S3: joint universal adversarial perturbations (JUAP, 002_0c35d062ce311dce.txt).

generators.py  ResNet- and U-Net-style generators, eq. 6 scaling
losses.py      classifier losses (eqs. 7–9), interpretation shift (eq. 13), joint objective (eq. 16)
juap.py        training a generator into one universal perturbation (JUAP; λ = 0 gives the generative UAP)
jap.py         the image-dependent variant (eq. 17): one generator per image, trained together
evaluate.py    fooling ratio, ℓ1 discrepancy and IoU per interpreter (metrics from uap.metrics)
experiments.py the Tables II–VI runs; commands.py their CLI commands

Nothing is re-exported here: `python -m uap` registers commands.py without importing torch.
"""
