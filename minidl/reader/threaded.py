"""Reader decorators that read ahead in background threads: ``buffered`` and ``xmap_readers``.

Threads (not processes, as in Paddle) suit the work readers do: file reads, gzip, JPEG decoding
and NumPy all release the GIL. Unlike Paddle's versions these stop their threads when the consumer
stops early and re-raise a worker's exception in the consumer instead of hanging.
"""

import queue
import threading

from ._validate import check_count

_POLL_S = 0.1  # how often a blocked worker checks whether the consumer has gone away


class _End:
    """Put on a queue by a worker that has finished."""


class _Failure:
    """Carries a worker's exception to the consumer, which re-raises it."""

    def __init__(self, error):
        self.error = error


def _put(q, item, stop):
    """Block until ``item`` is queued; give up (return False) once ``stop`` is set."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            pass
    return False


def _get(q, stop):
    """Block until an item arrives; return ``_End`` once ``stop`` is set."""
    while not stop.is_set():
        try:
            return q.get(timeout=_POLL_S)
        except queue.Empty:
            pass
    return _End()


def _start(target, *args):
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def buffered(reader, size):
    """A reader whose samples are read ahead by a background thread, at most ``size`` at a time.

    The order of the samples is unchanged; reading overlaps with whatever the consumer does.
    ``size=0`` sets no bound (the thread reads ahead as far as it can), as in v2.
    """
    check_count("buffered", "size", size, allow_zero=True)

    def fill(q, stop):
        try:
            for sample in reader():
                if not _put(q, sample, stop):
                    return
            _put(q, _End(), stop)
        except Exception as error:  # handed to the consumer, which re-raises it
            _put(q, _Failure(error), stop)

    def data_reader():
        q = queue.Queue(maxsize=size)  # maxsize 0: unbounded
        stop = threading.Event()
        _start(fill, q, stop)
        try:
            while True:
                item = q.get()
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            stop.set()  # the consumer stopped (or finished): let the thread exit

    return data_reader


def xmap_readers(mapper, reader, process_num, buffer_size, order=False):
    """A reader yielding ``mapper(sample)`` for ``reader``'s samples, mapped by worker threads.

    ``process_num`` threads apply ``mapper``; ``buffer_size`` bounds the queues between the
    reading thread, the workers and the consumer. With ``order=False`` results come in the order
    the workers finish them; ``order=True`` restores the reader's order.

    Notation::

        reader --(index, sample)--> in_queue --process_num workers--> out_queue --> consumer
    """
    check_count("xmap_readers", "process_num", process_num)
    check_count("xmap_readers", "buffer_size", buffer_size)

    def read(in_queue, stop):
        try:
            for index, sample in enumerate(reader()):
                if not _put(in_queue, (index, sample), stop):
                    return
        except Exception as error:
            _put(in_queue, _Failure(error), stop)
        for _ in range(process_num):  # one end marker per worker
            _put(in_queue, _End(), stop)

    def work(in_queue, out_queue, stop):
        while True:
            item = _get(in_queue, stop)
            if isinstance(item, (_End, _Failure)):
                _put(out_queue, item, stop)
                return
            index, sample = item
            try:
                result = mapper(sample)
            except Exception as error:
                _put(out_queue, _Failure(error), stop)
                return
            if not _put(out_queue, (index, result), stop):
                return

    def xreader():
        in_queue = queue.Queue(maxsize=buffer_size)
        out_queue = queue.Queue(maxsize=buffer_size)
        stop = threading.Event()
        _start(read, in_queue, stop)
        for _ in range(process_num):
            _start(work, in_queue, out_queue, stop)
        pending = {}  # order=True: results that arrived before their predecessors
        next_index = 0
        finished = 0
        try:
            while finished < process_num:
                item = out_queue.get()
                if isinstance(item, _Failure):
                    raise item.error
                if isinstance(item, _End):
                    finished += 1
                    continue
                index, result = item
                if not order:
                    yield result
                    continue
                pending[index] = result
                while next_index in pending:
                    yield pending.pop(next_index)
                    next_index += 1
        finally:
            stop.set()

    return xreader
