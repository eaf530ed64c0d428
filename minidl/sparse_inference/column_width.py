"""Which column width a machine's fc layouts take: probed once, with the cost model.

The batch-1 CSR kernel reads uint32 columns two per 64-bit load and uint16 ones one per
load: in cache the wider columns are faster (fewer loads), streamed the narrower ones (fewer
bytes). Between the two -- a layout past the cores' L2 but within the last-level cache --
it depends on how fast that cache feeds a core: on Zen 3 uint32 stayed 9-12 % faster at
13 MB, on an Intel Xeon uint16 was 8 % faster from 6.7 MB. So the calibration times both
widths once on a layout of that size (:func:`narrow_columns_from`) and the cost model keeps
the verdict (``CostModel.narrow_from``), which ``sparse='auto'`` plans build their fc and
recurrent layouts with. A forced ``sparse=True`` calibrates nothing and keeps the default,
``layout.STREAMED_NONZEROS``.
"""

import statistics
import time

import numpy as np

from ..backends import get_kernel
from . import layout as layouts

#: the probe's fc layout: 4096 x 4096 at density 0.1, 1.7 M nonzeros, 13 MB with uint32
#: columns: past the L2 of any core, within a last-level cache of ~32 MB
PROBE_SHAPE, PROBE_DENSITY = (4096, 4096), 0.1
#: uint16 columns must take less than this share of the uint32 time to be chosen
NARROW_WINS_BELOW = 0.97


def narrow_columns_from(rng, rounds=7, runs=5):
    """The ``narrow_from`` of this machine's fc layouts: ``layout.LEAVES_L2_NONZEROS`` where
    uint16 columns make the batch-1 product of the probe layout (:data:`PROBE_SHAPE`)
    faster than uint32 ones -- its last-level cache, not the loads, bounds the kernel --
    else ``layout.STREAMED_NONZEROS``. The two widths alternate, ``rounds`` medians of
    ``runs`` calls each; the verdict is the median of the rounds' ratios."""
    rows, k = PROBE_SHAPE
    kept = rng.random((rows, k), dtype=np.float32) < PROBE_DENSITY
    columns = np.flatnonzero(kept) % k
    indptr = np.zeros(rows + 1, dtype=np.uint32)
    indptr[1:] = np.cumsum(kept.sum(axis=1))
    values = rng.standard_normal(columns.size, dtype=np.float32)
    x = rng.standard_normal((1, k), dtype=np.float32)
    product = get_kernel("csr_matmul")
    widths = [columns.astype(np.uint32), columns.astype(np.uint16)]

    def median_s(indices):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            product(indptr, indices, values, x)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    for indices in widths:      # loads the kernel of each width
        product(indptr, indices, values, x)
    ratios = [median_s(widths[1]) / median_s(widths[0]) for _ in range(rounds)]
    narrow_wins = statistics.median(ratios) < NARROW_WINS_BELOW
    return layouts.LEAVES_L2_NONZEROS if narrow_wins else layouts.STREAMED_NONZEROS


def of_model(model):
    """The ``narrow_from`` a cost model found (``layout.STREAMED_NONZEROS`` without one)."""
    narrow_from = None if model is None else model.narrow_from
    return layouts.STREAMED_NONZEROS if narrow_from is None else narrow_from
