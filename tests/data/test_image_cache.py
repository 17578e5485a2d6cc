"""The image cache: decoded once, reused by later fits into any run directory, rebuilt when files change or
the cache is damaged, and safe under two fits at once."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nntrain
from nntrain.data import image_cache
from nntrain.data.image_rows import ImageRows
from nntrain.data.images import ImageSpec, load_images, normalise, read_pixels
from nntrain.data.stored_rows import StoredRows
from nntrain.train.checkpoint import load_checkpoint
from nntrain.train.shuffle import epoch_order


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what fit says about the cache (see `cli_in_process`)."""
    return cli_in_process


@pytest.fixture
def decodes(monkeypatch):
    """How many images the cache has decoded, counted in this process."""
    count = {"images": 0}
    real = image_cache.read_pixels

    def counting(*args):
        count["images"] += 1
        return real(*args)

    monkeypatch.setattr(image_cache, "read_pixels", counting)
    return count


def caches(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / ".cache").glob("images-*"))


def fit(config, run_dir):
    return nntrain.fit(config, overrides={"training.epochs": 2}, run_dir=str(run_dir))


def test_a_second_fit_into_a_new_run_directory_decodes_nothing(cli, image_config, tmp_path):
    first = cli("fit", image_config(), "--set", "training.epochs=3")
    assert first.returncode == 0, first.stderr
    [cache] = caches(tmp_path)
    assert f"decoded 49 images into the image cache {cache}" in first.stderr
    second = cli("fit", image_config(), "--set", "training.epochs=3", "--set", f"output.dir={tmp_path / 'run2'}")
    assert second.returncode == 0, second.stderr
    assert f"read 49 images from the image cache {cache} (decoded before)" in second.stderr
    assert "into the image cache" not in second.stderr and "into memory" not in second.stderr
    assert "skipped 4 unreadable image files:" in second.stderr  # the cache remembers why files were skipped
    runs = [json.loads((tmp_path / name / "summary.json").read_text()) for name in ("run", "run2")]
    assert runs[0]["test"] == runs[1]["test"]
    (_, weights), (_, again) = (load_checkpoint(tmp_path / name / "best.npz") for name in ("run", "run2"))
    assert all(np.array_equal(weights[key], again[key]) for key in weights)
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["format"] == "nntrain-image-cache" and len(manifest["files"]) == 49
    assert manifest["labels"].count("diagonal") == 16 and manifest["files"][0][0] == "diagonal/00.png"
    pixels = np.load(cache / "pixels.npy", mmap_mode="r")
    assert pixels.dtype == np.uint8 and pixels.shape == (49, 8, 8, 1)


def test_a_changed_added_or_removed_file_decodes_only_what_changed(image_config, image_folder, tmp_path, decodes):
    config = image_config()
    fit(config, tmp_path / "a")
    assert decodes["images"] == 49
    fit(config, tmp_path / "b")
    assert decodes["images"] == 49
    changed = image_folder / "vertical" / "03.png"
    Image.fromarray(np.full((8, 8), 200, dtype=np.uint8), mode="L").save(changed)
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # however coarse the file system's clock
    run = fit(config, tmp_path / "c")
    assert decodes["images"] == 50
    [cache] = caches(tmp_path)  # the previous cache of the folder is removed
    assert np.array_equal(np.load(cache / "pixels.npy")[json.loads((cache / "manifest.json").read_text())
                          ["files"].index(["vertical/03.png", changed.stat().st_size, changed.stat().st_mtime_ns])],
                          np.full((8, 8, 1), 200))
    assert run.summary["status"] == "finished"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8), mode="L").save(image_folder / "vertical" / "99.png")
    fit(config, tmp_path / "d")
    assert decodes["images"] == 51
    (image_folder / "horizontal" / "00.png").unlink()
    fit(config, tmp_path / "e")
    assert decodes["images"] == 51 and len(caches(tmp_path)) == 1


def test_other_image_settings_make_another_cache(image_config, tmp_path, decodes):
    fit(image_config(), tmp_path / "a")
    nntrain.fit(image_config(), overrides={"training.epochs": 1, "data.image.size": [6, 6]},
                run_dir=str(tmp_path / "b"))
    assert decodes["images"] == 98 and len(caches(tmp_path)) == 2


@pytest.mark.parametrize("damage,reason", [
    ("pixels", "pixels.npy does not match the SHA-256 in its manifest"),
    ("manifest", "manifest.json is unreadable"),
])
def test_a_damaged_cache_is_noted_and_decoded_again(cli, image_config, tmp_path, damage, reason):
    assert cli("fit", image_config(), "--set", "training.epochs=1").returncode == 0
    [cache] = caches(tmp_path)
    if damage == "pixels":
        with open(cache / "pixels.npy", "r+b") as handle:
            handle.seek(-10, os.SEEK_END)
            handle.write(b"\xff" * 10)
    else:
        (cache / "manifest.json").write_text("{not json")
    result = cli("fit", image_config(), "--set", "training.epochs=1", "--set", f"output.dir={tmp_path / 'again'}")
    assert result.returncode == 0, result.stderr
    assert f"the image cache {cache / ('pixels.npy' if damage == 'pixels' else 'manifest.json')}" in result.stderr
    assert reason in result.stderr and "decoding again. decoded 49 images into the image cache" in result.stderr
    assert "Traceback" not in result.stderr
    third = cli("fit", image_config(), "--set", "training.epochs=1", "--set", f"output.dir={tmp_path / 'third'}")
    assert "read 49 images from the image cache" in third.stderr


