"""The one random state minidl draws from (initialisation, dropout, shuffling).

``paddle.init(seed=...)`` reseeds it. As in Paddle, the seed is 1 unless chosen otherwise,
so a script initialises its weights the same way every run; ``paddle.init(seed=0)`` draws
the seed from the clock.
"""

import numpy as np

#: Paddle's default seed
DEFAULT_SEED = 1

_rng = np.random.default_rng(DEFAULT_SEED)


def seed(value):
    """Reseed the global generator (``None``: from the operating system's entropy)."""
    global _rng
    _rng = np.random.default_rng(value)


def get_rng():
    """The global ``numpy.random.Generator``."""
    return _rng
