"""Independent random streams derived from the config's seed, one per purpose.

Each purpose has its own generator so that, for example, adding a dropout layer
does not change how rows are split or shuffled.
"""

import numpy as np

_STREAMS = {"split": 1, "init": 2, "shuffle": 3, "dropout": 4, "augment": 5}


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    """The generator for `purpose` ('split', 'init', 'shuffle', 'dropout' or 'augment')."""
    return np.random.default_rng([seed, _STREAMS[purpose]])