def test_a_cache_folder_that_cannot_be_written_falls_back_to_memory(cli, image_config, tmp_path):
    (tmp_path / ".cache").write_text("a file where the cache folder would go")
    result = cli("fit", image_config(), "--set", "training.epochs=1")
    assert result.returncode == 0, result.stderr
    assert f"cannot write the image cache in {tmp_path / '.cache'} (" in result.stderr
    assert "decoded 49 images into memory" in result.stderr


def test_two_fits_building_the_same_cache_at_once_share_one(image_config, tmp_path, shell_command):
    config = image_config()
    fits = [subprocess.Popen(f"{shell_command} fit {config} --set training.epochs=1 --set output.dir={tmp_path / name}",
                             shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in ("one", "two")]
    outputs = [process.communicate() for process in fits]
    assert [process.returncode for process in fits] == [0, 0], outputs
    [cache] = caches(tmp_path)
    assert sorted(p.name for p in (tmp_path / ".cache").iterdir()) == [cache.name]  # no temporary folder left
    runs = [json.loads((tmp_path / name / "summary.json").read_text())["test"] for name in ("one", "two")]
    assert runs[0] == runs[1]


def test_publishing_over_a_cache_another_fit_finished_keeps_that_one(tmp_path):
    final, late = tmp_path / "images-a-b", tmp_path / ".images-a-b.1.x.tmp"
    for folder, text in ((final, "first"), (late, "second")):
        folder.mkdir()
        (folder / "manifest.json").write_text(text)
    image_cache._publish(late, final)
    assert (final / "manifest.json").read_text() == "first"


def test_batches_read_from_the_cache_equal_the_decoded_images(image_folder, tmp_path):
    spec, size = ImageSpec("grayscale", (8, 8)), (8, 8)
    paths = sorted(image_folder.glob("*/*.png"))
    image_cache.decoded_pixels(paths, image_folder, spec, size, tmp_path / ".cache")  # decodes into the cache
    cached = image_cache.decoded_pixels(paths, image_folder, spec, size, tmp_path / ".cache")
    assert "(decoded before)" in cached.note and isinstance(cached.pixels, StoredRows)
    rows = np.flatnonzero([reason is None for reason in cached.problems])
    assert len(rows) == 45  # the four bad files are not rows
    readable = [paths[row] for row in rows]
    pixels = np.stack([read_pixels(path, spec, size) for path in readable])
    mean, std = [0.43], [0.31]
    floats, _, _ = load_images(readable, spec, size, np.float32)  # decoded straight to floats, as predict does
    normalise(floats, mean, std)
    images = ImageRows(cached.pixels, rows, np.float32, mean, std)
    order = epoch_order(len(rows), np.random.default_rng(5))
    starts = range(0, len(rows), 8)  # 45 rows: five batches of 8, the last of 5
    batches = [images.take(order[start:start + 8]) for start in starts]
    stored = [cached.pixels.take(rows[order[start:start + 8]]) for start in starts]
    assert [len(batch) for batch in batches] == [8, 8, 8, 8, 8, 5]
    for start, batch, raw in zip(starts, batches, stored):  # compared once all are read: no buffer is shared
        assert batch.dtype == np.float32 and np.array_equal(batch, floats[order[start:start + 8]])
        assert raw.dtype == np.uint8 and np.array_equal(raw, pixels[order[start:start + 8]])
    assert np.array_equal(images[40:], floats[40:])  # the last partial batch of the unshuffled order
    assert str(tmp_path / ".cache") not in Path("/proc/self/maps").read_text()  # read, not memory-mapped


def test_a_fit_reading_the_cache_trains_as_one_decoding_into_memory(cli, image_config, tmp_path):
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / ".cache").write_text("a file where the cache folder would go")
    results = {name: cli("fit", image_config(), "--set", "training.epochs=4", "--set",
                         f"output.dir={tmp_path / name / 'run'}") for name in ("cached", "memory")}
    assert "decoded 49 images into the image cache" in results["cached"].stderr
    assert "decoded 49 images into memory" in results["memory"].stderr
    assert all(result.returncode == 0 for result in results.values())
    (_, weights), (_, again) = (load_checkpoint(tmp_path / name / "run" / "last.npz") for name in results)
    assert weights.keys() == again.keys() and all(np.array_equal(weights[key], again[key]) for key in weights)
