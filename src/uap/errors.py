"""Expected failures: exceptions whose message alone tells the user what is wrong and what to do.

Library code raises a `UapError` (or a subclass) for anything a user can cause and fix: a bad config
key, a missing or corrupt file, an unusable device. The message names the file or key. The CLI turns
these into one line on stderr and exit code 2; any other exception is an internal error and keeps
its traceback.
"""
from __future__ import annotations


class UapError(Exception):
    """An expected failure; its message names the file or config key at fault."""


class ArtifactError(UapError):
    """An artifact (safetensors + sidecar, CSV, checkpoint) is missing, corrupt or does not match."""


class DeviceError(UapError):
    """The configured compute device cannot be used."""


class NonFiniteError(UapError):
    """A NaN or infinity where a finite number is required (input, loss, weights, perturbation)."""
