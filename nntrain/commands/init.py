"""`nntrain init`: a commented starter config, filled in from a CSV file or an image folder when given one."""

import json
import shlex
import sys
import textwrap
import warnings
from pathlib import Path

import pandas as pd

from nntrain.commands.display import Display
from nntrain.data.images import class_folders, ignored_files_note, survey
from nntrain.data.clean import DEFAULT_MARKERS
from nntrain.data.dedupe import duplicated
from nntrain.data.report import profile_columns
from nntrain.data.readers import is_image_folder, read_table
from nntrain.data.targets import infer_task
from nntrain.data.text import WORD
from nntrain.errors import ConfigError, DataError
from nntrain.words import counted

TASKS = ("classification", "regression", "images")
TARGET_NAMES = ("target", "label", "labels", "class", "y", "outcome", "species")
ID_NAMES = ("id", "index", "uuid", "row", "row_id")
MAX_CATEGORIES = 50     # text columns with more distinct values are left out (one-hot would explode)...
TEXT_WORDS = 3          # ... unless their values average this many words: free text, for the text step
MIN_ROWS = 20
LARGEST_SIDE = 64       # larger images are resized: a NumPy CNN on big images is slow
LINE = 120              # longest line of a written config: long lists are wrapped or summarised
SHOWN = 3               # names listed in a comment before "... N more"


def init(task: str | None, data: str | None, target: str | None, output: str | None, force: bool,
         display: Display, sweep: bool = False) -> None:
    if task is not None and task not in TASKS:
        raise ConfigError(f"--task: expected one of {', '.join(TASKS)}, got {task!r}")
    if sweep and (data is None or output is None):
        raise ConfigError("--sweep: needs --data (the space suits the data) and -o NAME.yaml (the sweep file, "
                          "NAME.sweep.yaml, goes beside it)")
    if data == "-":
        raise ConfigError("--data: init reads the data to fill in the config, and fit reads it again; "
                          "save it to a file and pass the path")
    if data is not None and is_image_folder(data):
        if task not in (None, "images"):
            raise ConfigError(f"--data: {data} is a folder (images), but --task is {task}")
        if target is not None:
            raise ConfigError("--target: image folders take their classes from the subfolder names")
        text, facts, rows = _images_config(data)
    elif data is not None:
        if task == "images":
            raise ConfigError(f"--task images needs --data to be a folder with one subfolder per class; {data} "
                              "is not a folder")
        text, facts, rows = _table_config(data, task, target)
    else:
        if target is not None:
            raise ConfigError("--target: needs --data, the CSV to find the column in")
        text, facts = _template(task or "classification"), "a template: replace the data paths and target"
    sweep_file = _sweep_path(output) if sweep else None
    if sweep_file and Path(sweep_file).exists() and not force:
        raise ConfigError(f"--sweep: {sweep_file} already exists; choose another -o or pass --force to replace it")
    _write(text, output, force)
    display.note(f"wrote {output or 'standard output'}: {facts}")
    if sweep_file:
        from nntrain.sweep.file import sweep_name
        from nntrain.sweep.starter import starter_sweep

        _write(starter_sweep(text, output, sweep_file, rows), sweep_file, force=True)
        display.note(f"wrote {sweep_file}: a search over the learning rate, layers, dropout, weight decay and batch "
                     f"size\nnext: nntrain sweep {shlex.quote(sweep_file)}  then  nntrain fit "
                     f"{shlex.quote(f'sweeps/{sweep_name(sweep_file)}/best.yaml')}")
    elif output:
        display.note(f"next: nntrain check {shlex.quote(output)}  then  nntrain fit {shlex.quote(output)}")


def _sweep_path(output: str) -> str:
    """NAME.sweep.yaml beside NAME.yaml."""
    path = Path(output)
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    return str(path.with_name(f"{stem}.sweep.yaml"))


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


