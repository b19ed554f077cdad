"""Attack registry: name → function. Every attack works in [0,1] pixel space."""
from .core import PGDResult, grouped_targeted_pgd
from .deepfool_uap import deepfool_uap
from .pgd import targeted_pgd
from .singular import sv_uap
from .universal import universal_pgd

ATTACKS = {"pgd": targeted_pgd, "universal": universal_pgd, "sv_uap": sv_uap, "deepfool_uap": deepfool_uap}

__all__ = ["ATTACKS", "PGDResult", "deepfool_uap", "grouped_targeted_pgd", "sv_uap", "targeted_pgd", "universal_pgd"]
