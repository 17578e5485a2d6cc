"""The leak count from files of row hashes: the in-memory count, held part by part within a budget."""

import numpy as np
import pandas as pd

from nntrain.data import row_hashes
from nntrain.data.report import SPLIT_PAIRS, leak_counts


def test_shared_rows_in_parts_equal_the_in_memory_leak_counts(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    pool = rng.integers(0, 50, (400, 2)).astype(np.float32)  # few distinct rows: many repeats across splits
    x = {"train": pool[rng.integers(0, 400, 3000)], "validation": pool[rng.integers(0, 400, 700)],
         "test": pool[rng.integers(0, 400, 300)]}
    files = {}
    for name, values in x.items():
        files[name] = tmp_path / f"{name}.hashes"
        files[name].write_bytes(row_hashes.row_hashes(pd.DataFrame(values)).tobytes())
    monkeypatch.setattr(row_hashes, "HELD_HASHES", 64)  # 16 parts
    monkeypatch.setattr(row_hashes, "READ_HASHES", 100)
    expected = leak_counts(x)
    assert row_hashes.shared_rows(files, list(SPLIT_PAIRS)) == expected
    assert expected["train-validation"] > 0 and expected["validation-test"] > 0