def _table_config(path: str, task: str | None, target: str | None) -> tuple[str, str, int]:
    frame = read_table(path, key="--data")
    if len(frame.columns) < 2:
        raise DataError(f"{path} has a single column ({frame.columns[0]!r}), so nothing to predict it from; "
                        "if its values are separated by something other than commas, convert it to CSV")
    if target is None:
        target = _guess_target(frame)
    elif target not in frame.columns:
        raise ConfigError(f"--target: {path} has no column {target!r}; columns: {', '.join(map(str, frame.columns))}")
    labels = frame[target].dropna()
    if len(labels) < MIN_ROWS:
        raise DataError(f"{path} has {counted(len(labels), 'row')} with a {target!r} value; at least {MIN_ROWS} are "
                        "needed to split off validation and test rows")
    task = task or infer_task(frame, [target], "auto", None)[0]
    if task == "classification" and labels.nunique() < 2:
        raise DataError(f"column {target!r} of {path} holds a single value ({labels.iloc[0]!r}); a classifier "
                        "needs two classes or more (pass --target to predict another column)")
    profiles = {p["column"]: p for p in profile_columns(frame.drop(columns=[target]), DEFAULT_MARKERS)}
    free_text = [name for name in profiles if _free_text(frame[name], profiles[name])]
    unused = {name: reason for name in profiles
              if name not in free_text and (reason := _unusable(frame[name], profiles[name], len(frame)))}
    features = [name for name in profiles if name not in unused]
    if not features:
        raise DataError(f"{path}: no column is usable as a feature ({_listed(unused)})")
    steps = _steps(profiles, unused, features, duplicated(frame, features + [target]).mean(), free_text)
    classes = labels.nunique() if task == "classification" else None
    what = (f"{classes} classes" if classes else "a number") + f" in column {target!r}"
    facts = f"{counted(len(features), 'feature')}, target {target!r} ({task}" + (f", {classes} classes)" if classes else ")")
    text = _compose(f"Predicts {what} of {path}", _TABLE.format(
        train=_flow(path), target=_flow(target), steps="\n".join(steps), features=counted(len(features), "feature"),
        first=_EMBEDDING if free_text else "", **_task_fields(bool(classes))))
    return text, facts, len(labels)


def _free_text(column: pd.Series, profile: dict) -> bool:
    """Many distinct values of a few words or more, that are not dates (the dates step reads those)."""
    if profile["kind"] != "categorical" or profile["distinct"] <= MAX_CATEGORIES:
        return False
    present = column.dropna().astype(str)
    sample = present.sample(min(len(present), 1000), random_state=0)
    if sample.str.count(WORD).mean() < TEXT_WORDS:
        return False
    with warnings.catch_warnings():  # pandas warns when it guesses formats value by value
        warnings.simplefilter("ignore")
        dates = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)
    return dates.notna().mean() < 0.95


def _steps(profiles: dict[str, dict], unused: dict[str, str], features: list[str], repeated: float,
           free_text: list[str] = ()) -> list[str]:
    """The pipeline's lines: drop what cannot be a feature, dates to numbers, clean gaps and text in numbers (and
    dates that do not parse), dedupe, tokenise free text, then normalize before encode (so one-hot columns stay 0/1)."""
    dates = [name for name in features if profiles[name]["kind"] == "date"]
    gaps = [name for name in features if profiles[name]["missing"] or profiles[name].get("text_values")
            or profiles[name].get("unparsable")]
    text = [name for name in features if profiles[name].get("text_values")]
    categorical = [name for name in features if profiles[name]["kind"] == "categorical" and name not in free_text]
    lines = []
    if unused:
        lines += _commented(_flow_lines("    - {type: drop, columns: ", list(unused), "}"), _reasons(unused))
    if dates:
        lines += _commented(_flow_lines("    - {type: dates, columns: ", dates, "}"),
                            f"dates as numbers (year; month, weekday, day of year... as sin/cos): {_some(dates)}")
    if gaps:
        lines += _commented(["    - {type: clean, missing: median}"],
                            f"{counted(len(gaps), 'column')} {'has' if len(gaps) == 1 else 'have'} gaps: numbers get "
                            "the median, text the most common value")
        lines += [f"    #   column {name!r} has {counted(profiles[name]['text_values'], 'text value')} that will be "
                  "treated as missing" for name in text[:SHOWN]]
        if text[SHOWN:]:
            lines.append(f"    #   ... and {counted(len(text) - SHOWN, 'more column')} with text values")
        lines += [f"    #   date column {name!r} has {counted(profiles[name]['unparsable'], 'value')} that "
                  f"{'is no date' if profiles[name]['unparsable'] == 1 else 'are no dates'}, treated as missing"
                  for name in dates if profiles[name]["unparsable"]]
    else:
        lines.append("    # - {type: clean, missing: median}   # no missing values now; add this if new data has gaps")
    lines += _commented(["    - {type: dedupe}"], "drop exact duplicate rows") if repeated < 0.5 else \
        [f"    # - {{type: dedupe}}   # off: {repeated:.0%} of the rows repeat another, dedupe would drop them"]
    if free_text:
        lines += _commented(_flow_lines("    - {type: text, columns: ", list(free_text), "}"),
                            f"free text to word ids for the embedding_bag layer: {_some(free_text)}")
    lines += _commented(["    - {type: normalize, method: zscore}"], "scale every number to mean 0, deviation 1")
    if categorical:
        lines += _commented(["    - {type: encode}"], f"one-hot encode the text columns: {_some(categorical)}")
    return lines


