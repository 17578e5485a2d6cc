"""Decoding images safely: modes, bad files, bombs, allow-listed formats; augmentation."""

import io
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nntrain.data import images
from nntrain.data.augment import Augmenter, rotate, shift, shift_note
from nntrain.data.image_folders import prepare_image_training
from nntrain.data.images import (BadImage, ImageSpec, class_folders, decoded_bytes, keep_rows, load_images,
                                 pixel_statistics, read_image, read_pixels, sample_files)
from nntrain.errors import ConfigError, DataError

GRAY = ImageSpec("grayscale", (4, 4))
RGB = ImageSpec("rgb", (4, 4))


def save(path, image, **options):
    image.save(path, **options)
    return path


def test_grayscale_png_scaled_to_unit_range(tmp_path):
    pixels = np.arange(16, dtype=np.uint8).reshape(4, 4) * 17
    array = read_image(save(tmp_path / "g.png", Image.fromarray(pixels, mode="L")), GRAY, (4, 4))
    assert array.dtype == np.float32 and array.shape == (4, 4, 1)
    assert np.allclose(array[:, :, 0], pixels / 255)


def test_cmyk_rgba_sixteen_bit_and_palette_are_converted(tmp_path):
    cmyk = read_image(save(tmp_path / "c.jpg", Image.new("CMYK", (4, 4), (0, 255, 0, 0))), RGB, (4, 4))
    assert np.allclose(cmyk[0, 0], [1, 0, 1], atol=0.02)  # no magenta ink left out: magenta
    transparent = read_image(save(tmp_path / "a.png", Image.new("RGBA", (4, 4), (255, 0, 0, 0))), RGB, (4, 4))
    assert np.allclose(transparent, 1.0)  # fully transparent: the white background shows
    half = read_image(save(tmp_path / "h.png", Image.new("RGBA", (4, 4), (0, 0, 0, 128))), GRAY, (4, 4))
    assert np.allclose(half, 127 / 255, atol=0.01)
    deep = np.full((4, 4), 65535 // 2, dtype=np.uint16)
    sixteen = read_image(save(tmp_path / "d.png", Image.fromarray(deep)), GRAY, (4, 4))
    assert sixteen[0, 0, 0] == np.float32(127) / 255  # 32767 / 257 rounded to 8 bits, not clipped at 255
    assert read_image(tmp_path / "d.png", RGB, (4, 4)).shape == (4, 4, 3)
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    assert np.allclose(read_image(save(tmp_path / "p.png", palette), RGB, (4, 4))[0, 0], [0, 1, 0])


def test_resize_to_the_requested_size(tmp_path):
    path = save(tmp_path / "big.png", Image.new("L", (20, 10), 200))
    array = read_image(path, ImageSpec("grayscale", (5, 8)), (5, 8))
    assert array.shape == (5, 8, 1) and np.allclose(array, 200 / 255)


def test_a_file_in_pillows_warning_zone_is_refused_by_the_pool_without_a_warning(tmp_path, header_only_png):
    """Pillow warns (not raises) from 89M to 179M pixels; the decoding pool keeps that warning quiet while
    the file is refused with its reason, and restores the filters after."""
    good = save(tmp_path / "good.png", Image.new("L", (4, 4), 51))
    (tmp_path / "bomb.png").write_bytes(header_only_png(10000, 9000))
    store = np.zeros((2, 4, 4, 1), dtype=np.float32)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        reasons = images.decode_into(store, [good, tmp_path / "bomb.png"], lambda path: read_image(path, GRAY, (4, 4)))
        filters = list(warnings.filters)
    assert reasons == [None, "declares 90,000,000 pixels, over the limit of 40,000,000 (a decompression bomb?)"]
    assert seen == [] and filters[0] == ("always", None, Warning, None, 0)
    assert np.array_equal(store[0], np.full((4, 4, 1), np.float32(51) / np.float32(255)))


@pytest.mark.parametrize("width,height", [(20000, 10000), (7000, 7000)])
def test_decompression_bomb_is_refused_before_decoding(tmp_path, width, height, header_only_png):
    path = tmp_path / "bomb.png"
    path.write_bytes(header_only_png(width, height))
    with pytest.raises(BadImage, match=f"declares {width * height:,} pixels, over the limit"):
        read_image(path, GRAY, (4, 4))


@pytest.mark.parametrize("name,content,reason", [
    ("empty.png", b"", "empty file"),
    ("text.png", b"not an image at all", "not an image in an allowed format"),
])
def test_unusable_files(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(BadImage, match=reason):
        read_image(tmp_path / name, GRAY, (4, 4))


def test_truncated_file_is_caught_by_decoding(tmp_path):
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8), mode="L")
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    (tmp_path / "t.png").write_bytes(buffer.getvalue()[:300])
    with pytest.raises(BadImage, match="cannot be decoded"):
        read_image(tmp_path / "t.png", GRAY, (4, 4))


