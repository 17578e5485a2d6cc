"""Training and inference data from image folders: classes from subfolder names, stratified splits,
per-channel statistics fitted on the training images and replayed at predict time."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from nntrain.data.augment import shift_note
from nntrain.data.image_cache import decoded_pixels
from nntrain.data.image_rows import ImageRows
from nntrain.data.images import (ImageSpec, class_folders, decoded_bytes, ignored_files_note, list_files, load_images,
                                 normalise, pixel_statistics, problems_note, refuse_bad, survey)
from nntrain.data.prepared import TrainingData
from nntrain.data.report import class_balance
from nntrain.data.split import SPLIT_NAMES, split_rows
from nntrain.errors import ConfigError, DataError
from nntrain.resources import refuse_if_too_big
from nntrain.words import counted


def prepare_image_training(roots: dict[str, Path], spec: ImageSpec, *, validation: float, test: float,
                           normalize: bool, on_bad: str, rng: np.random.Generator, dtype,
                           shift: int = 0, cache_root: Path | None = None, progress=None) -> TrainingData:
    """Images of `roots["train"]` (and explicit `roots["validation"]`/`["test"]` folders) as a TrainingData.

    With `spec.size` None, the most common size of a sample of the files is used (noted when sizes
    vary). `shift` is `data.augment.shift`, checked against the size before any image is decoded.
    The pixels come from the image cache in `cache_root` (see `data.image_cache`; None: decoded
    into memory), and each split is an `ImageRows` over them: the rows it takes, scaled per batch.
    `progress` shows the decoding (see `image_cache.decoded_pixels`).
    """
    files = class_folders(roots["train"])
    classes = sorted(files)
    if len(classes) < 2:
        raise DataError(f"{roots['train']} has a single class folder ({classes[0]}); classification needs at "
                        "least two, one subfolder per class")
    notes = [note for root in roots.values() if (note := ignored_files_note(root))]
    if spec.size:
        size = tuple(spec.size)
    else:
        sampled = survey(files, roots["train"])
        size = sampled.size
        if note := sampled.size_note(roots["train"]):
            notes.append(f"{note} (data.image.size sets it)")
    if note := shift_note(shift, size):
        notes.append(note)
    paths = [path for name in classes for path in files[name]]
    labels = np.repeat(np.arange(len(classes)), [len(files[name]) for name in classes])
    refuse_if_too_big(decoded_bytes(len(paths), size, spec.channels, np.uint8),
                      f"decoding {counted(len(paths), 'image')} at {size[0]}x{size[1]}x{spec.channels}",
                      "set a smaller data.image.size")
    problems: list = []
    read = len(paths)
    pixels, rows, labels, paths = _readable(roots["train"], paths, labels, spec, size, on_bad, problems, notes,
                                            cache_root, progress)
    unreadable = [name for index, name in enumerate(classes) if not np.any(labels == index)]
    if unreadable:
        raise DataError(f"no readable images in class folder {roots['train'] / unreadable[0]}")
    fractions = {"validation": 0.0 if "validation" in roots else validation, "test": 0.0 if "test" in roots else test}
    codes = split_rows(labels, fractions["validation"], fractions["test"], rng)
    parts = {name: (pixels, rows[codes == code], labels[codes == code], [p for p, c in zip(paths, codes) if c == code])
             for code, name in enumerate(SPLIT_NAMES)}
    for name in ("validation", "test"):
        if name in roots:
            folder_paths, folder_labels = labelled_files(roots[name], classes)
            parts[name] = _readable(roots[name], folder_paths, folder_labels, spec, size, on_bad, problems, notes,
                                    cache_root, progress)
    for name, fraction in (("train", 1), ("validation", validation), ("test", test)):
        if (fraction or name in roots) and len(parts[name][1]) == 0:
            raise DataError(f"the {name} split of {roots.get(name, roots['train'])} is empty; add images or set "
                            f"data.split.{name}: 0")
    statistics = pixel_statistics(*parts["train"][:2]) if normalize else (None, None)
    x = {name: ImageRows(part[0], part[1], dtype, *statistics) for name, part in parts.items()}
    state = {
        "kind": "images",
        "image": {"color": spec.color, "size": list(size), "resize": spec.resize,
                  "mean": statistics[0], "std": statistics[1]},
        "target": {"task": "classification", "columns": ["class"], "classes": classes},
    }
    test_paths, test_labels = parts["test"][3], parts["test"][2]
    y = {name: part[2] for name, part in parts.items()}
    if note := problems_note(problems):
        notes.append(note)
    report = {"sources": {name: str(root) for name, root in roots.items()},
              "rows_read": {"train": read},
              "skipped": len(problems),
              "rows_used": {name: len(part) for name, part in x.items()}, "task": "classification",
              "image_size": list(size), "channels": spec.channels, "class_balance": class_balance(y, classes),
              "dropped_by_step": [], "leaks": {}, "features": [], "columns": []}
    return TrainingData(
        x=x, y=y,
        test_rows=pd.DataFrame({"path": [str(p.resolve()) for p in test_paths],
                                "class": [classes[i] for i in test_labels]}),
        state=state, lines={}, notes=notes, report=report)


def _readable(root: Path, paths: list[Path], labels: np.ndarray, spec: ImageSpec, size, on_bad: str,
              problems: list, notes: list, cache_root: Path | None, progress):
    """The pixels of a folder's files, and the rows, labels and paths of the readable ones; the
    unreadable ones are added to `problems` (or refused, with `on_bad_image: error`)."""
    decoded = decoded_pixels(paths, root, spec, size, cache_root, progress)
    notes.append(decoded.note)
    found = [(path, reason) for path, reason in zip(paths, decoded.problems) if reason]
    refuse_bad(found, on_bad)
    problems += found
    ok = np.array([reason is None for reason in decoded.problems], dtype=bool)
    return decoded.pixels, np.flatnonzero(ok), labels[ok], [path for path, keep in zip(paths, ok) if keep]


def labelled_files(root: Path, classes: list[str]) -> tuple[list[Path], np.ndarray]:
    """The files of a class-per-folder tree and their class indices; its class names must be among `classes`."""
    files = class_folders(root, key=str(root))
    unknown = sorted(set(files) - set(classes))
    if unknown:
        raise DataError(f"{root}: class folders the model was not trained on: {', '.join(unknown)}; "
                        f"known classes: {', '.join(classes)}")
    paths = [path for name in sorted(files) for path in files[name]]
    labels = np.array([classes.index(name) for name in sorted(files) for _ in files[name]], dtype=np.int64)
    return paths, labels


def image_spec(state: dict) -> tuple[ImageSpec, tuple[int, int]]:
    image = state["image"]
    return ImageSpec(image["color"], tuple(image["size"]), image["resize"]), tuple(image["size"])


def labelled_image_chunks(source: str, state: dict, dtype, problems: list,
                          on_bad: str = "skip") -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Images and class indices for eval, decoded a chunk of paths at a time (as `unlabelled_image_chunks`):
    a class-per-folder tree, or a CSV with `path` and `class` columns. The unreadable are added to
    `problems`; DataError when no image is readable once every chunk has been read."""
    from nntrain.data.readers import chunk_rows

    spec, size = image_spec(state)
    classes = state["target"]["classes"]
    location = Path(source)
    if location.is_dir():
        paths, labels = labelled_files(location, classes)
    else:
        from nntrain.data.readers import read_table
        from nntrain.data.tabular import check_columns

        table = read_table(source, key="DATA")
        check_columns(table, ["path", "class"], source, "")
        unknown = sorted(set(table["class"].astype(str)) - set(classes))
        if unknown:
            raise DataError(f"{source}: classes the model was not trained on: {', '.join(unknown)}")
        paths = [Path(p) for p in table["path"]]
        labels = np.array([classes.index(c) for c in table["class"].astype(str)], dtype=np.int64)
    step = chunk_rows(size[0] * size[1] * spec.channels)
    readable = 0
    for start in range(0, len(paths), step):
        x, ok, found = load_images(paths[start:start + step], spec, size, dtype, on_bad)
        problems += found
        readable += len(x)
        if len(x):
            _apply_statistics(x, state)
            yield x, labels[start:start + step][ok]
    if not readable:
        raise DataError(f"{source}: no readable image, nothing to evaluate; {problems_note(problems)}")


