"""Image-folder loading: how fast nntrain decodes a folder of PNGs into its training array, against Pillow
decoding the same files with a thread pool of the same size (the floor: decoding is the work).

Two cases, 10,000 PNGs each: 28x28 grayscale and 128x128 RGB. nntrain's side is
`nntrain.data.images.load_images`, today's loader (no image cache).

    python benchmarks/images.py [--files 10000] [--repeats 3]
"""

import argparse
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from common import alternate, machine, print_table

CASES = {"28x28 gray": ((28, 28), "grayscale"), "128x128 RGB": ((128, 128), "rgb")}
NNTRAIN, PILLOW = "nntrain load_images", "Pillow, same thread pool"


def write_pngs(folder: Path, files: int, size: tuple[int, int], color: str) -> list[Path]:
    """`files` PNGs of smooth random images (noise over gradients, so they compress as photos do)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    height, width = size
    ramp = np.add.outer(np.arange(height), np.arange(width)) * (200 / (height + width))
    paths = []
    for index in range(files):  # writing the test files, not the code under test
        pixels = (ramp + rng.integers(0, 55, size)).astype(np.uint8)
        image = Image.fromarray(pixels, "L") if color == "grayscale" else Image.fromarray(
            np.stack([pixels, pixels[::-1], pixels[:, ::-1]], axis=2), "RGB")
        path = folder / f"{index:05d}.png"
        image.save(path)
        paths.append(path)
    return paths


def nntrain_load(paths: list[Path], size: tuple[int, int], color: str):
    from nntrain.data.images import ImageSpec, load_images

    def run():
        return load_images(paths, ImageSpec(color, size), size, np.float32)[0]
    return run


def pillow_load(paths: list[Path], size: tuple[int, int], color: str):
    """Decode every file into one float32 array in 0..1 with the same number of threads as nntrain."""
    from PIL import Image

    from nntrain.data.images import DECODE_WORKERS

    mode, channels = ("L", 1) if color == "grayscale" else ("RGB", 3)

    def run():
        batch = np.empty((len(paths), *size, channels), np.float32)

        def decode(index):
            with Image.open(paths[index]) as image:
                batch[index] = (np.asarray(image.convert(mode), dtype=np.float32) / 255.0).reshape(*size, channels)

        with ThreadPoolExecutor(max_workers=DECODE_WORKERS) as pool:
            list(pool.map(decode, range(len(paths))))
        return batch
    return run


def measure(files: int, repeats: int) -> dict[str, dict[str, float]]:
    """Per case, median seconds of nntrain's loader and of plain Pillow on the same files."""
    results = {}
    for case, (size, color) in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            paths = write_pngs(Path(tmp), files, size, color)
            results[case] = alternate({NNTRAIN: nntrain_load(paths, size, color),
                                       PILLOW: pillow_load(paths, size, color)}, repeats)
    return results


def ratios(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """nntrain's images per second / Pillow's, per case."""
    return {case: times[PILLOW] / times[NNTRAIN] for case, times in results.items()}


def report(results: dict[str, dict[str, float]], files: int) -> list[tuple]:
    rows = [("case", "contender", "seconds", "images/s")]
    for case, times in results.items():
        rows += [(case, name, f"{seconds:.2f}", f"{files / seconds:,.0f}") for name, seconds in times.items()]
        rows.append((case, "nntrain rate / Pillow rate", f"{ratios(results)[case]:.2f}", ""))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    print_table(f"image-folder decode and load ({args.files:,} PNGs per case)", report(measure(args.files, args.repeats),
                                                                                      args.files))
