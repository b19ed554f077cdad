"""uap: a reproducibility pipeline for research on universal adversarial perturbations."""
__version__ = "0.1.0"
