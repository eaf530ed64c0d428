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


def rounds_ms(steps, repeats=7, rounds=3):
    """{name: ms} for steps compared with each other: ``rounds`` rounds of one block per
    step (median of ``repeats`` runs each), and each step's best block median.

    For ratios close to 1 (``sparse='auto'`` against dense, where 'auto' may run the same
    dense code): one block each left ratios of 0.8-1.25 between identical code paths on
    the shared development machine, as other work came and went between the blocks.
    """
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            best[name] = min(best[name], median_ms(step, repeats))
    return best
