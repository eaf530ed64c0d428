"""paddle.dataset: cache and downloads, and each dataset read from tiny files in the real format.

No test touches the network: an autouse fixture makes every download attempt fail.
"""

import copyreg
import gzip
import hashlib
import io
import os
import pickle
import struct
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from minidl.core import random as minidl_random
from minidl.dataset import cifar, common, flowers, image, mnist, uci_housing
from minidl.dataset.common import DatasetFormatError, DatasetNotFound

#: every download fails here, as on a machine without network (conftest.offline)
pytestmark = pytest.mark.usefixtures("offline")


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def put(home, module, name, data):
    path = home / module / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ---- common ----

def test_download_returns_a_cached_file_with_the_right_md5(home, offline):
    path = put(home, "demo", "file.bin", b"hello")
    url = "https://example.invalid/x/file.bin"
    assert common.download(url, "demo", md5(path)) == str(path)
    assert offline == []  # no download was attempted


def test_data_home_defaults_to_the_user_cache(monkeypatch):
    monkeypatch.delenv("MINIDL_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", "/home/someone")
    assert common.data_home() == "/home/someone/.cache/minidl/dataset"


def test_download_failure_names_file_md5_and_directory(home, offline):
    with pytest.raises(DatasetNotFound) as info:
        common.download("https://example.invalid/x/file.bin", "demo", "0" * 32, save_name="y.bin")
    message = str(info.value)
    assert "y.bin" in message and "0" * 32 in message and "(missing)" in message
    assert str(home / "demo") in message
    assert "network disabled in tests" in message
    assert offline == ["https://example.invalid/x/file.bin"]


def test_download_reports_a_damaged_cache_file(home):
    put(home, "demo", "file.bin", b"truncated")
    with pytest.raises(DatasetNotFound, match="present but its md5 is " + hashlib.md5(
            b"truncated").hexdigest()):
        common.download("https://example.invalid/file.bin", "demo", "1" * 32)


def test_download_writes_a_verified_file_atomically(home, monkeypatch):
    payload = b"x" * 3000
    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout=None: io.BytesIO(payload))
    path = common.download("https://example.invalid/f.bin", "demo",
                           hashlib.md5(payload).hexdigest())
    assert open(path, "rb").read() == payload
    assert os.listdir(home / "demo") == ["f.bin"]  # no temporary file left behind


def test_download_with_wrong_md5_keeps_nothing(home, monkeypatch):
    monkeypatch.setattr("urllib.request.urlopen",
                        lambda url, timeout=None: io.BytesIO(b"tampered"))
    with pytest.raises(DatasetNotFound, match="expected " + "2" * 32):
        common.download("https://example.invalid/f.bin", "demo", "2" * 32)
    assert os.listdir(home / "demo") == []


def test_offline_mode_does_not_try_to_download(home, offline, monkeypatch):
    monkeypatch.setenv("MINIDL_OFFLINE", "1")
    with pytest.raises(DatasetNotFound, match="MINIDL_OFFLINE is set"):
        common.download("https://example.invalid/f.bin", "demo", "3" * 32)
    assert offline == []


def test_importing_datasets_touches_neither_network_nor_disk(tmp_path):
    script = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network used at import')\n"
        "socket.socket.connect = socket.socket.connect_ex = refuse\n"
        "socket.getaddrinfo = socket.create_connection = refuse\n"
        "import minidl.dataset, minidl.reader, minidl.minibatch\n")
    env = dict(os.environ, MINIDL_DATA_HOME=str(tmp_path / "home"))
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60)
    assert not (tmp_path / "home").exists()


# ---- MNIST ----

def idx_bytes(array, magic=None):
    """Gzipped IDX bytes, written independently of minidl's writer."""
    array = np.asarray(array, dtype=np.uint8)
    magic = (0x08 << 8 | array.ndim) if magic is None else magic
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    return gzip.compress(header + array.tobytes())


def tiny_mnist(home, monkeypatch, images, labels, prefix="train"):
    image_name = {"train": mnist.TRAIN_IMAGE, "t10k": mnist.TEST_IMAGE}[prefix]
    label_name = {"train": mnist.TRAIN_LABEL, "t10k": mnist.TEST_LABEL}[prefix]
    image_path = put(home, "mnist", image_name, idx_bytes(images))
    label_path = put(home, "mnist", label_name, idx_bytes(labels))
    constant = "TRAIN" if prefix == "train" else "TEST"
    monkeypatch.setattr(mnist, f"{constant}_IMAGE_MD5", md5(image_path))
    monkeypatch.setattr(mnist, f"{constant}_LABEL_MD5", md5(label_path))
    return image_path, label_path


