"""Regenerate the small example datasets in this folder from their public source packages.

The CSVs are committed, so nntrain never downloads anything; this script only
documents where they come from. It needs scikit-learn and palmerpenguins (and, for the
changelogs, a Debian machine with the packages named in CHANGELOG_PACKAGES installed):

    pip install scikit-learn palmerpenguins && python datasets/make_datasets.py
"""

import csv
import gzip
import re
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


# Debian source package -> a binary package shipping its changelog, and the license of its debian/ folder
# (Files: debian/* in /usr/share/doc/<package>/copyright), under which the changelog text is distributed.
CHANGELOG_PACKAGES = {
    "coreutils": ("coreutils", "GPL-3+"),
    "debianutils": ("debianutils", "GPL-2+"),
    "linux": ("linux-libc-dev", "GPL-2"),
    "llvm-toolchain-15": ("libllvm15", "Apache-2.0 with LLVM exceptions"),
    "systemd": ("libsystemd0", "LGPL-2.1+"),
    "valgrind": ("valgrind", "GPL-2+"),
}
CHANGELOG_ENTRIES = 120  # the newest entries of each package, so the classes are balanced
CHANGELOG_TEXT = 600     # characters of each entry's text kept, so the file stays small
_HEADER = re.compile(r"^(\S+) \((\S+)\) ([^;]+); urgency=(\w+)")
_TRAILER = re.compile(r"^ -- .*?>\s+(.+)$")
_PERSONAL = re.compile(r"\[ [^]]+ \]|<[^>]*@[^>]*>|\S+@\S+")  # "[ Name ]" section heads and e-mail addresses


def changelogs() -> None:
    """Debian changelog entries of six source packages (licenses in CHANGELOG_PACKAGES, also in
    datasets/README.md): the entry's date as written (RFC 2822, with its time zone), distribution, urgency,
    its text without names' section heads and e-mail addresses, and the package it belongs to (the target).
    Maintainers' names in the trailer lines are left out."""
    rows = []
    for source, (binary, _) in CHANGELOG_PACKAGES.items():
        lines = gzip.open(f"/usr/share/doc/{binary}/changelog.Debian.gz", "rt", encoding="utf-8").read().splitlines()
        entries, body, head = [], [], None
        for line in lines:
            if (match := _HEADER.match(line)):
                head, body = match, []
            elif head and (match := _TRAILER.match(line)):
                text = " ".join(" ".join(body).split())
                text = " ".join(_PERSONAL.sub(" ", text).split())[:CHANGELOG_TEXT].strip()
                if text:
                    entries.append({"date": match.group(1).strip(), "distribution": head.group(3),
                                    "urgency": head.group(4).lower(), "text": text, "package": source})
                head = None
            elif head:
                body.append(line.strip().lstrip("*-+ "))
        rows += entries[:CHANGELOG_ENTRIES]
    with open(HERE / "changelogs.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=["date", "distribution", "urgency", "text", "package"])
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    iris()
    diabetes()
    penguins()
    digits()
    changelogs()
