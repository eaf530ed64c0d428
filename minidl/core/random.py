"""The one random state minidl draws from (initialisation, dropout, shuffling).

``paddle.init(seed=...)`` reseeds it, which makes a training run reproducible.
"""

import numpy as np

_rng = np.random.default_rng()


def seed(value):
    """Reseed the global generator."""
    global _rng
    _rng = np.random.default_rng(value)


def get_rng():
    """The global ``numpy.random.Generator``."""
    return _rng