def test_formats_outside_the_allow_list_are_refused(tmp_path):
    path = save(tmp_path / "x.ppm", Image.new("RGB", (4, 4)))
    with pytest.raises(BadImage, match="not an image in an allowed format"):
        read_image(path, RGB, (4, 4))


def test_load_images_skips_bad_files_or_refuses_them(image_folder):
    paths = sorted(image_folder.rglob("*"))
    paths = [p for p in paths if p.is_file()]
    x, ok, problems = load_images(paths, GRAY, (8, 8), np.float32)
    assert len(x) == 45 and ok.sum() == 45 and len(problems) == 4
    assert {p.name for p, _ in problems} == {"truncated.png", "notes.png", "empty.png", "readme.txt"}
    with pytest.raises(DataError, match=r"(and 3 more bad images)"):
        load_images(paths, GRAY, (8, 8), np.float32, on_bad="error")


def test_class_folders_refuse_empty_classes(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "dogs").mkdir()
    (tmp_path / "dogs" / "a.png").write_bytes(b"x")
    with pytest.raises(ConfigError, match="cats is empty"):
        class_folders(tmp_path)
    with pytest.raises(ConfigError, match="no class subfolders"):
        class_folders(tmp_path / "dogs")


def test_shift_moves_pixels_and_repeats_edges():
    batch = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 1)
    moved = shift(batch, np.array([[1, 0], [0, -1]]))
    assert moved[0, :, :, 0].tolist() == [[0, 1, 2], [0, 1, 2], [3, 4, 5]]          # down one row
    assert moved[1, :, :, 0].tolist() == [[10, 11, 11], [13, 14, 14], [16, 17, 17]]  # left one column


def test_rotation_by_a_quarter_turn_matches_rot90():
    batch = np.random.default_rng(0).random((1, 5, 5, 2)).astype(np.float32)
    turned = rotate(batch, np.array([np.pi / 2]))
    assert np.array_equal(turned[0], np.rot90(batch[0], k=1, axes=(0, 1)))


def test_augmenter_is_seeded_and_never_changes_its_input():
    batch = np.random.default_rng(0).random((16, 6, 6, 1)).astype(np.float32)
    original = batch.copy()
    augment = Augmenter(flip_horizontal=True, shift=1, rotate=15)
    first = augment(batch, np.random.default_rng(3))
    second = augment(batch, np.random.default_rng(3))
    assert np.array_equal(first, second) and not np.array_equal(first, batch)
    assert np.array_equal(batch, original) and first.dtype == np.float32


def test_shift_note_refuses_the_image_side_and_warns_past_a_quarter():
    assert shift_note(0, (8, 8)) is None and shift_note(2, (8, 8)) is None
    assert "3 is over a quarter of the smaller side of the 8x8 images (8 pixels)" in shift_note(3, (8, 8))
    assert "the 20x8 images (8 pixels)" in shift_note(7, (20, 8))
    with pytest.raises(ConfigError, match=r"shift: 8 is not below the smaller side of the 8x20 images \(8 pixels\)"):
        shift_note(8, (8, 20))


def test_sample_spreads_over_the_classes_and_within_each():
    files = {name: [Path(f"{name}/{i:04d}.png") for i in range(count)] for name, count in
             [("big", 1000), ("mid", 10), ("small", 5)]}
    sample = sample_files(files)
    per_class = {name: [p for p in sample if p.parent.name == name] for name in files}
    assert {name: len(paths) for name, paths in per_class.items()} == {"big": 185, "mid": 10, "small": 5}
    assert per_class["big"][0].name == "0000.png" and per_class["big"][-1].name == "0999.png"
    assert len(set(per_class["big"])) == 185 and sample == sample_files(files)
    assert len(sample_files({f"c{i}": [Path(f"c{i}/a.png")] for i in range(300)})) == 300  # one per class at least


def test_decoded_bytes_is_the_array_plus_one_image_per_thread():
    assert decoded_bytes(1000, (2000, 2000), 3, np.float32, workers=2) == 48_096_000_000  # 48e9 + 2 × 48e6
    assert decoded_bytes(10, (8, 8), 1, np.float64, workers=4) == 10 * 64 * 8 + 4 * 64 * 4 == 6_144


