"""The one timing rule every benchmark here uses."""

import statistics
import time


def times_ms(step, repeats=7, warmup=2):
    """Milliseconds of each of ``repeats`` runs of ``step`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def median_ms(step, repeats=7, warmup=2):
    """Median milliseconds of ``step`` over ``repeats`` runs after ``warmup`` untimed ones.

    Each step is timed in its own block, not interleaved with another library's: BLAS and
    OpenMP threads spin for a while after a call, so alternating two libraries would charge
    each for the other's spinning threads.
    """
    return statistics.median(times_ms(step, repeats, warmup))
