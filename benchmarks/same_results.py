"""Speed work must not change results: fit every example config (and a LeNet-shaped image run) and fingerprint
the final weights, so the fingerprints of two versions of the engine can be compared.

    .venv/bin/python benchmarks/same_results.py --save before.json     # on the old engine
    .venv/bin/python benchmarks/same_results.py --check before.json    # on the new one

Each fingerprint is the SHA-256 of the final parameters' and buffers' bytes: equal fingerprints mean
bit-identical training for the same seed. `--save` also keeps the final parameters (before.npz beside
the JSON), so `--check` can say how far a run that is not bit-identical moved: the largest
|after − before| over the largest |before|. It exits 1 when a run moved more than --tolerance.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
LENET = [{"type": "conv2d", "filters": 6, "kernel": 5, "padding": "same", "activation": "relu"},
         {"type": "maxpool2d", "size": 2},
         {"type": "conv2d", "filters": 16, "kernel": 5, "activation": "relu"},
         {"type": "maxpool2d", "size": 2},
         {"type": "conv2d", "filters": 8, "kernel": 2, "stride": 2, "padding": 1},  # stride and odd sizes
         {"type": "avgpool2d", "size": 2, "stride": 1},
         {"type": "flatten"},
         {"type": "dense", "units": 32, "activation": "relu"}]


def image_config(folder: Path) -> dict:
    """A LeNet-shaped run on 28x28 upscaled digits, 3 epochs: the convolution and pooling paths."""
    return {"seed": 3, "data": {"train": str(REPO / "datasets" / "digits"),
                                "image": {"color": "grayscale", "size": [28, 28]}, "split": {"validation": 0.2}},
            "model": {"layers": LENET}, "optimizer": {"type": "adam", "lr": 0.003},
            "training": {"epochs": 3, "batch_size": 64}, "output": {"dir": str(folder / "lenet")}}


def fingerprints() -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """Per run, the fingerprint and the final parameters."""
    from nntrain import fit

    found, weights = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {path.stem: (str(path), Path(tmp) / path.stem) for path in sorted((REPO / "configs").glob("*.yaml"))}
        runs["lenet-digits"] = (image_config(Path(tmp)), Path(tmp) / "lenet")
        for name, (config, folder) in runs.items():
            model = fit(config, run_dir=folder).saved.model
            digest = hashlib.sha256(model.flat_params.tobytes())
            for key in sorted(model.buffers):
                digest.update(model.buffers[key].tobytes())
            found[name] = digest.hexdigest()
            weights[name] = model.flat_params.copy()
            print(f"{name}: {found[name][:16]}", file=sys.stderr)
    return found, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write the fingerprints to this JSON file")
    group.add_argument("--check", type=Path, help="compare with fingerprints saved earlier")
    parser.add_argument("--tolerance", type=float, default=0.0, help="largest relative change accepted")
    args = parser.parse_args()
    os.chdir(REPO)  # the example configs name their data relative to the repository
    found, weights = fingerprints()
    if args.save:
        args.save.write_text(json.dumps(found, indent=1) + "\n")
        np.savez(args.save.with_suffix(".npz"), **weights)
        return
    expected = json.loads(args.check.read_text())
    before = np.load(args.check.with_suffix(".npz"), allow_pickle=False)
    moved = {name: float(np.abs(weights[name] - before[name]).max() / np.abs(before[name]).max())
             for name in expected if found.get(name) != expected[name]}
    for name in expected:
        print(f"{name}: " + (f"moved {moved[name]:.2e}" if name in moved else "bit-identical"))
    sys.exit(1 if any(value > args.tolerance for value in moved.values()) else 0)


if __name__ == "__main__":
    main()
