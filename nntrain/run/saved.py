"""A trained run opened for eval and predict: which checkpoint a path means, its model, loss and data state."""

from dataclasses import dataclass
from pathlib import Path

from nntrain.data.pipeline import STEPS
from nntrain.errors import CheckpointError
from nntrain.nn.losses import LOSSES, Loss, make_loss
from nntrain.nn.model import Model
from nntrain.run.directory import read_summary
from nntrain.train.saved import build_saved_model, load_model_checkpoint

_TABLE_KEYS = ("input_columns", "target", "pipeline", "features")


@dataclass
class SavedRun:
    path: Path
    meta: dict
    model: Model
    loss: Loss

    @property
    def data(self) -> dict:
        return self.meta["data"]

    @property
    def target(self) -> dict:
        return self.meta["data"]["target"]

    @property
    def images(self) -> bool:
        return self.meta["data"].get("kind") == "images"


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory's final model (per summary.json, else best, else last)."""
    location = Path(path)
    if location.is_file():
        return location
    if not location.is_dir():
        raise CheckpointError(f"no run or checkpoint at {path}")
    final = read_summary(location).get("final_checkpoint")
    if isinstance(final, str) and (location / final).is_file():
        return location / final
    for name in ("best.npz", "last.npz"):
        if (location / name).is_file():
            return location / name
    raise CheckpointError(f"{path} holds no checkpoint (best.npz or last.npz); train with `nntrain fit` first")


def open_run(run: str | Path) -> SavedRun:
    path = resolve_checkpoint(run)
    meta, arrays = load_model_checkpoint(path)
    _check_data_state(meta, path)
    model = build_saved_model(meta, arrays, path)
    spec = meta.get("loss")
    if not isinstance(spec, dict) or spec.get("type") not in LOSSES:
        raise CheckpointError(f"{path}: unknown loss {spec!r}")
    try:
        loss = make_loss(spec)
    except TypeError as exc:
        raise CheckpointError(f"{path}: bad loss options ({exc})") from None
    return SavedRun(path, meta, model, loss)


def _check_data_state(meta: dict, path: Path) -> None:
    data = meta.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("target"), dict):
        raise CheckpointError(f"{path} is damaged: it lacks the data preparation state")
    if data.get("kind") == "images":
        image = data.get("image")
        if not isinstance(image, dict) or image.get("color") not in ("grayscale", "rgb") or \
                not isinstance(image.get("size"), list):
            raise CheckpointError(f"{path} is damaged: its image settings are incomplete")
        return
    if any(key not in data for key in _TABLE_KEYS):
        raise CheckpointError(f"{path} is damaged: it lacks the data preparation state")
    steps = data["pipeline"].get("steps", []) if isinstance(data["pipeline"], dict) else None
    if steps is None or any(not isinstance(s, dict) or s.get("type") not in STEPS for s in steps):
        raise CheckpointError(f"{path}: unknown pipeline step in {steps!r}")
