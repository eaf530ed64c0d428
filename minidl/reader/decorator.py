"""Reader decorators that run in the caller's thread: shuffle, compose, chain, map, firstn, cache.

Every decorator returns a new reader (a zero-argument callable); the wrapped readers are only
called when the new reader is, so each pass starts the pipeline afresh.
"""

import itertools

from ..core import random as _random
from ._validate import check_count
from .threaded import buffered, xmap_readers

__all__ = ["ComposeNotAligned", "buffered", "cache", "chain", "compose", "firstn",
           "map_readers", "shuffle", "xmap_readers"]


def map_readers(func, *readers):
    """A reader yielding ``func(a, b, ...)`` for the samples ``a, b, ...`` read side by side.

    It stops when the shortest reader stops, like ``map``.
    """

    def reader():
        return map(func, *(r() for r in readers))

    return reader


def shuffle(reader, buf_size):
    """A reader that shuffles ``reader``'s samples within consecutive windows of ``buf_size``.

    Samples are collected until the buffer holds ``buf_size`` of them, the buffer is emitted in a
    random order, and collection starts again; the last partial buffer is shuffled too. So the
    shuffle is global only when ``buf_size`` is at least the dataset size. The order is drawn from
    ``minidl.random.get_rng()`` at the start of every pass: ``paddle.init(seed=...)`` makes it
    reproducible, and each pass still gets a different order. ``buf_size=0`` passes the samples
    through in their order, as in v2 (where every window then holds one sample).
    """
    check_count("shuffle", "buf_size", buf_size, allow_zero=True)

    def data_reader():
        rng = _random.get_rng()
        buf = []
        for sample in reader():
            buf.append(sample)
            if len(buf) >= buf_size:  # buf_size 0: windows of one sample
                yield from _shuffled(buf, rng)
                buf = []
        if buf:
            yield from _shuffled(buf, rng)

    return data_reader


def _shuffled(buf, rng):
    # a permutation of indices rather than rng.shuffle(buf): samples may be tuples or arrays,
    # which numpy's in-place shuffle would try to treat as one array
    return [buf[i] for i in rng.permutation(len(buf))]


def chain(*readers):
    """A reader yielding all of the first reader's samples, then the second's, and so on."""

    def reader():
        return itertools.chain.from_iterable(r() for r in readers)

    return reader


class ComposeNotAligned(ValueError):
    """``compose(check_alignment=True)`` found readers of different lengths."""


_MISSING = object()  # a reader may legitimately yield None, so None cannot mark "exhausted"


def compose(*readers, check_alignment=True):
    """A reader that reads ``readers`` side by side and joins each step into one flat tuple.

    Tuple samples are spliced in, other samples become one field: readers yielding
    ``(1, 2)``, ``3`` and ``(4, 5)`` compose to ``(1, 2, 3, 4, 5)``. With ``check_alignment``
    a reader that ends before the others raises :class:`ComposeNotAligned`; without it the
    composed reader stops at the shortest one and drops the rest.
    """

    def as_tuple(sample):
        return sample if isinstance(sample, tuple) else (sample,)

    def join(samples):
        return sum(map(as_tuple, samples), ())

    def reader():
        iterators = [r() for r in readers]
        if not check_alignment:
            yield from map(join, zip(*iterators))
            return
        for step, samples in enumerate(itertools.zip_longest(*iterators, fillvalue=_MISSING)):
            if any(s is _MISSING for s in samples):
                ended = [i for i, s in enumerate(samples) if s is _MISSING]
                raise ComposeNotAligned(
                    f"compose: readers {ended} ended after {step} samples while the others go on; "
                    "pass check_alignment=False to stop at the shortest reader")
            yield join(samples)

    return reader


def firstn(reader, n):
    """A reader yielding at most the first ``n`` samples of ``reader``."""
    check_count("firstn", "n", n, allow_zero=True)

    def firstn_reader():
        # islice pulls exactly n samples, so the wrapped reader is not asked for one more
        return itertools.islice(reader(), n)

    return firstn_reader


def cache(reader):
    """A reader that reads ``reader`` fully on its first call and replays the samples after.

    Meant for small datasets whose parsing is slow; every sample is kept in memory.
    """
    samples = []
    loaded = False

    def cached_reader():
        nonlocal samples, loaded
        if not loaded:
            samples = list(reader())
            loaded = True
        return iter(samples)

    return cached_reader
