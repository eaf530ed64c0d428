"""Reader decorators (paddle.reader) and paddle.batch."""

import threading
import time

import numpy as np
import pytest

import minidl
from minidl.core import random as minidl_random
from minidl import reader as R
from minidl.reader.minibatch import batch


def counting(n, pulled=None):
    """A reader of 0..n-1 that records in ``pulled`` how many samples were taken."""

    def reader():
        for i in range(n):
            if pulled is not None:
                pulled.append(i)
            yield i

    return reader


def endless():
    def reader():
        i = 0
        while True:
            yield i
            i += 1

    return reader


def wait_for_threads(baseline, timeout=3.0):
    """The live thread count drops back to ``baseline`` (workers exited)."""
    deadline = time.monotonic() + timeout
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.02)
    return threading.active_count() <= baseline


# ---- shuffle ----

def test_shuffle_permutes_within_each_buffer_window():
    minidl_random.seed(0)
    out = list(R.shuffle(counting(10), buf_size=3)())
    assert sorted(out) == list(range(10))
    windows = [out[0:3], out[3:6], out[6:9], out[9:]]
    assert [sorted(w) for w in windows] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_shuffle_is_reproducible_with_a_seed_and_differs_between_passes():
    reader = R.shuffle(counting(200), buf_size=64)
    minidl.init(seed=7)
    first, second = list(reader()), list(reader())
    minidl.init(seed=7)
    assert list(reader()) == first
    assert first != second  # each pass draws a new order
    minidl_random.seed(8)
    assert list(reader()) != first
    assert first != list(range(200))


def test_shuffle_keeps_tuple_and_array_samples_intact():
    samples = [(np.full(3, i), i) for i in range(6)]
    out = list(R.shuffle(lambda: iter(samples), buf_size=6)())
    assert sorted(label for _, label in out) == list(range(6))
    assert all(np.array_equal(image, np.full(3, label)) for image, label in out)


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_shuffle_rejects_bad_buffer_size(bad):
    with pytest.raises(ValueError, match="shuffle: buf_size must be a non-negative integer"):
        R.shuffle(counting(3), bad)


# ---- buffered ----

def test_buffered_keeps_order_and_all_samples():
    assert list(R.buffered(counting(100), size=7)()) == list(range(100))


def test_buffered_reraises_the_readers_error():
    def failing():
        yield 1
        raise RuntimeError("disk on fire")

    reader = R.buffered(failing, size=2)
    with pytest.raises(RuntimeError, match="disk on fire"):
        list(reader())


def test_buffered_stops_its_thread_when_the_consumer_stops_early():
    baseline = threading.active_count()
    taken = list(R.firstn(R.buffered(endless(), size=4), 10)())
    assert taken == list(range(10))
    assert wait_for_threads(baseline)


# ---- compose / chain / map / firstn / cache ----

def test_compose_flattens_tuples_like_paddle():
    a = lambda: iter([(1, 2), (10, 20)])  # noqa: E731
    b = lambda: iter([3, 30])  # noqa: E731
    c = lambda: iter([(4, 5), (40, 50)])  # noqa: E731
    assert list(R.compose(a, b, c)()) == [(1, 2, 3, 4, 5), (10, 20, 30, 40, 50)]


def test_compose_raises_when_readers_are_not_aligned():
    reader = R.compose(counting(3), counting(5))
    with pytest.raises(R.ComposeNotAligned, match=r"readers \[0\] ended after 3 samples"):
        list(reader())
    assert issubclass(R.ComposeNotAligned, ValueError)


def test_compose_without_alignment_check_stops_at_the_shortest():
    assert list(R.compose(counting(3), counting(5), check_alignment=False)()) == [
        (0, 0), (1, 1), (2, 2)]


def test_compose_accepts_none_samples():
    nones = lambda: iter([None, None])  # noqa: E731
    assert list(R.compose(nones, counting(2))()) == [(None, 0), (None, 1)]


def test_chain_and_map_readers():
    assert list(R.chain(counting(2), counting(3))()) == [0, 1, 0, 1, 2]
    assert list(R.map_readers(lambda a, b: a * 10 + b, counting(3), counting(4))()) == [0, 11, 22]


def test_firstn_takes_exactly_n_samples_from_the_reader():
    pulled = []
    assert list(R.firstn(counting(10, pulled), 4)()) == [0, 1, 2, 3]
    assert pulled == [0, 1, 2, 3]  # the wrapped reader was not asked for a fifth
    assert list(R.firstn(counting(3), 10)()) == [0, 1, 2]
    assert list(R.firstn(counting(3), 0)()) == []
    with pytest.raises(ValueError, match="firstn: n must be a non-negative integer"):
        R.firstn(counting(3), -1)


def test_readers_restart_on_every_call():
    reader = R.chain(R.shuffle(counting(5), 2), counting(2))
    assert len(list(reader())) == len(list(reader())) == 7


def test_cache_reads_the_wrapped_reader_once():
    calls = []

    def source():
        calls.append(1)
        return iter([1, 2, 3])

    reader = R.cache(source)
    assert list(reader()) == list(reader()) == [1, 2, 3]
    assert len(calls) == 1


# ---- xmap_readers ----

def slow_square(x):
    # uneven work so that threads finish out of order
    time.sleep(0.001 * ((x * 7) % 5))
    return x * x


def test_xmap_order_true_preserves_the_readers_order():
    reader = R.xmap_readers(slow_square, counting(60), process_num=4, buffer_size=8, order=True)
    assert list(reader()) == [i * i for i in range(60)]
    assert list(reader()) == [i * i for i in range(60)]  # reusable, unlike Paddle v2's first one


def test_xmap_unordered_yields_every_result_once():
    reader = R.xmap_readers(slow_square, counting(60), process_num=4, buffer_size=8)
    assert sorted(reader()) == [i * i for i in range(60)]


def test_xmap_reraises_the_mappers_error():
    def mapper(x):
        if x == 5:
            raise KeyError("sample 5 is broken")
        return x

    reader = R.xmap_readers(mapper, counting(20), process_num=3, buffer_size=4, order=True)
    with pytest.raises(KeyError, match="sample 5 is broken"):
        list(reader())


def test_xmap_stops_its_threads_when_the_consumer_stops_early():
    baseline = threading.active_count()
    reader = R.xmap_readers(lambda x: x, endless(), process_num=3, buffer_size=4, order=True)
    assert list(R.firstn(reader, 10)()) == list(range(10))
    assert wait_for_threads(baseline)


def test_xmap_validates_its_counts():
    with pytest.raises(ValueError, match="process_num must be a positive integer"):
        R.xmap_readers(abs, counting(3), 0, 4)
    with pytest.raises(ValueError, match="buffer_size must be a positive integer"):
        R.xmap_readers(abs, counting(3), 2, 0)


# ---- batch ----

def test_batch_drops_the_short_last_batch_by_default():
    batches = list(batch(counting(10), 4)())
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_batch_keeps_the_short_last_batch_when_asked():
    batches = list(batch(counting(10), 4, drop_last=False)())
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sum(batches, []) == list(range(10))


def test_batch_of_exact_multiple_has_no_empty_batch():
    assert [len(b) for b in batch(counting(8), 4, drop_last=False)()] == [4, 4]


@pytest.mark.parametrize("bad", [0, -3, 1.5, None])
def test_batch_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch: batch_size must be a positive integer"):
        batch(counting(3), bad)
