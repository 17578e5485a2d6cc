"""The training data a config names: CSV tables or image folders, read and prepared for training."""

from pathlib import Path

import numpy as np

from nntrain.config import Config
from nntrain.data.image_folders import prepare_image_training
from nntrain.data.images import ImageSpec
from nntrain.data.prepared import TrainingData
from nntrain.data.readers import is_image_folder, read_table
from nntrain.data.tabular import prepare_training
from nntrain.errors import ConfigError
from nntrain.run.directory import RUNS_ROOT
from nntrain.seeds import rng_for


def load_training_data(config: Config, progress=None) -> TrainingData:
    """The prepared data of every split; `progress` (a `Reporter.task`) shows long passes such as decoding."""
    d = config.data
    if is_image_folder(d.train):
        return _load_image_folders(config, progress)
    if d.target is None:
        raise ConfigError("data.target: required for CSV data; name the column to predict")
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
        sources, target=d.target, features=d.features, task=config.task,
        loss=config.loss.type if config.loss else None, validation=d.split.validation, test=d.split.test,
        stratify=d.split.stratify, pipeline=[step.model_dump() for step in d.pipeline],
        target_transform=d.target_transform, rng=split_rng(config), dtype=config.engine.dtype)


def _load_image_folders(config: Config, progress) -> TrainingData:
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
                                  progress=progress)


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
