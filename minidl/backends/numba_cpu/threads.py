"""When a Numba kernel should not wake Numba's other threads.

The ``cpu`` backend lets Numba's OpenMP workers sleep as soon as a parallel loop ends
(``numba_cpu/__init__.py``: spinning workers would take the cores OpenBLAS's GEMMs need).
The price is paid at the next parallel loop: waking a sleeping worker -- on a virtual
machine, an idle virtual CPU -- took 0.1-0.2 ms on the development machine, more than a
small loop's whole work. Measured there, two threads against one:

* batch norm + ReLU at inference, 0.8 M values: 0.28 ms against 0.13 ms (one thread wins up
  to several million values: the pass is memory bound, one core nearly saturates it);
* a batch-1 CSR product with 168 k nonzeros: 0.15 ms against 0.07-0.10 ms.

So each kernel gives a size below which it runs on the calling thread alone.
"""

from numba import get_num_threads, set_num_threads


class one_thread_below:
    """Context: run the block on one thread if ``work < threshold``, else on Numba's
    thread count. (A class, not a generator: it is entered around every kernel call, and
    when nothing is to be done it costs a comparison instead of ~10 us.)"""

    __slots__ = ("serial", "threads")

    def __init__(self, work, threshold):
        self.serial = work < threshold

    def __enter__(self):
        if self.serial:
            self.threads = get_num_threads()
            if self.threads == 1:
                self.serial = False
            else:
                set_num_threads(1)
        return self

    def __exit__(self, *exc_info):
        if self.serial:
            set_num_threads(self.threads)
        return False
