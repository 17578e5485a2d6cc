"""The training data a config names: CSV tables or image folders, read and prepared for training."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nntrain.config import Config
from nntrain.data.image_folders import prepare_image_training
from nntrain.data.images import ImageSpec
from nntrain.data.prepared import TrainingData
from nntrain.data.prepared_dir import is_prepared, open_prepared, read_manifest, write_prepared
from nntrain.data.readers import is_image_folder, read_table
from nntrain.data.streaming import estimated_float32_bytes, prepare_streaming
from nntrain.data.tabular import prepare_training
from nntrain.errors import ConfigError
from nntrain.resources import available_bytes, human_bytes, parse_size
from nntrain.run.directory import RUNS_ROOT
from nntrain.seeds import rng_for


def load_training_data(config: Config, progress: Callable[[str], None] = lambda message: None,
                       task=None) -> TrainingData:
    """The prepared training data: read and prepared in memory, or, for a table bigger than `data.memory_limit`,
    prepared in streaming passes (or reused) and memory-mapped; `progress` hears about each pass, `task`
    (a `Reporter.task`) shows long passes such as decoding images."""
    d = config.data
    if is_prepared(d.train):
        return _open_prepared(config, d.train)
    if is_image_folder(d.train):
        return _load_image_folders(config, task)
    if d.target is None:
        raise ConfigError("data.target: required for CSV data; name the column to predict")
    memory = memory_plan(config)
    if memory is not None and memory.streams:
        folder = default_prepared_dir(d.train)
        if not (is_prepared(folder) and read_manifest(folder).get("fingerprint") == source_fingerprint(config)):
            progress(f"data: {memory.describe()}")
            prepare_directory(config, folder, progress)
        data = open_prepared(folder)
        data.notes.insert(0, f"data: {memory.describe()}; training from the prepared directory {folder}")
        return data
    for key in ("image", "augment"):  # compared with the defaults, so a resolved config passes
        if getattr(d, key) != type(getattr(d, key))():
            raise ConfigError(f"data.{key}: applies to image folders, but data.train is a CSV file")
    paths = {"train": d.train, "validation": d.validation, "test": d.test}
    targets = (d.target,) if isinstance(d.target, str) else tuple(d.target)
    narrow = config.engine.dtype == "float32"
    sources = {name: "standard input" if path == "-" else path for name, path in paths.items() if path}
    return prepare_training(
        {name: read_table(path, key=f"data.{name}", narrow=narrow, keep=targets, keep_empty=True)
         for name, path in paths.items() if path},
        sources, **_preparation(config), rng=split_rng(config))


def _preparation(config: Config) -> dict:
    """What preparing a table depends on besides its rows: the options of `prepare_training` and
    `prepare_streaming` alike (less the split's generator, which `split_rng` makes)."""
    d = config.data
    return {"target": d.target, "features": d.features, "task": config.task,
            "loss": config.loss.type if config.loss else None, "validation": d.split.validation,
            "test": d.split.test, "stratify": d.split.stratify, "pipeline": [step.model_dump() for step in d.pipeline],
            "target_transform": d.target_transform, "dtype": config.engine.dtype}


def prepare_directory(config: Config, out: str | Path | None = None,
                      progress: Callable[[str], None] = lambda message: None) -> Path:
    """Prepare `data.train` in streaming passes into the prepared directory `out` (default: beside the
    table, named after it with `.prepared`), which `data.train` may then name."""
    d = config.data
    if d.train == "-" or is_prepared(d.train) or is_image_folder(d.train):
        what = "standard input" if d.train == "-" else "a prepared directory" if is_prepared(d.train) else \
            "an image folder"
        raise ConfigError(f"data.train: {d.train} is {what}; nntrain prepare reads a CSV or Parquet table")
    if d.target is None:
        raise ConfigError("data.target: required for CSV data; name the column to predict")
    for name in ("validation", "test"):
        if getattr(d, name) is not None:
            raise ConfigError(f"data.{name}: nntrain prepare splits data.train itself and does not read a separate "
                              f"{name} file yet; remove data.{name} (set data.split.{name} instead)")
    out = Path(out) if out is not None else default_prepared_dir(d.train)
    return write_prepared(out, lambda folder: prepare_streaming(d.train, folder, **_preparation(config),
                                                                rng=split_rng(config), progress=progress),
                          source_fingerprint(config))


MEMORY_SHARE = 0.5  # of the memory available: the default data.memory_limit


@dataclass
class MemoryPlan:
    """How big a table is as float32 (estimated) against `data.memory_limit`, and so which path `fit` takes."""
    source: str
    estimate: int
    limit: int | None
    default: bool

    @property
    def streams(self) -> bool:
        return self.limit is not None and self.estimate > self.limit

    def describe(self) -> str:
        limit = "no limit known" if self.limit is None else human_bytes(self.limit) + \
            (" (half the memory available)" if self.default else "")
        path = "prepared in streaming passes" if self.streams else "prepared in memory"
        return f"{self.source} takes about {human_bytes(self.estimate)} as float32; data.memory_limit {limit}: {path}"


def memory_plan(config: Config) -> MemoryPlan | None:
    """The memory plan of a CSV or Parquet `data.train` that streaming could prepare; None for other data."""
    d = config.data
    if d.train == "-" or is_prepared(d.train) or is_image_folder(d.train) or d.validation or d.test:
        return None
    limit = parse_size(d.memory_limit) if d.memory_limit is not None else None
    if limit is None:
        available = available_bytes()
        limit = None if available is None else int(available * MEMORY_SHARE)
    return MemoryPlan(d.train, estimated_float32_bytes(d.train), limit, d.memory_limit is None)


def _open_prepared(config: Config, folder: str) -> TrainingData:
    """A prepared directory named by data.train, refused if the config asks for another preparation."""
    prepared = read_manifest(Path(folder)).get("fingerprint", {}).get("preparation", {})
    wanted = json.loads(json.dumps({**_preparation(config), "split_seed": source_fingerprint_seed(config)}))
    named = {key: value for key, value in wanted.items()
             if key in ("target", "features", "pipeline", "target_transform") and value not in (None, [])}
    differ = [key for key, value in named.items() if key in prepared and prepared[key] != value]
    if differ:
        raise ConfigError(f"data.train: {folder} was prepared with another data.{differ[0]} than this config's; "
                          f"prepare it again with this config (nntrain prepare), or leave data.{differ[0]} out")
    return open_prepared(folder)


def source_fingerprint_seed(config: Config) -> int:
    seed = config.data.split.seed
    return config.seed if seed is None else seed


def default_prepared_dir(train: str) -> Path:
    path = Path(train)
    return path.with_name(path.name.split(".")[0] + ".prepared")


def source_fingerprint(config: Config) -> dict:
    """What a prepared directory was made from: the table's path, bytes and modification time, and every
    option of its preparation; a prepared directory with the same fingerprint can be reused."""
    path = Path(config.data.train)
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    stats = [file.stat() for file in files if file.is_file()]
    return json.loads(json.dumps({  # as the manifest holds it
        "source": str(path.resolve()), "bytes": sum(s.st_size for s in stats),
        "mtime_ns": max((s.st_mtime_ns for s in stats), default=0),
        "preparation": {**_preparation(config), "split_seed": source_fingerprint_seed(config)}}))


def _load_image_folders(config: Config, task) -> TrainingData:
    d = config.data
    misplaced = {"target": d.target is not None, "features": d.features is not None, "pipeline": bool(d.pipeline)}
    for key, present in misplaced.items():
        if present:
            raise ConfigError(f"data.{key}: does not apply to image folders ({d.train} is a folder, whose "
                              "subfolder names are the classes); remove it")
    if config.task not in ("auto", "classification"):
        raise ConfigError(f"task: image folders are for classification, not {config.task}")
    roots = {"train": Path(d.train)}
    for name in ("validation", "test"):
        path = getattr(d, name)
        if path is not None:
            if not Path(path).is_dir():
                raise ConfigError(f"data.{name}: {path} is not a folder; with image folders, give folders")
            roots[name] = Path(path)
    spec = ImageSpec(d.image.color, tuple(d.image.size) if d.image.size else None, d.image.resize)
    return prepare_image_training(roots, spec, validation=d.split.validation, test=d.split.test,
                                  normalize=d.image.normalize, on_bad=d.image.on_bad_image,
                                  rng=split_rng(config), dtype=config.engine.dtype,
                                  shift=d.augment.shift, cache_root=image_cache_root(config.output.dir),
                                  progress=task)


def image_cache_root(output_dir: str | None) -> Path:
    """Where image folders are cached: `.cache/` beside the run directory, so every run written to the
    same folder (runs/ by default) shares it, whatever its own name."""
    return (Path(output_dir).parent if output_dir else RUNS_ROOT) / ".cache"


def split_rng(config: Config) -> np.random.Generator:
    """The generator that splits rows: from `data.split.seed` if set, else from the run's seed."""
    seed = config.data.split.seed
    return rng_for(config.seed if seed is None else seed, "split")


def class_weights(config: Config, target: dict, y_train: np.ndarray, dtype) -> np.ndarray | None:
    """Per-class loss weights from `training.class_weight`, indexed by class code."""
    spec = config.training.class_weight
    if spec is None:
        return None
    if target["task"] != "classification":
        raise ConfigError(f"training.class_weight: applies to classification, not {target['task']}; remove it")
    classes = target["classes"]
    if spec == "balanced":
        counts = np.bincount(y_train, minlength=len(classes)).astype(np.float64)
        weights = np.divide(len(y_train), len(classes) * counts, out=np.ones(len(classes)), where=counts > 0)
    else:
        unknown = sorted(set(spec) - set(classes))
        if unknown:
            raise ConfigError(f"training.class_weight: unknown classes {', '.join(map(repr, unknown))}; "
                              f"the classes are {', '.join(classes)}")
        weights = np.array([spec.get(name, 1.0) for name in classes])
    return weights.astype(dtype)