@pytest.mark.parametrize("split, prefix", [(mnist.train, "train"), (mnist.test, "t10k")])
def test_mnist_reads_upstream_idx_files(home, monkeypatch, split, prefix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(250, 28, 28), dtype=np.uint8)
    images[0, 0, :3] = [0, 255, 51]
    labels = rng.integers(0, 10, size=250, dtype=np.uint8)
    tiny_mnist(home, monkeypatch, images, labels, prefix)
    samples = list(split()())
    assert len(samples) == 250  # not a multiple of the 100-image scaling block
    image, label = samples[0]
    assert image.dtype == np.float32 and image.shape == (784,)
    assert image[:3].tolist() == [-1.0, 1.0, pytest.approx(51 / 255 * 2 - 1)]
    assert type(label) is int
    expected = images.reshape(250, 784).astype(np.float64) / 255 * 2 - 1
    np.testing.assert_allclose(np.stack([s[0] for s in samples]), expected, atol=1e-6)
    assert [s[1] for s in samples] == labels.tolist()


def test_mnist_offline_error_names_files_and_offers_the_subset(home):
    with pytest.raises(DatasetNotFound) as info:
        mnist.train()
    message = str(info.value)
    for name, digest in [(mnist.TRAIN_IMAGE, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                         (mnist.TRAIN_LABEL, "d53e105ee54ea40749a09fcbcd1e9432")]:
        assert name in message and digest in message
    assert str(home / "mnist") in message
    assert "subset_train()" in message


@pytest.mark.parametrize("damage, complaint", [
    (lambda img, lab: (idx_bytes(img, magic=0x0801), idx_bytes(lab)), "magic number 0x00000801"),
    (lambda img, lab: (idx_bytes(img)[:-9], idx_bytes(lab)), "gzip"),
    (lambda img, lab: (gzip.compress(gzip.decompress(idx_bytes(img))[:-5]), idx_bytes(lab)),
     "the file holds"),
    (lambda img, lab: (idx_bytes(img), idx_bytes(lab[:-1])), "labels"),
    (lambda img, lab: (idx_bytes(img[:, :, :27]), idx_bytes(lab)), "expected 28x28"),
])
def test_mnist_corrupt_files_raise_a_clear_error(tmp_path, damage, complaint):
    images = np.zeros((3, 28, 28), np.uint8)
    labels = np.array([1, 2, 3], np.uint8)
    image_bytes, label_bytes = damage(images, labels)
    image_path, label_path = tmp_path / "img.gz", tmp_path / "lab.gz"
    image_path.write_bytes(image_bytes)
    label_path.write_bytes(label_bytes)
    with pytest.raises(DatasetFormatError, match=complaint) as info:
        list(mnist.reader_creator(str(image_path), str(label_path))())
    assert "img.gz" in str(info.value)


def test_write_idx_round_trips_and_is_reproducible(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    mnist.write_idx(tmp_path / "a.gz", array)
    mnist.write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == gzip.decompress(idx_bytes(array))
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "a.gz", 3), array)


def test_shipped_mnist_subset_loads_offline(home, offline):
    train = list(mnist.subset_train()())
    test = list(mnist.subset_test()())
    assert (len(train), len(test)) == (4000, 1000)
    for samples, per_class in ((train, 400), (test, 100)):
        images = np.stack([s[0] for s in samples])
        labels = np.array([s[1] for s in samples])
        assert images.dtype == np.float32 and images.shape[1] == 784
        assert images.min() == -1.0 and images.max() == 1.0
        assert np.bincount(labels, minlength=10).tolist() == [per_class] * 10
        assert len(set(labels[:50].tolist())) == 10  # shuffled, not sorted by class
        # real digits: mostly background with a stroke, not noise
        assert 0.05 < (images > 0).mean() < 0.35
    train_images = {s[0].tobytes() for s in train}
    assert not any(s[0].tobytes() in train_images for s in test)
    assert offline == [] and not home.exists()
    assert "subset_train()" in mnist.SUBSET_INFO and "4,000" in mnist.SUBSET_INFO
    assert "SHIPPED" in mnist.subset_train.__doc__


def test_shipped_files_match_setup_cfg_package_data():
    names = sorted(os.listdir(mnist.SUBSET_DIR))
    assert all(n.endswith(".gz") or n.endswith(".md") for n in names)
    assert set(sum(mnist.SUBSET_FILES.values(), ())) <= set(names)
    assert "ATTRIBUTION.md" in names
    size = sum(os.path.getsize(os.path.join(mnist.SUBSET_DIR, n)) for n in names)
    assert size < 2_000_000


