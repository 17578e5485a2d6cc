"""The chunk summaries streaming fits merge: exact moments, exact counts, a seeded sample, hash sets."""

import numpy as np
import pandas as pd

from nntrain.data.row_hashes import HashSet
from nntrain.data.summaries import Counts, Moments, Reservoir


def test_moments_merged_over_chunks_equal_the_whole_columns():
    values = np.random.default_rng(0).normal(1e4, 3.0, 10_001)  # a large mean: the naive sum of squares fails
    values[::97] = np.nan
    moments = Moments()
    for chunk in np.array_split(values, 13):
        moments.add(chunk)
    present = values[~np.isnan(values)]
    assert moments.count == len(present)
    assert moments.mean == np.float64(present.mean()) or abs(moments.mean - present.mean()) < 1e-11
    assert abs(moments.std - present.std()) < 1e-12 * present.std() * 100
    assert (moments.min, moments.max) == (present.min(), present.max())


def test_counts_mode_is_the_smallest_of_the_most_frequent():
    counts = Counts()
    counts.add(pd.Series(["b", "a", None, "b"]))
    counts.add(pd.Series(["a", "c"]))
    assert counts.counts.to_dict() == {"b": 2, "a": 2, "c": 1}
    assert counts.mode() == pd.Series(["b", "a", "b", "a", "c"]).mode().iloc[0] == "a"


def test_reservoir_is_exact_while_it_holds_every_value_and_close_after():
    values = np.random.default_rng(1).exponential(1.0, 5000)
    exact = Reservoir(np.random.default_rng(2), size=5000)
    small = Reservoir(np.random.default_rng(2), size=1000)
    for chunk in np.array_split(values, 7):
        exact.add(chunk)
        small.add(chunk)
    assert exact.quantile(0.5) == np.median(values)
    assert exact.quantile(0.25) == pd.Series(values).quantile(0.25)
    rank = (values < small.quantile(0.5)).mean()
    assert abs(rank - 0.5) < 3 / np.sqrt(1000)  # within three standard deviations of the rank


def test_hash_set_holds_what_was_added_across_levels():
    hashes = HashSet()
    added = np.random.default_rng(3).integers(0, 2**63, 5000, dtype=np.int64).astype(np.uint64)
    for chunk in np.array_split(added, 40):
        hashes.add(chunk)
    assert len(hashes) == len(np.unique(added))
    assert len(hashes.levels) <= 12
    assert hashes.contains(added).all()
    assert not hashes.contains(added + np.uint64(1)).any()
