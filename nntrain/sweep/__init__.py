"""`nntrain sweep`: hyperparameter search on Optuna, every trial an ordinary run trained through `nntrain.fit`.

The sweep file is read and its space checked without Optuna (`schema`, `file`, `space`); the
modules that search (`engines`, `study`, `trials`, `worker`, `plots`) get Optuna from
`require_optuna()`, so without the optional extra a sweep stops with how to install it.
"""

import logging

from nntrain.extras import install_line, require

INSTALL = install_line("sweep")


def require_optuna():
    """The optuna module, quiet (nntrain reports each trial itself), or the ConfigError saying how to get it."""
    optuna = require("optuna", "nntrain sweep", "Optuna", "sweep")
    optuna.logging.set_verbosity(logging.ERROR)
    return optuna