def unlabelled_image_chunks(source: str | list[Path], state: dict, dtype, model: str, problems: list,
                            on_bad: str = "skip") -> Iterator[tuple[np.ndarray, list[Path]]]:
    """Images for predict from `source` (see `image_paths`) or a list of paths, decoded a chunk of paths at a
    time (`readers.chunk_rows` of them, by pixels per image): each chunk's array and the paths that were
    readable; the unreadable are added to `problems`. DataError when there is nothing to predict, as for CSV
    input: no path, or no readable image once every chunk has been read."""
    from nntrain.data.readers import chunk_rows

    paths = list(source) if isinstance(source, list) else image_paths(source, model)
    name = "the list of paths" if isinstance(source, list) else "standard input" if source == "-" else source
    if not paths:
        listed = not isinstance(source, str) or source == "-"
        raise DataError(f"DATA: {name} lists no paths, nothing to predict; give one image path per line" if listed
                        else f"DATA: {name} holds no files, nothing to predict; put the images in it (at any depth)")
    spec, size = image_spec(state)
    step = chunk_rows(size[0] * size[1] * spec.channels)
    readable = 0
    for start in range(0, len(paths), step):
        chunk = paths[start:start + step]
        x, ok, found = load_images(chunk, spec, size, dtype, on_bad)
        problems += found
        readable += len(x)
        if len(x):
            _apply_statistics(x, state)
            yield x, [p for p, keep in zip(chunk, ok) if keep]
    if not readable:
        raise DataError(f"DATA: {name}: no readable image, nothing to predict; {problems_note(problems)}")


def image_paths(source: str, model: str) -> list[Path]:
    """Files to predict on: every file under a folder, one image file, or paths listed on stdin (`-`);
    `model` names the run in the message refusing a CSV file."""
    import sys

    if source == "-":
        return [Path(line.strip()) for line in sys.stdin.read().splitlines() if line.strip()]
    location = Path(source)
    if location.is_dir():
        return list_files(location)
    if location.is_file():
        if ".csv" in (suffix.lower() for suffix in location.suffixes):
            raise DataError(f"DATA: {source} is a CSV file, but {model} is an image model; pass an image folder, "
                            "an image file, or - for a list of paths")
        return [location]
    raise ConfigError(f"DATA: {source} does not exist; pass an image folder, an image file, or - for paths on stdin")


def _apply_statistics(x: np.ndarray, state: dict) -> None:
    if state["image"]["mean"] is not None:
        normalise(x, state["image"]["mean"], state["image"]["std"])