# ---- CIFAR ----

def _py2_style_array(array):
    # Python 2 pickled the raw bytes (and the typecode) as str, which Python 3 reads back with
    # encoding="latin1" as a str that NumPy accepts; Python 3's own protocol 2 would instead
    # route bytes through _codecs.encode, which no genuine CIFAR file contains
    reconstruct, (cls, shape, typecode), (version, dims, dtype, fortran, raw) = array.__reduce__()
    return (reconstruct, (cls, shape, typecode.decode("latin1")),
            (version, dims, dtype, fortran, raw.decode("latin1")))


class Py2StylePickler(pickle.Pickler):
    dispatch_table = {**copyreg.dispatch_table, np.ndarray: _py2_style_array}


def cifar_pickle(obj):
    """Protocol 2 bytes laid out as the Python 2 / NumPy 1.x pickles in the CIFAR archives."""
    out = io.BytesIO()
    Py2StylePickler(out, protocol=2).dump(obj)
    data = out.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"_codecs" not in data
    return data


def cifar_batch(rng, n, label_key, classes):
    return {"batch_label": "training batch", label_key: rng.integers(0, classes, n).tolist(),
            "data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
            "filenames": [f"img_{i}.png" for i in range(n)]}


def write_tar(path, members):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def tiny_cifar10(home, monkeypatch, members):
    path = home / "cifar" / cifar.CIFAR10_FILE
    path.parent.mkdir(parents=True)
    write_tar(path, members)
    monkeypatch.setattr(cifar, "CIFAR10_MD5", md5(path))


def test_cifar10_train_and_test_members(home, monkeypatch):
    rng = np.random.default_rng(1)
    b2, b1, t = (cifar_batch(rng, n, "labels", 10) for n in (3, 4, 5))
    # archive order, not name order, as in Paddle (the real archive is not sorted either)
    tiny_cifar10(home, monkeypatch, [
        ("cifar-10-batches-py/data_batch_2", cifar_pickle(b2)),
        ("cifar-10-batches-py/readme.html", b"<html></html>"),
        ("cifar-10-batches-py/test_batch", cifar_pickle(t)),
        ("cifar-10-batches-py/data_batch_1", cifar_pickle(b1)),
        ("cifar-10-batches-py/batches.meta", cifar_pickle({"label_names": ["a"]})),
    ])
    train = list(cifar.train10()())
    expected = np.concatenate([b2["data"], b1["data"]]) / 255.0
    assert len(train) == 7
    assert all(s[0].dtype == np.float32 and s[0].shape == (3072,) for s in train)
    np.testing.assert_allclose(np.stack([s[0] for s in train]), expected, rtol=1e-6)
    assert [s[1] for s in train] == b2["labels"] + b1["labels"]
    test = list(cifar.test10()())
    assert [s[1] for s in test] == t["labels"]
    np.testing.assert_allclose(test[2][0], t["data"][2] / 255.0, rtol=1e-6)


def test_cifar100_uses_fine_labels(home, monkeypatch):
    rng = np.random.default_rng(2)
    train, test = cifar_batch(rng, 6, "fine_labels", 100), cifar_batch(rng, 2, "fine_labels", 100)
    train["coarse_labels"] = [0] * 6
    path = home / "cifar" / cifar.CIFAR100_FILE
    path.parent.mkdir(parents=True)
    write_tar(path, [("cifar-100-python/train", cifar_pickle(train)),
                     ("cifar-100-python/test", cifar_pickle(test)),
                     ("cifar-100-python/meta", cifar_pickle({}))])
    monkeypatch.setattr(cifar, "CIFAR100_MD5", md5(path))
    assert [s[1] for s in cifar.train100()()] == train["fine_labels"]
    assert [s[1] for s in cifar.test100()()] == test["fine_labels"]


class Exploit:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.remove, (self.target,))


