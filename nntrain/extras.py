"""Optional extras: a command that needs one imports it here, or stops with the line that installs it."""

import importlib

from nntrain.errors import ConfigError


def install_line(extra: str) -> str:
    """The command that installs an extra, as the error shows it on a line of its own."""
    return f"pip install 'nntrain[{extra}]'"


def require(module: str, command: str, package: str, extra: str):
    """Import `module`, or raise the ConfigError (exit 2) saying that `command` needs `package` and how to get it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{command} needs {package}, an optional extra; install it with:\n"
                          f"{install_line(extra)}") from None