def _commented(step: list[str], comment: str | list[str]) -> list[str]:
    """A step with its comment after it if that fits on the line, else above it, a line per part (wrapped)."""
    parts = [comment] if isinstance(comment, str) else comment
    inline = f"{step[0]:<40}# {'; '.join(parts)}"  # the comments of short steps line up
    if len(step) == 1 and len(inline) <= LINE:
        return [inline]
    return [line for part in parts
            for line in textwrap.wrap(part, LINE, initial_indent="    # ", subsequent_indent="    #   ")] + step


def _flow_lines(prefix: str, values: list, suffix: str) -> list[str]:
    """`prefix`, the values as a YAML flow list, and `suffix`, wrapped onto indented lines within LINE."""
    items = [_flow(value) for value in values]
    items = [item + "," for item in items[:-1]] + [items[-1] + "]" + suffix]
    lines = [prefix + "[" + items[0]]
    for item in items[1:]:
        if len(lines[-1]) + 1 + len(item) > LINE:
            lines.append(" " * 8 + item)  # deeper than the list item: a continuation of the flow list
        else:
            lines[-1] += " " + item
    return lines


def _some(names: list) -> str:
    """The first few names, and how many more."""
    shown = ", ".join(map(str, names[:SHOWN]))
    return shown + (f" ... {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _unusable(column: pd.Series, profile: dict, rows: int) -> str | None:
    """Why a column should not be a feature: empty, constant, an identifier or free text."""
    if profile["missing"] == rows:
        return "empty"
    if profile.get("constant"):
        return "one value throughout"
    name = str(column.name).strip().lower()
    if name in ID_NAMES or (pd.api.types.is_integer_dtype(column) and column.is_unique
                            and column.is_monotonic_increasing and rows > 20):
        return "an identifier"
    if profile["kind"] == "categorical" and profile["distinct"] > MAX_CATEGORIES:
        return f"text with over {MAX_CATEGORIES} distinct values"
    return None


def _reasons(reasons: dict) -> list[str]:
    """Why columns are left out, a part per reason: "an identifier: id", "empty: a, b, c ... 4 more"."""
    groups: dict[str, list] = {}
    for name, reason in reasons.items():
        groups.setdefault(reason, []).append(name)
    return [f"{reason}: {_some(names)}" for reason, names in groups.items()]


def _listed(reasons: dict) -> str:
    return "; ".join(_reasons(reasons))


def _images_config(path: str) -> tuple[str, str, int]:
    root = Path(path)
    folders = class_folders(root, key="--data")
    if len(folders) < 2:
        raise DataError(f"{path} has a single class folder ({next(iter(folders))}); a classifier needs two or more")
    sampled = survey(folders, root)
    height, width = sampled.size
    size, resized = [height, width], ""
    if max(height, width) > LARGEST_SIDE:
        scale = LARGEST_SIDE / max(height, width)
        size = [max(1, round(height * scale)), max(1, round(width * scale))]
        resized = f"   # the images are {height}x{width}; smaller trains much faster"
    notes = [note for note in (sampled.size_note(root), sampled.mode_note(root), ignored_files_note(root)) if note]
    count = sum(map(len, folders.values()))
    text = _compose(f"Classifies the images of {path} into {len(folders)} classes (one per subfolder)",
                    _IMAGES.format(train=_flow(path), color=sampled.mode, size=_flow(size), resized=resized,
                                   notes="".join(f"  # {note}\n" for note in notes), augment=_augment(min(size)),
                                   layers=_conv_layers(min(size))))
    facts = f"{count} images in {len(folders)} classes, {height}x{width} {sampled.mode}"
    return text, "\n".join([facts, *notes]), count


def _augment(side: int) -> str:
    """A one-pixel shift, within the quarter of the side that `fit` accepts without a note."""
    if side < 4:
        return "augment: {shift: 0}        # no shifts: the images are too small to move"
    return "augment: {shift: 1}        # random shifts of up to 1 pixel while training"


def _conv_layers(side: int) -> str:
    """Two 3x3 convolutions, each followed by 2x2 max-pooling while the image stays 2 pixels across."""
    layers = []
    for filters in (16, 32):
        layers.append(f"    - {{type: conv2d, filters: {filters}, kernel: 3, padding: same, activation: relu}}")
        if side >= 4:
            layers.append("    - {type: maxpool2d, size: 2}")
            side //= 2
    return "\n".join(layers)


def _template(task: str) -> str:
    if task == "images":
        return _compose("Classifies images: edit data.train to point at your folder", _IMAGES.format(
            train='"data/images"   # a folder with one subfolder of images per class', color="rgb",
            size="[32, 32]", resized="", notes="", augment=_augment(32), layers=_conv_layers(32)))
    return _compose("Edit data.train and data.target to point at your CSV", _TABLE.format(
        train='"data/train.csv"   # your CSV file', target='"label"   # the column to predict',
        steps="\n".join(["    - {type: clean, missing: median}", "    - {type: dedupe}",
                         "    - {type: encode}", "    - {type: normalize, method: zscore}"]),
        features="your features", first="", **_task_fields(task == "classification")))


def _compose(what: str, body: str) -> str:
    return _HEADER.format(what=what) + body + _TRAINING


def _task_fields(classification: bool) -> dict:
    """The loss and comments that differ between classification and regression."""
    if classification:
        return {"loss": "cross_entropy", "loss_note": "softmax cross-entropy over the classes",
                "stratified": ", stratified by class"}
    return {"loss": "mse", "loss_note": "mean squared error", "stratified": ""}


def _guess_target(frame: pd.DataFrame) -> str:
    named = [column for column in frame.columns if str(column).strip().lower() in TARGET_NAMES]
    return named[0] if named else frame.columns[-1]


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
  split: {{validation: 0.2, test: 0.1}}   # held-out fractions{stratified}
  pipeline:                  # fitted on the training rows only, replayed by eval and predict
{steps}
model:
  layers:                    # hidden layers for {features}; the output layer is added from the task
{first}    - {{type: dense, units: 64, activation: relu}}
    - {{type: dropout, rate: 0.1}}
    - {{type: dense, units: 32, activation: relu}}
loss: {loss}          # {loss_note}
training:
  epochs: 200                # at most
  batch_size: 32
  stopping:
    - {{type: plateau, monitor: val_loss, patience: 15}}   # stop when validation loss stops improving
"""

_EMBEDDING = "    - {type: embedding_bag, dim: 64}   # mean of the text's word embeddings; other features pass through\n"

_IMAGES = """\
data:
  train: {train}
  image: {{color: {color}, size: {size}}}{resized}
{notes}  split: {{validation: 0.15, test: 0.15}}   # held-out fractions, stratified by class
  {augment}
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
