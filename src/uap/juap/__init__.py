"""S3: joint universal adversarial perturbations (JUAP, 002_0c35d062ce311dce.txt).

generators.py  ResNet- and U-Net-style generators, eq. 6 scaling
losses.py      classifier losses (eqs. 7–9), interpretation shift (eq. 13), joint objective (eq. 16)
juap.py        training a generator into one universal perturbation (JUAP; λ = 0 gives the generative UAP)
jap.py         the image-dependent variant (eq. 17): one generator per image, trained together
evaluate.py    fooling ratio, ℓ1 discrepancy and IoU per interpreter (metrics from uap.metrics)
experiments.py the Tables II–VI runs; commands.py their CLI commands
"""
from .generators import GENERATORS, build_generator, scale_to_norm
from .juap import train_juap
from .losses import classifier_loss, interpretation_shift, joint_loss

__all__ = ["GENERATORS", "build_generator", "classifier_loss", "interpretation_shift", "joint_loss",
           "scale_to_norm", "train_juap"]
