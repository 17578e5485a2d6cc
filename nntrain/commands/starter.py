"""`nntrain init`: a commented starter config, filled in from a CSV file or an image folder when given one."""

import json
import sys
from pathlib import Path

import pandas as pd

from nntrain.commands.display import Display
from nntrain.data.images import class_folders, first_size
from nntrain.data.tables import read_csv
from nntrain.errors import ConfigError

TASKS = ("classification", "regression", "images")
TARGET_NAMES = ("target", "label", "labels", "class", "y", "outcome", "species")
MAX_CLASSES = 20        # an integer target with at most this many values is taken as classes
LARGEST_SIDE = 64       # larger images are resized: a NumPy CNN on big images is slow
SAMPLE_ROWS = 10_000


def init(task: str | None, data: str | None, target: str | None, output: str | None, force: bool,
         display: Display) -> None:
    if task is not None and task not in TASKS:
        raise ConfigError(f"--task: expected one of {', '.join(TASKS)}, got {task!r}")
    if data is not None and Path(data).is_dir():
        if task not in (None, "images"):
            raise ConfigError(f"--data: {data} is a folder (images), but --task is {task}")
        text, facts = _images_config(data)
    elif data is not None:
        if task == "images":
            raise ConfigError(f"--task images needs --data to be a folder with one subfolder per class; {data} "
                              "is not a folder")
        text, facts = _table_config(data, task, target)
    else:
        text, facts = _template(task or "classification"), "a template: replace the data paths and target"
    _write(text, output, force)
    display.note(f"wrote {output or 'standard output'}: {facts}")
    if output:
        display.note(f"next: nntrain check {output}  then  nntrain fit {output}")


def _write(text: str, output: str | None, force: bool) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    path = Path(output)
    if path.exists() and not force:
        raise ConfigError(f"-o: {output} already exists; choose another name or pass --force to replace it")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"-o: cannot write {output}: {exc.strerror or exc}") from None


def _table_config(path: str, task: str | None, target: str | None) -> tuple[str, str]:
    frame = read_csv(path, key="--data").head(SAMPLE_ROWS)
    if target is None:
        target = _guess_target(frame)
    elif target not in frame.columns:
        raise ConfigError(f"--target: {path} has no column {target!r}; columns: {', '.join(map(str, frame.columns))}")
    task = task or _guess_task(frame[target])
    features = [column for column in frame.columns if column != target]
    identifiers = [column for column in features if _looks_like_id(frame[column])]
    features = [column for column in features if column not in identifiers]
    categorical = [column for column in features if not pd.api.types.is_numeric_dtype(frame[column])]
    missing = [column for column in features if frame[column].isna().any()]
    classes = frame[target].dropna().nunique() if task == "classification" else None
    steps = []
    if identifiers:
        steps.append(f"    - {{type: drop, columns: {_flow(identifiers)}}}   # identifiers: unique per row, "
                     "nothing to learn from")
    steps.append("    - {type: clean, missing: median}   # fill missing numbers with the median, "
                 "text with the most common value" if missing else
                 "    # - {type: clean, missing: median}   # no missing values in the first rows; add if yours have some")
    steps.append("    - {type: dedupe}                   # drop exact duplicate rows")
    if categorical:
        steps.append(f"    - {{type: encode}}                   # one-hot encode the text columns: "
                     f"{', '.join(map(str, categorical[:6]))}{' ...' if len(categorical) > 6 else ''}")
    steps.append("    - {type: normalize, method: zscore}  # scale every feature to mean 0, deviation 1")
    what = (f"{classes} classes" if task == "classification" else "a number") + f" in column {target!r}"
    facts = f"{len(features)} features, target {target!r} ({task}" + \
        (f", {classes} classes)" if classes else ")")
    text = _HEADER.format(what=f"Predicts {what} of {path}") + _TABLE.format(
        train=_flow(path), target=_flow(target), steps="\n".join(steps),
        loss="cross_entropy" if task == "classification" else "mse",
        loss_note="softmax cross-entropy over the classes" if task == "classification" else "mean squared error",
        features=len(features)) + _TRAINING
    return text, facts


def _images_config(path: str) -> tuple[str, str]:
    folders = class_folders(Path(path), key="--data")
    height, width = first_size([file for files in folders.values() for file in files])
    size, resized = [height, width], ""
    if max(height, width) > LARGEST_SIDE:
        scale = LARGEST_SIDE / max(height, width)
        size = [max(1, round(height * scale)), max(1, round(width * scale))]
        resized = f"   # the images are {height}x{width}; smaller trains much faster"
    color = "grayscale" if _is_gray(folders) else "rgb"
    pools = 2 if min(size) >= 8 else 1
    layers = ["    - {type: conv2d, filters: 16, kernel: 3, padding: same, activation: relu}",
              "    - {type: maxpool2d, size: 2}",
              "    - {type: conv2d, filters: 32, kernel: 3, padding: same, activation: relu}"]
    layers += ["    - {type: maxpool2d, size: 2}"] * (pools - 1)
    count = sum(map(len, folders.values()))
    text = _HEADER.format(what=f"Classifies the images of {path} into {len(folders)} classes (one per subfolder)") + \
        _IMAGES.format(train=_flow(path), color=color, size=_flow(size), resized=resized,
                       layers="\n".join(layers)) + _TRAINING
    return text, f"{count} images in {len(folders)} classes, {height}x{width} {color}"


