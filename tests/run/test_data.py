"""Loading a run's data: the split follows `data.split.seed` when it is set, the run's seed otherwise."""

import numpy as np

from nntrain.config.loading import validate_config
from nntrain.run.data import load_training_data


def _validation_rows(blobs_csv, **seeds) -> np.ndarray:
    split = {"seed": seeds["split"]} if "split" in seeds else {}
    config = validate_config({"seed": seeds["seed"], "data": {"train": str(blobs_csv), "target": "label",
                                                             "split": split}}, "test")
    return load_training_data(config).x["validation"]


def test_the_split_seed_fixes_the_split_whatever_the_run_seed(blobs_csv):
    fixed = [_validation_rows(blobs_csv, seed=seed, split=7) for seed in (1, 2)]
    assert np.array_equal(*fixed)
    assert np.array_equal(fixed[0], _validation_rows(blobs_csv, seed=7))  # the same rows as seed 7 alone splits
    assert not np.array_equal(_validation_rows(blobs_csv, seed=1), _validation_rows(blobs_csv, seed=2))
