"""Prepared training data: the arrays of each split and everything needed to prepare new rows alike."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class TrainingData:
    x: dict[str, np.ndarray]         # "train", "validation", "test" feature matrices
    y: dict[str, np.ndarray]         # matching targets
    test_rows: pd.DataFrame | None   # raw rows of the test split, re-evaluated by `nntrain eval RUN`
    state: dict                      # everything needed to prepare new rows the same way
    lines: dict[str, np.ndarray] = field(default_factory=dict)   # line numbers of each split's rows in its file
    notes: list[str] = field(default_factory=list)
    report: dict = field(default_factory=dict)
    test_file: Path | None = None    # or a CSV holding them (a prepared directory's), instead of test_rows
    fingerprint: str | None = None   # a digest of the arrays known without reading them (a prepared directory's)
