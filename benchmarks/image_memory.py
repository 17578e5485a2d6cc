"""Peak memory of `nntrain fit` on an image folder, against the size of its uint8 pixels.

Generates a folder of N random RGB PNGs (default 2,000 at 64x64: 24.6 MB of uint8 pixels) and
one of 30 images of the same size, fits each with the same small model in a child process, and
reads the child's peak resident memory from getrusage(RUSAGE_CHILDREN). The tiny folder's peak
is the interpreter, the libraries and the model; the difference is what the data costs, which
should stay within 1.3 x the uint8 pixels plus the float32 input of a training batch and of an
evaluation batch (which nntrain's own estimate counts with the model's activations). Each folder
is fitted twice: decoding into the image cache, then reading it back.

    python benchmarks/image_memory.py [--images 2000] [--side 64]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from common import machine, print_table

BIN = Path(sys.executable).parent
CLASSES = ("a", "b", "c")
VALIDATION = TEST = 0.15
BATCH = 64


def make_folder(root: Path, images: int, side: int) -> Path:
    rng = np.random.default_rng(0)
    for index in range(images):
        folder = root / CLASSES[index % len(CLASSES)]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(folder / f"{index:05d}.png")
    return root


def config(folder: Path, run_dir: Path, side: int) -> Path:
    path = run_dir.parent / f"{run_dir.name}.yaml"
    path.write_text(json.dumps({  # JSON is YAML
        "seed": 0,
        "data": {"train": str(folder), "image": {"color": "rgb", "size": [side, side]},
                 "split": {"validation": VALIDATION, "test": TEST}},
        "model": {"layers": [{"type": "flatten"}, {"type": "dense", "units": 16, "activation": "relu"}]},
        "training": {"epochs": 2, "batch_size": BATCH}, "output": {"dir": str(run_dir)}}))
    return path


def peak_rss(config_path: Path) -> int:
    """Peak resident bytes of one `nntrain fit` child, measured by a fresh parent that runs only it."""
    script = ("import resource, subprocess, sys; "
              "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", script, str(BIN / "nntrain"), "fit", str(config_path), "-q"],
                         capture_output=True, text=True, check=True).stdout
    return int(out) * 1024  # Linux reports kilobytes


def measure(images: int, side: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        peaks = {}
        for name, count in (("tiny", 30), ("large", images)):
            folder = make_folder(tmp / f"{name}-images", count, side)
            peaks[name] = [peak_rss(config(folder, tmp / f"{name}-{fit}", side)) for fit in ("decode", "cached")]
    pixels = images * side * side * 3
    held_out = round(images * max(VALIDATION, TEST))
    batches = (BATCH + min(4096, held_out)) * side * side * 3 * 4
    return {"pixels": pixels, "batches": batches, "peaks": peaks, "budget": 1.3 * pixels + batches}


def report(result: dict) -> list[tuple]:
    mb = 1e6
    rows = [("", "decoding fit", "cached fit")]
    for name in ("tiny", "large"):
        rows.append((f"peak RSS, {name} folder", *(f"{peak / mb:.1f} MB" for peak in result["peaks"][name])))
    differences = [large - tiny for large, tiny in zip(result["peaks"]["large"], result["peaks"]["tiny"])]
    rows.append(("difference (the data)", *(f"{d / mb:.1f} MB" for d in differences)))
    rows.append(("uint8 pixels P", *[f"{result['pixels'] / mb:.1f} MB"] * 2))
    rows.append(("training + evaluation batch B (float32)", *[f"{result['batches'] / mb:.1f} MB"] * 2))
    rows.append(("budget 1.3 P + B", *[f"{result['budget'] / mb:.1f} MB"] * 2))
    rows.append(("within budget", *(str(d <= result["budget"]) for d in differences)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--side", type=int, default=64)
    args = parser.parse_args()
    print(machine())
    print_table(f"nntrain fit on {args.images:,} {args.side}x{args.side} RGB images", report(
        measure(args.images, args.side)))


if __name__ == "__main__":
    main()
