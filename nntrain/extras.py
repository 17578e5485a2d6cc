"""Optional extras: a module that only some configs or commands need, imported when they need it.

`require` is the one way to get such a module, so every missing extra is the same ConfigError (exit 2)
naming what needs it and the exact `pip install` line that brings it.
"""

import importlib
from types import ModuleType

from nntrain.errors import ConfigError


def install_line(extra: str) -> str:
    return f"pip install 'nntrain[{extra}]'"


def require(module: str, needed_by: str, package: str, extra: str) -> ModuleType:
    """`module` imported, or the ConfigError saying that `needed_by` needs `package` and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{needed_by} needs {package}, an optional extra; install it with:\n"
                          f"{install_line(extra)}") from None