def test_restricted_unpickler_rejects_a_malicious_batch(home, monkeypatch, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("still here")
    evil = pickle.dumps({"data": Exploit(str(victim)), "labels": [0]}, protocol=2)
    tiny_cifar10(home, monkeypatch, [("cifar-10-batches-py/data_batch_1", evil)])
    with pytest.raises(cifar.UnsafePickleError, match=r"refusing to unpickle posix\.remove") as e:
        list(cifar.train10()())
    assert "data_batch_1" in str(e.value)
    assert victim.read_text() == "still here"


def test_restricted_unpickler_rejects_builtins_too():
    evil = pickle.dumps(eval, protocol=2)  # a reference to builtins.eval
    with pytest.raises(cifar.UnsafePickleError, match=r"__builtin__\.eval"):
        cifar.RestrictedUnpickler(io.BytesIO(evil)).load()


@pytest.mark.parametrize("protocol", [3, 4])
def test_restricted_unpickler_loads_numpy_arrays(protocol):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    data = pickle.dumps({"data": array, "labels": [1, 2, 3]}, protocol=protocol)
    loaded = cifar.RestrictedUnpickler(io.BytesIO(data)).load()
    np.testing.assert_array_equal(loaded["data"], array)


def test_restricted_unpickler_reads_python2_numpy1_pickles():
    array = np.arange(3072 * 2, dtype=np.int64).reshape(2, 3072).astype(np.uint8)
    data = cifar_pickle({"data": array})
    assert b"numpy.core.multiarray\n_reconstruct" in data  # NumPy 1.x's module name
    loaded = cifar.RestrictedUnpickler(io.BytesIO(data)).load()
    assert loaded["data"].dtype == np.uint8
    np.testing.assert_array_equal(loaded["data"], array)


def test_cifar_batch_with_wrong_content_is_a_format_error(home, monkeypatch):
    bad = {"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}
    tiny_cifar10(home, monkeypatch, [("cifar-10-batches-py/data_batch_1", pickle.dumps(bad))])
    with pytest.raises(DatasetFormatError, match=r"data_batch_1: expected uint8 data"):
        list(cifar.train10()())


def test_cifar_offline_error_names_the_archive(home):
    with pytest.raises(DatasetNotFound, match="cifar-100-python.tar.gz  md5 "
                       "eb9058c3a382ffc7106e4002c42a8d85"):
        cifar.train100()


# ---- Flowers ----

def jpeg(rgb, size=(40, 30)):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, tuple(rgb)).save(out, format="JPEG", quality=95)
    return out.getvalue()


@pytest.fixture
def tiny_flowers(home, monkeypatch):
    pytest.importorskip("PIL")
    from scipy.io import savemat

    colours = {i: (20 * i, 10 + 5 * i, 200 - 15 * i) for i in range(1, 9)}
    labels = np.array([[5, 1, 102, 7, 3, 3, 9, 2]])  # 1-based, image i has labels[0, i-1]
    setid = {"trnid": np.array([[2, 4]]), "valid": np.array([[8]]),
             "tstid": np.array([[1, 3, 5, 6, 7]])}
    folder = home / "flowers"
    folder.mkdir(parents=True)
    # archive order 3, 1, ... to check that the archive, not setid, decides the order
    order = [3, 1, 2, 4, 5, 6, 7, 8]
    write_tar(folder / flowers.DATA_FILE,
              [(f"jpg/image_{i:05d}.jpg", jpeg(colours[i], (40 + i, 30))) for i in order])
    savemat(folder / flowers.LABEL_FILE, {"labels": labels})
    savemat(folder / flowers.SETID_FILE, setid)
    for constant, name in (("DATA_MD5", flowers.DATA_FILE), ("LABEL_MD5", flowers.LABEL_FILE),
                           ("SETID_MD5", flowers.SETID_FILE)):
        monkeypatch.setattr(flowers, constant, md5(folder / name))
    return colours, labels[0]


def test_flowers_splits_follow_paddles_swap(tiny_flowers):
    colours, labels = tiny_flowers
    train = list(flowers.train(use_xmap=False)())
    assert [s[1] for s in train] == [labels[i - 1] - 1 for i in (3, 1, 5, 6, 7)]
    assert [s[1] for s in train][:2] == [101, 4]  # labels 0..101
    assert [s[1] for s in flowers.test(use_xmap=False)()] == [labels[1] - 1, labels[3] - 1]
    assert [s[1] for s in flowers.valid(use_xmap=False)()] == [labels[7] - 1]


def test_flowers_test_sample_is_bgr_chw_minus_mean(tiny_flowers):
    colours, _ = tiny_flowers
    image, label = next(iter(flowers.test(use_xmap=False)()))  # image 2 comes first
    assert image.dtype == np.float32 and image.shape == (3 * 224 * 224,)
    chw = image.reshape(3, 224, 224)
    r, g, b = colours[2]
    expected = np.array([b, g, r]) - np.array([103.94, 116.78, 123.68])
    np.testing.assert_allclose(chw.mean(axis=(1, 2)), expected, atol=2.0)  # JPEG is lossy
    assert chw.std(axis=(1, 2)).max() < 2.0


def test_flowers_train_crops_are_reproducible_with_a_seed(tiny_flowers):
    minidl_random.seed(3)
    first = [s[0] for s in flowers.train(use_xmap=False)()]
    minidl_random.seed(3)
    again = [s[0] for s in flowers.train(use_xmap=False)()]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_flowers_xmap_reads_the_same_samples(tiny_flowers):
    plain = sorted((s[1], float(s[0].sum())) for s in flowers.valid(use_xmap=False)())
    threaded = sorted((s[1], float(s[0].sum())) for s in flowers.valid(use_xmap=True)())
    assert plain == threaded


def test_simple_transform_crops_and_flips_like_paddle():
    pytest.importorskip("PIL")
    image = np.arange(8 * 12 * 3, dtype=np.uint8).reshape(8, 12, 3)  # short side already 8
    centre = flowers.simple_transform(image, 8, 4, is_train=False)
    np.testing.assert_array_equal(centre, image[2:6, 4:8].transpose(2, 0, 1))
    windows = {}
    for top in range(5):
        for left in range(9):
            crop = image[top:top + 4, left:left + 4]
            windows[(top, left, False)] = crop.transpose(2, 0, 1)
            windows[(top, left, True)] = crop[:, ::-1].transpose(2, 0, 1)
    seen = set()
    rng = np.random.default_rng(0)
    for _ in range(40):
        out = flowers.simple_transform(image, 8, 4, is_train=True, mean=[1, 2, 3], rng=rng)
        restored = out + np.array([1, 2, 3], np.float32)[:, None, None]
        match = [key for key, w in windows.items() if np.array_equal(restored, w)]
        assert len(match) == 1
        seen.add(match[0])
    assert {flip for _, _, flip in seen} == {False, True}
    assert len(seen) > 10


def test_flowers_resize_keeps_the_aspect_ratio():
    pytest.importorskip("PIL")
    tall = np.zeros((300, 200, 3), np.uint8)
    assert image.resize_short(tall, 256).shape == (384, 256, 3)
    wide = np.zeros((100, 333, 3), np.uint8)
    assert image.resize_short(wide, 256).shape == (256, 852, 3)


def test_flowers_without_pillow_says_how_to_install_it(home, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # makes "from PIL import Image" fail
    with pytest.raises(ImportError, match="pip install pillow"):
        flowers.train()


def test_flowers_offline_error_names_all_three_files(home):
    pytest.importorskip("PIL")
    with pytest.raises(DatasetNotFound) as info:
        flowers.valid()
    for name, digest in [("102flowers.tgz", "33bfc11892f1e405ca193ae9a9f2a118"),
                         ("imagelabels.mat", "e0620be6f572b9609742df49c70aed4d"),
                         ("setid.mat", "a5357ecc9cb78c4bef273ce3793fc85c")]:
        assert f"{name}  md5 {digest}" in str(info.value)


# ---- UCI housing ----

def test_uci_housing_normalises_with_whole_file_statistics(home, monkeypatch):
    rng = np.random.default_rng(4)
    table = rng.uniform(0, 100, size=(10, 14))
    text = "\n".join(" ".join(f"{v:.4f}" for v in row) for row in table) + "\n"
    path = put(home, "uci_housing", "housing.data", text.encode())
    monkeypatch.setattr(uci_housing, "MD5", md5(path))
    table = np.loadtxt(path)
    features = np.empty((10, 13))
    for j in range(13):
        column = table[:, j]
        features[:, j] = (column - column.mean()) / (column.max() - column.min())
    train = list(uci_housing.train()())
    test = list(uci_housing.test()())
    assert (len(train), len(test)) == (8, 2)
    x, y = train[0]
    assert x.dtype == y.dtype == np.float32 and x.shape == (13,) and y.shape == (1,)
    np.testing.assert_allclose(np.stack([s[0] for s in train + test]), features, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose([s[1][0] for s in train + test], table[:, 13], rtol=1e-6)


def test_uci_housing_rejects_a_ragged_file(home, monkeypatch):
    path = put(home, "uci_housing", "housing.data", b"1 2 3\n4 5\n")
    monkeypatch.setattr(uci_housing, "MD5", md5(path))
    with pytest.raises(DatasetFormatError, match="not a whole number of rows of 14"):
        uci_housing.train()


def test_uci_housing_offline_error(home):
    with pytest.raises(DatasetNotFound, match="housing.data  md5 d4accdce7a25600298819f8e28e8d593"):
        uci_housing.test()
