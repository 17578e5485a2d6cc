"""The errors a user can see, each with the exit code the CLI returns for it."""


class NNTrainError(Exception):
    """Base of every error nntrain reports to the user without a traceback."""

    exit_code = 1


class ConfigError(NNTrainError):
    """A bad command line or config: fix the file or the flags."""

    exit_code = 2


class DataError(NNTrainError):
    """Input data that cannot be used as it is: a missing column, a bad cell."""

    exit_code = 3


class DivergenceError(NNTrainError):
    """Training produced NaN, Inf or an exploding loss, at `epoch` and `step` when known."""

    exit_code = 4

    def __init__(self, message: str, epoch: int | None = None, step: int | None = None):
        super().__init__(message)
        self.epoch, self.step = epoch, step


class CheckpointError(NNTrainError):
    """A checkpoint that is missing, damaged, unsafe or does not fit the model."""

    exit_code = 5


class Interrupted(NNTrainError):
    """Training stopped by SIGINT (130) or SIGTERM (143) after saving."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code
