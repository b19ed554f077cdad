"""Attack registry: name → function. Every attack works in [0,1] pixel space."""
from .core import PGDResult, grouped_targeted_pgd
from .pgd import targeted_pgd
from .universal import universal_pgd

ATTACKS = {"pgd": targeted_pgd, "universal": universal_pgd}

__all__ = ["ATTACKS", "PGDResult", "grouped_targeted_pgd", "targeted_pgd", "universal_pgd"]
