"""Optional extras: a module only some features need, imported when used, or the error saying how to get it."""

import importlib
from types import ModuleType

from nntrain.errors import ConfigError


def install_line(extra: str) -> str:
    """The command that installs an extra, as the error shows it on a line of its own (easy to copy)."""
    return f"pip install 'nntrain[{extra}]'"


def require(module: str, extra: str, needed_by: str, package: str) -> ModuleType:
    """`module`, imported; without it, the ConfigError (exit 2) saying `needed_by` needs `package`, from `extra`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{needed_by} needs {package}, an optional extra; install it with:\n"
                          f"{install_line(extra)}") from None
