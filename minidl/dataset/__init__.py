"""``paddle.dataset``: readers for the datasets Paddle v2 shipped, in their upstream formats.

Each module downloads its files (md5-checked) into ``$MINIDL_DATA_HOME/<module>/`` (default
``~/.cache/minidl/dataset/<module>/``; ``sentiment`` keeps NLTK's ``corpora/``) when a reader is
created (``imikolov`` and ``movielens`` readers: when first iterated, as in Paddle), and raises
:class:`~minidl.dataset.common.DatasetNotFound`, naming the files, their md5 and the directory,
when it cannot. ``mnist.subset_train()`` / ``mnist.subset_test()`` need no download: they read a
real MNIST subset shipped with minidl.
"""

from . import cifar, common, flowers, imdb, imikolov, mnist, movielens, sentiment, uci_housing
from . import conll05, wmt14
from . import image, mq2007, voc2012, wmt16
from .common import DatasetFormatError, DatasetNotFound

__all__ = ["DatasetFormatError", "DatasetNotFound", "cifar", "common", "conll05", "flowers",
           "image", "imdb", "imikolov", "mnist", "movielens", "mq2007", "sentiment",
           "uci_housing", "voc2012", "wmt14", "wmt16"]
