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


# Exit status of a command stopped by SIGTERM at a safe point with its checkpoint saved (a SLURM time
# limit): neither success (0), an expected failure (2) nor a crash (1); re-running the command resumes.
EXIT_TERMINATED = 3


class Terminated(UapError):
    """The process got SIGTERM and stopped at a safe point after saving its checkpoint; the message
    names the checkpoint. The CLI prints it as `stopped: …` and exits with EXIT_TERMINATED."""
