"""Regenerate the small example datasets in this folder from their public source packages.

The CSVs are committed, so nntrain never downloads anything; this script only
documents where they come from. It needs scikit-learn and palmerpenguins:

    pip install scikit-learn palmerpenguins && python datasets/make_datasets.py
"""

from pathlib import Path

HERE = Path(__file__).parent


def iris() -> None:
    """Fisher's iris: 150 flowers, 4 measurements, 3 species (classification)."""
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = bunch.target_names[bunch.target]
    frame.drop(columns="target").to_csv(HERE / "iris.csv", index=False)


def diabetes() -> None:
    """Efron et al.'s diabetes data: 442 patients, 10 baseline variables, disease progression (regression)."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame.rename(columns={"target": "progression"}).to_csv(HERE / "diabetes.csv", index=False)


def penguins() -> None:
    """Palmer penguins (Horst, Hill and Gorman, CC0): 344 birds, numeric and categorical columns, missing
    values written as NA (classification of species). Copied as the package ships it."""
    import shutil

    import palmerpenguins

    source = Path(palmerpenguins.__file__).parent / "data" / "penguins.csv"
    shutil.copyfile(source, HERE / "penguins.csv")


def digits() -> None:
    """UCI handwritten digits as scikit-learn bundles them: 1797 images of 8x8 pixels (16 gray levels),
    written as grayscale PNGs in one folder per digit."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    bunch = load_digits()
    for index, (image, label) in enumerate(zip(bunch.images, bunch.target)):
        folder = HERE / "digits" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.round(image * 255 / 16).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / f"{index:04d}.png", optimize=True)


if __name__ == "__main__":
    iris()
    diabetes()
    penguins()
    digits()