def _template(task: str) -> str:
    if task == "images":
        return _HEADER.format(what="Classifies images: edit data.train to point at your folder") + _IMAGES.format(
            train='"data/images"   # a folder with one subfolder of images per class', color="rgb",
            size="[32, 32]", resized="", layers="\n".join([
                "    - {type: conv2d, filters: 16, kernel: 3, padding: same, activation: relu}",
                "    - {type: maxpool2d, size: 2}",
                "    - {type: conv2d, filters: 32, kernel: 3, padding: same, activation: relu}",
                "    - {type: maxpool2d, size: 2}"])) + _TRAINING
    classification = task == "classification"
    return _HEADER.format(what="Edit data.train and data.target to point at your CSV") + _TABLE.format(
        train='"data/train.csv"   # your CSV file', target='"label"   # the column to predict',
        steps="\n".join(["    - {type: clean, missing: median}", "    - {type: dedupe}",
                         "    - {type: encode}", "    - {type: normalize, method: zscore}"]),
        loss="cross_entropy" if classification else "mse",
        loss_note="softmax cross-entropy over the classes" if classification else "mean squared error",
        features="your") + _TRAINING


def _guess_target(frame: pd.DataFrame) -> str:
    named = [column for column in frame.columns if str(column).strip().lower() in TARGET_NAMES]
    return named[0] if named else frame.columns[-1]


def _guess_task(column: pd.Series) -> str:
    values = column.dropna()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "classification"
    whole = pd.api.types.is_integer_dtype(values) or bool((values == values.round()).all())
    return "classification" if whole and values.nunique() <= MAX_CLASSES else "regression"


def _looks_like_id(column: pd.Series) -> bool:
    """A column named like an id, or integers/text that differ on every row."""
    if str(column.name).strip().lower() in ("id", "index", "uuid", "row", "row_id"):
        return True
    distinct = column.nunique() == len(column) > 20
    return distinct and (pd.api.types.is_integer_dtype(column) or not pd.api.types.is_numeric_dtype(column))


def _is_gray(folders: dict[str, list[Path]]) -> bool:
    from PIL import Image

    for files in folders.values():
        for path in files[:1]:
            try:
                with Image.open(path) as image:
                    return image.mode in ("1", "L", "LA", "I", "I;16", "F")
            except Exception:  # unreadable files are reported by fit
                continue
    return False


def _flow(value) -> str:
    """A value as YAML flow text (JSON is valid YAML and quotes what needs quoting)."""
    return json.dumps(value, ensure_ascii=False)


_HEADER = """\
# nntrain config written by `nntrain init`. {what}.
# Check it with `nntrain check FILE`, train with `nntrain fit FILE`.
# Every key, with its default: the README's config reference, or `nntrain schema` for editors.
seed: 0                      # same seed, same result
"""

_TABLE = """\
data:
  train: {train}
  target: {target}
  split: {{validation: 0.2, test: 0.1}}   # held-out fractions, stratified by class
  pipeline:                  # fitted on the training rows only, replayed by eval and predict
{steps}
model:
  layers:                    # hidden layers for {features} features; the output layer is added from the task
    - {{type: dense, units: 64, activation: relu}}
    - {{type: dropout, rate: 0.1}}
    - {{type: dense, units: 32, activation: relu}}
loss: {loss}          # {loss_note}
training:
  epochs: 200                # at most
  batch_size: 32
  stopping:
    - {{type: plateau, monitor: val_loss, patience: 15}}   # stop when validation loss stops improving
"""

_IMAGES = """\
data:
  train: {train}
  image: {{color: {color}, size: {size}}}{resized}
  split: {{validation: 0.15, test: 0.15}}   # held-out fractions, stratified by class
  augment: {{shift: 1}}        # random shifts of up to 1 pixel while training
model:
  layers:                    # the output layer (one unit per class) is added automatically
{layers}
    - {{type: flatten}}
    - {{type: dropout, rate: 0.3}}
    - {{type: dense, units: 64, activation: relu}}
loss: cross_entropy
training:
  epochs: 40                 # at most
  batch_size: 32
  stopping:
    - {{type: plateau, monitor: val_loss, patience: 8}}   # stop when validation loss stops improving
"""

_TRAINING = """\
optimizer: {type: adam, lr: 0.001}   # if the loss jumps around, lower lr; if it creeps, raise it
# output: {dir: runs/my-run}         # default: runs/<config file name>-<date>-<time>
"""