@pytest.fixture
def colour_files(tmp_path):
    """300 random 32x32 RGB PNGs with three bad files among them (first, middle, last)."""
    rng = np.random.default_rng(0)
    paths = []
    for index in range(300):
        path = tmp_path / f"{index:03d}.png"
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    for index in (0, 150, 299):
        paths[index].write_bytes(b"not an image")
    return paths


def test_load_images_decodes_into_one_array(colour_files, monkeypatch):
    monkeypatch.setattr(images, "CHUNK_BYTES", 2**16)  # rows close up over several chunks
    spec = ImageSpec("rgb", (32, 32))
    good = [p for i, p in enumerate(colour_files) if i not in (0, 150, 299)]
    expected = np.stack([read_image(path, spec, (32, 32)) for path in good])
    with pytest.raises(BadImage):  # a bad file makes Pillow import every format's plugin: not what is measured
        read_image(colour_files[0], spec, (32, 32))
    tracemalloc.start()
    try:
        x, ok, problems = load_images(colour_files, spec, (32, 32), np.float32)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert x.dtype == np.float32 and np.array_equal(x, expected)
    assert np.flatnonzero(~ok).tolist() == [0, 150, 299] and len(problems) == 3
    assert peak < 1.3 * x.nbytes  # stacking a list of decoded images needed twice the result
    wide, _, _ = load_images(colour_files, spec, (32, 32), np.float64)
    assert wide.dtype == np.float64 and np.array_equal(wide, expected.astype(np.float64))


def test_keep_rows_equals_boolean_indexing_without_a_copy(monkeypatch):
    monkeypatch.setattr(images, "CHUNK_BYTES", 3 * 4 * 4 * 2 * 4)  # three rows per chunk
    rng = np.random.default_rng(1)
    batch = rng.random((50, 4, 4, 2)).astype(np.float32)
    keep = rng.random(50) < 0.6
    original = batch.copy()
    kept = keep_rows(batch, keep)
    assert np.array_equal(kept, original[keep]) and np.shares_memory(kept, batch)


def test_pixel_statistics_from_value_counts_match_numpy_on_the_scaled_pixels(monkeypatch):
    monkeypatch.setattr(images, "CHUNK_BYTES", 7 * 5 * 5 * 3 * 8)  # seven images per pass
    pixels = np.random.default_rng(2).integers(0, 256, (50, 5, 5, 3), dtype=np.uint8)
    pixels[..., 2] = 77  # a constant channel
    rows = np.arange(3, 50, 2)
    mean, std = pixel_statistics(pixels, rows)
    wide = (pixels[rows].astype(np.float32) / np.float32(255)).astype(np.float64)
    assert np.allclose(mean, wide.mean(axis=(0, 1, 2)), rtol=1e-13, atol=0)
    assert np.allclose(std[:2], wide.std(axis=(0, 1, 2))[:2], rtol=1e-12, atol=0) and std[2] == 1.0


def test_read_image_is_the_pixels_divided_by_255_in_float32(tmp_path):
    path = save(tmp_path / "c.png", Image.fromarray(np.random.default_rng(0).integers(0, 256, (6, 5, 3), np.uint8)))
    pixels = read_pixels(path, RGB, (4, 4))  # resized from 6x5: on the 8-bit image, as before
    assert pixels.dtype == np.uint8 and pixels.shape == (4, 4, 3)
    assert np.array_equal(read_image(path, RGB, (4, 4)), pixels.astype(np.float32) / np.float32(255.0))


def test_training_images_peak_at_the_uint8_pixels(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "CHUNK_BYTES", 2**16)
    rng = np.random.default_rng(0)
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        for index in range(100):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / name / f"{index}.png")
    read_pixels(tmp_path / "a" / "0.png", RGB, (64, 64))  # Pillow's PNG plugin is imported before measuring
    tracemalloc.start()
    try:
        data = prepare_image_training({"train": tmp_path}, ImageSpec("rgb", (64, 64)), validation=0.2, test=0.1,
                                      normalize=True, on_bad="skip", rng=np.random.default_rng(0), dtype=np.float32)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert {name: len(x) for name, x in data.x.items()} == {"train": 210, "validation": 60, "test": 30}
    assert data.x["train"].shape == (210, 64, 64, 3) and data.x["train"].dtype == np.float32
    assert peak < 1.3 * 300 * 64 * 64 * 3  # the uint8 pixels once, and Pillow's buffers; float32 took 4.4 times that
