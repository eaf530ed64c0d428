"""paddle.image (minidl.dataset.image): decoding to BGR / grey, the crops, flip and transpose
checked against index-by-index loops, simple_transform and batch_images_from_tar."""

import io
import os
import pickle
import tarfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl.v2.image as image

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


def png(array):
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


RGB = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)


def test_load_image_bytes_gives_bgr_or_grey():
    bgr = image.load_image_bytes(png(RGB))
    assert bgr.shape == (5, 7, 3) and bgr.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(bgr[:, :, c], RGB[:, :, 2 - c])
    grey = image.load_image_bytes(png(RGB), is_color=False)
    luma = RGB[:, :, 0] * 0.299 + RGB[:, :, 1] * 0.587 + RGB[:, :, 2] * 0.114
    assert grey.shape == (5, 7)
    assert np.abs(grey - luma).max() <= 1.0
    with pytest.raises(ValueError, match="not a decodable image"):
        image.load_image_bytes(b"not an image")


def test_load_image_and_load_and_transform_read_a_file(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(png(RGB))
    np.testing.assert_array_equal(image.load_image(str(path)), RGB[:, :, ::-1])
    out = image.load_and_transform(str(path), 5, 3, is_train=False, mean=[1, 2, 3])
    expected = RGB[1:4, 2:5, ::-1].transpose(2, 0, 1) - np.array([1, 2, 3])[:, None, None]
    np.testing.assert_array_equal(out, expected.astype(np.float32))


@pytest.mark.parametrize("shape, size, expected", [
    ((300, 200, 3), 256, (384, 256, 3)), ((100, 333, 3), 256, (256, 852, 3)),
    ((50, 50), 20, (20, 20)), ((9, 4), 3, (6, 3))])
def test_resize_short_floors_the_long_side(shape, size, expected):
    assert image.resize_short(np.zeros(shape, np.uint8), size).shape == expected


def test_resize_short_keeps_a_flat_image_flat_for_uint8_and_float():
    flat = np.full((12, 20, 3), 77, np.uint8)
    np.testing.assert_array_equal(image.resize_short(flat, 6), np.full((6, 10, 3), 77))
    floats = np.full((12, 20, 2), 0.25, np.float32)
    out = image.resize_short(floats, 6)
    assert out.shape == (6, 10, 2)
    np.testing.assert_allclose(out, 0.25, atol=1e-6)


@settings(max_examples=30)
@given(h=st.integers(1, 9), w=st.integers(1, 9), c=st.integers(1, 4), data=st.data())
def test_crops_flip_and_chw_against_loops(h, w, c, data):
    im = np.arange(h * w * c).reshape(h, w, c)
    chw = image.to_chw(im)
    assert all(chw[k, i, j] == im[i, j, k] for i in range(h) for j in range(w) for k in range(c))
    flipped = image.left_right_flip(im)
    assert all(flipped[i, j, k] == im[i, w - 1 - j, k]
               for i in range(h) for j in range(w) for k in range(c))
    size = data.draw(st.integers(1, min(h, w)))
    centre = image.center_crop(im, size)
    top, left = (h - size) // 2, (w - size) // 2
    assert centre.shape == (size, size, c)
    assert all(centre[i, j, 0] == im[top + i, left + j, 0]
               for i in range(size) for j in range(size))
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    crop = image.random_crop(im, size, rng=rng)
    t, lf = np.argwhere(im[:, :, 0] == crop[0, 0, 0])[0]   # values are unique
    np.testing.assert_array_equal(crop, im[t:t + size, lf:lf + size])


def test_random_crop_reaches_every_position_and_follows_the_rng():
    im = np.arange(4 * 5).reshape(4, 5)
    rng = np.random.default_rng(1)
    corners = {int(image.random_crop(im, 2, rng=rng)[0, 0]) for _ in range(200)}
    assert corners == {int(im[t, lf]) for t in range(3) for lf in range(4)}
    a = image.random_crop(im, 3, rng=np.random.default_rng(5))
    b = image.random_crop(im, 3, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_bad_crop_sizes_and_orders():
    im = np.zeros((4, 6, 3))
    with pytest.raises(ValueError, match="center_crop: crop size 5 does not fit an image of 4x6"):
        image.center_crop(im, 5)
    with pytest.raises(ValueError, match="random_crop: crop size 0"):
        image.random_crop(im, 0)
    with pytest.raises(ValueError, match="to_chw: image has 3 axes, order"):
        image.to_chw(im, order=(1, 0))


def test_simple_transform_grey_and_elementwise_mean():
    grey = np.arange(6 * 8, dtype=np.uint8).reshape(6, 8)
    out = image.simple_transform(grey, 6, 4, is_train=False, is_color=False)
    np.testing.assert_array_equal(out, grey[1:5, 2:6].astype(np.float32))   # no transpose
    mean = np.arange(3 * 4 * 4, dtype=np.float32).reshape(3, 4, 4)
    colour = np.repeat(grey[:, :, None], 3, axis=2)
    out = image.simple_transform(colour, 6, 4, is_train=False, mean=mean)
    np.testing.assert_array_equal(out + mean, colour[1:5, 2:6].transpose(2, 0, 1))


def test_simple_transform_training_flips_about_half_the_time():
    im = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)   # crop = whole image
    rng = np.random.default_rng(2)
    plain = im.transpose(2, 0, 1).astype(np.float32)
    flips = 0
    for _ in range(200):
        out = image.simple_transform(im, 4, 4, is_train=True, rng=rng)
        if not np.array_equal(out, plain):
            np.testing.assert_array_equal(out, plain[:, :, ::-1])
            flips += 1
    assert 60 < flips < 140


def test_batch_images_from_tar(tmp_path):
    data_file = str(tmp_path / "imgs.tar")
    contents = {f"jpg/{i}.png": png(np.full((2, 2, 3), i, np.uint8)) for i in range(5)}
    with tarfile.open(data_file, "w") as archive:
        for name, data in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    img2label = {"jpg/0.png": 10, "jpg/2.png": 12, "jpg/3.png": 13, "jpg/4.png": 14}
    meta = image.batch_images_from_tar(data_file, "train", img2label, num_per_batch=3)
    assert meta == os.path.join(data_file + "_batch", "train.txt")
    with open(meta) as f:
        paths = f.read().split()
    assert [os.path.basename(p) for p in paths] == ["batch_0", "batch_1"]
    assert all(os.path.isabs(p) for p in paths)
    batches = []
    for path in paths:
        with open(path, "rb") as f:
            batches.append(pickle.load(f))
    assert [b["label"] for b in batches] == [[10, 12, 13], [14]]
    assert batches[0]["data"][1] == contents["jpg/2.png"]
    # a second call finds the folder and rewrites nothing
    os.remove(paths[1])
    assert image.batch_images_from_tar(data_file, "train", img2label, 3) == meta
    assert not os.path.exists(paths[1])
