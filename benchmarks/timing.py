"""The one timing rule every benchmark here uses."""

import statistics
import time


#: seconds of quiet before each block: OpenMP runtimes let their threads spin for a few
#: milliseconds after a parallel call (PyTorch's GNU OpenMP by default), and OpenBLAS's
#: threads for 2**28 cycles (~0.1 s); a block that starts inside the previous block's
#: spin is charged for it
SETTLE_S = 0.15
#: seconds of untimed runs before timing, at least: a sub-millisecond kernel needs ~10 runs
#: after a pause to reach its steady time (clock and caches warming up), so a fixed two
#: warm-up runs would flatter slow kernels over fast ones
WARMUP_S = 0.02


def times_ms(step, repeats=7, warmup=2):
    """Milliseconds of each of ``repeats`` runs of ``step``, started after
    :data:`SETTLE_S` of quiet and at least ``warmup`` untimed runs filling
    :data:`WARMUP_S` (up to 1000 runs)."""
    time.sleep(SETTLE_S)
    began, runs = time.perf_counter(), 0
    while runs < warmup or (runs < 1000 and time.perf_counter() - began < WARMUP_S):
        step()
        runs += 1
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


def paired_ms(first, second, seconds=2.0, least=9):
    """``(first ms, second ms, first - second ms)``: medians over pairs of runs, each pair
    the two steps back to back, as many pairs as fill ``seconds`` (``least`` at fewest).

    For what one call adds to another of the same library -- ``paddle.infer`` against the
    forward it runs: the median of the pairs' differences moves little when a slow spell
    of the shared machine comes and goes, where two blocks' medians moved by 10-40 %.
    Every other pair runs ``second`` first: the step that opens a pair pays for what the
    last pair left (VGG-16-CIFAR at batch 128 through ``paddle.infer``: +15 % with
    ``first`` always first, -1 % alternating).
    """
    time.sleep(SETTLE_S)
    began, runs = time.perf_counter(), 0
    while runs < 2 or time.perf_counter() - began < WARMUP_S:
        first()
        second()
        runs += 1
    pair_s = (time.perf_counter() - began) / runs
    pairs = []
    for pair in range(max(least, int(seconds / pair_s))):
        flipped = pair % 2 == 1
        start = time.perf_counter()
        (second if flipped else first)()
        middle = time.perf_counter()
        (first if flipped else second)()
        opening, closing = (middle - start) * 1e3, (time.perf_counter() - middle) * 1e3
        pairs.append((closing, opening) if flipped else (opening, closing))
    return (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs),
            statistics.median(a - b for a, b in pairs))


def short_blocks(first, second, seconds=3.0, untimed=2, timed=5):
    """``(first ms, second ms, first / second)``: the two steps in alternating short
    blocks for ``seconds`` -- ``untimed`` runs, then ``timed`` runs -- medians of the blocks'
    medians and of the ratios of consecutive blocks.

    For two libraries compared on a shared host: blocks a few milliseconds long follow
    the host's slow spells together (whole blocks of seconds moved by 10-50 %), and the
    untimed runs at each block's start take what the switch costs -- the other library's
    threads still spinning, one's own waking -- which pairs of single runs back to back
    charged to every run."""
    return alternating_blocks(lambda: block_ms(first, untimed, timed),
                              lambda: block_ms(second, untimed, timed), seconds)


def block_ms(step, untimed, timed):
    """The median milliseconds of ``timed`` runs of ``step`` after ``untimed`` ones."""
    for _ in range(untimed):
        step()
    runs = []
    for _ in range(timed):
        start = time.perf_counter()
        step()
        runs.append((time.perf_counter() - start) * 1e3)
    return statistics.median(runs)


def alternating_blocks(first_block, second_block, seconds=3.0, least=3):
    """``(first ms, second ms, first / second)`` of two block runners (each runs a block
    and returns its median ms; see :func:`short_blocks`), called in turn for ``seconds``
    (``least`` blocks each at fewest)."""
    time.sleep(SETTLE_S)
    ones, others = [], []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(others) < least:
        ones.append(first_block())
        others.append(second_block())
    ratios = [a / b for a, b in zip(ones, others)]
    return statistics.median(ones), statistics.median(others), statistics.median(ratios)
