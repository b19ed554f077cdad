"""Attack registry: name → function. Every attack works in [0,1] pixel space."""
from .core import PGDResult, grouped_targeted_pgd
from .deepfool_uap import deepfool_uap
from .interp_pgd import interpretation_fgm, interpretation_pgd
from .pgd import targeted_pgd
from .sgd_uap import classification_uap
from .singular import sv_uap
from .universal import universal_pgd
from .upi_grad import UPIResult, upi_grad
from .upi_pca import upi_pca

ATTACKS = {"pgd": targeted_pgd, "universal": universal_pgd, "sv_uap": sv_uap, "deepfool_uap": deepfool_uap,
           # S2: universal and per-image perturbations of interpretations, and the classification UAP
           "upi_grad": upi_grad, "upi_pca": upi_pca, "interp_pgd": interpretation_pgd,
           "interp_fgm": interpretation_fgm, "classification_uap": classification_uap}

__all__ = ["ATTACKS", "PGDResult", "UPIResult", "classification_uap", "interpretation_fgm", "interpretation_pgd",
           "upi_grad", "upi_pca", "deepfool_uap", "grouped_targeted_pgd", "sv_uap", "targeted_pgd", "universal_pgd"]
