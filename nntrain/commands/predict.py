"""`nntrain predict`: predictions for new rows as CSV on stdout (or a file), in the input's row order.

Columns: `prediction` (class name or value; `prediction_<target>` per column for
several targets) and, with --proba, `proba_<class>` per class. For image models
a first `path` column names each readable image; with --on-error skip a first
`line` column gives each predicted row's line in the input file.
"""

import os
import sys

import numpy as np
import pandas as pd

from nntrain.commands.display import Display
from nntrain.commands.saved_run import open_run
from nntrain.data.image_folders import image_paths, prepare_unlabelled_images
from nntrain.data.tables import read_csv, write_csv
from nntrain.data.tabular import prepare_inference
from nntrain.data.targets import decode_regression
from nntrain.errors import ConfigError, DataError
from nntrain.nn.losses import output_transform
from nntrain.train.metrics import predicted_classes


def predict(run: str, data: str, display: Display, output: str | None = None, proba: bool = False,
            on_error: str = "error") -> None:
    saved = open_run(run)
    if saved.images:
        x, paths, notes = prepare_unlabelled_images(image_paths(data), saved.data, saved.model.dtype)
    else:
        frame = read_csv(data, key="DATA", narrow=saved.data.get("float32_inputs", []), keep_empty=True)
        source = "standard input" if data == "-" else data
        x, _, notes, lines = prepare_inference(frame, saved.data, source=source, with_target=False,
                                               dtype=saved.model.dtype, skip_bad=on_error == "skip")
        if len(x) == 0:  # a pipeline should not mistake an empty result for predictions
            raise DataError(f"{source}: every row was skipped, nothing to predict; "
                            + next(note for note in notes if note.startswith("skipped")))
    for note in notes:
        if note.startswith("skipped"):
            display.warn(note)
        else:
            display.note(note)
    outputs = saved.model.predict(x)
    table = prediction_table(outputs, saved.target, saved.loss.output_activation, proba)
    if saved.images:
        table.insert(0, "path", [str(p) for p in paths])
    elif on_error == "skip":
        table.insert(0, "line", lines)
    _write(table, output)
    display.detail(f"predicted {len(table)} rows with {saved.path}")


def prediction_table(outputs: np.ndarray, target: dict, activation: str, proba: bool) -> pd.DataFrame:
    columns = target["columns"]
    if target["task"] == "classification":
        classes = np.array(target["classes"], dtype=object)
        table = pd.DataFrame({"prediction": classes[predicted_classes(outputs)]})
        if proba:
            probabilities = output_transform(activation, outputs)
            if probabilities.shape[1] == 1:
                probabilities = np.hstack([1 - probabilities, probabilities])
            for index, name in enumerate(target["classes"]):
                table[f"proba_{name}"] = probabilities[:, index]
        return table
    if target["task"] == "multilabel":
        table = pd.DataFrame({f"prediction_{name}": (outputs[:, i] > 0).astype(int) for i, name in enumerate(columns)})
        if proba:
            probabilities = output_transform(activation, outputs)
            for index, name in enumerate(columns):
                table[f"proba_{name}"] = probabilities[:, index]
        return table
    values = decode_regression(outputs, target)
    if len(columns) == 1:
        return pd.DataFrame({"prediction": values[:, 0]})
    return pd.DataFrame({f"prediction_{name}": values[:, i] for i, name in enumerate(columns)})


def _write(table: pd.DataFrame, output: str | None) -> None:
    columns = {name: table[name].to_numpy() for name in table.columns}
    if output is None:
        sys.stdout.flush()
        write_csv(sys.stdout.buffer, columns)
        sys.stdout.buffer.flush()
        return
    temporary = f"{output}.tmp-{os.getpid()}"
    try:
        with open(temporary, "wb") as handle:
            write_csv(handle, columns)
        os.replace(temporary, output)
    except OSError as exc:
        raise ConfigError(f"--output: cannot write {output}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
