"""``ModelAverage``: test and infer with the mean of recent parameter values.

This follows Paddle's ``AverageOptimizer`` (``paddle/parameter/AverageOptimizer.{h,cpp}``).
After every batch's update the new values are added to the *current* window sum. When the
current window is long enough it becomes the *old* window (replacing the one before) and a
new current window starts empty. The averaged parameter is::

    (old_sum + current_sum) / (old_count + current_count)

so it covers between ``L`` and ``2L - 1`` of the most recent values, ``L`` being the window
length at the time. The current window is closed after a batch when

    current_count >= min_window  and
    current_count >= min(max_window, num_updates * average_window)

with ``num_updates`` the batches seen so far and, as in Paddle:

* ``max_window`` = ``max_average_window`` if given; if not, unlimited during the first pass
  and then the number of batches of the pass that just ended;
* ``min_window`` = ``min(10000, max_window)`` at the start, then after every pass
  ``min(min_window, num_updates)``.

Example, ``ModelAverage(average_window=1, max_average_window=3)`` over values
``v1, v2, ...``: after batch 3 the average is ``mean(v1..v3)`` and that window closes; after
batch 5 it is ``mean(v1..v5)``; after batch 6 ``mean(v4..v6)``; after batch 7
``mean(v4..v7)``.

Sums are kept in float64 (Paddle split its float32 sums every 16384 batches for the same
reason: adding many values to one float32 loses their low bits).
"""

import math
import numbers

from ..core.xp import get_array_module
from .checks import positive

#: Paddle's cap on the shortest window before the first pass has ended
MIN_AVERAGE_WINDOW = 10000


class ModelAverage:
    """Average the parameters over a window of about ``average_window * batches seen``.

    ``average_window``: fraction of the batches seen so far (Paddle scripts use 0.5);
    ``max_average_window``: longest window in batches (None: the length of the last pass).
    ``do_average_in_cpu`` is accepted for Paddle compatibility and has no effect.
    """

    def __init__(self, average_window, max_average_window=None, do_average_in_cpu=False):
        self.average_window = positive("ModelAverage", "average_window", average_window)
        if max_average_window is not None and (
                isinstance(max_average_window, bool)
                or not isinstance(max_average_window, numbers.Integral)
                or max_average_window < 1):
            raise ValueError(f"ModelAverage: max_average_window={max_average_window!r} must "
                             "be None or an integer >= 1 (a number of batches)")
        self.max_average_window = None if max_average_window is None \
            else int(max_average_window)
        self.do_average_in_cpu = bool(do_average_in_cpu)

    def __repr__(self):
        return (f"ModelAverage(average_window={self.average_window}, "
                f"max_average_window={self.max_average_window})")


class ParameterAverager:
    """The running sums and window bookkeeping of one :class:`ModelAverage`."""

    def __init__(self, config):
        self.config = config
        self.max_window = math.inf if config.max_average_window is None \
            else config.max_average_window
        self.min_window = min(MIN_AVERAGE_WINDOW, self.max_window)
        self.num_updates = 0
        self.prev_num_updates = 0       # num_updates when the last pass ended
        self.count = 0                  # values in the current window
        self.old_count = 0              # values in the old window
        self.current_sums = {}          # name -> float64 array
        self.old_sums = {}

    def accumulate(self, values):
        """Add one batch's updated ``values`` (dict name -> array); maybe close the window."""
        self.num_updates += 1
        self.count += 1
        for name, value in values.items():
            xp = get_array_module(value)
            total = self.current_sums.get(name)
            if total is None:
                total = xp.zeros(value.shape, dtype="float64")
            elif get_array_module(total) is not xp:  # loaded from a checkpoint as NumPy
                total = xp.asarray(total)
            total += value
            self.current_sums[name] = total
        if self._window_full():
            self.old_sums = self.current_sums
            self.old_count = self.count
            self.current_sums = {}
            self.count = 0

    def _window_full(self):
        target = min(self.max_window, self.num_updates * self.config.average_window)
        return self.count >= self.min_window and self.count >= target

    def finish_pass(self):
        """Paddle's ``updateAverageWindowLimit``, called when a pass with batches ended."""
        if self.config.max_average_window is None and self.num_updates > self.prev_num_updates:
            self.max_window = self.num_updates - self.prev_num_updates
            self.prev_num_updates = self.num_updates
        self.min_window = min(self.min_window, self.num_updates)

    def averaged(self, values):
        """Dict name -> averaged array (the dtype of ``values``); names never accumulated,
        or nothing accumulated yet, keep their value."""
        total_count = self.count + self.old_count
        result = dict(values)
        if total_count == 0:
            return result
        for name, value in values.items():
            current, old = self.current_sums.get(name), self.old_sums.get(name)
            if current is None and old is None:
                continue
            xp = get_array_module(value)
            total = xp.zeros(value.shape, dtype="float64")
            for part in (current, old):
                if part is not None:
                    total += xp.asarray(part)
            result[name] = (total / total_count).astype(value.dtype)
        return result

    # --- checkpoint --------------------------------------------------------------------

    COUNTERS = ("num_updates", "prev_num_updates", "count", "old_count", "min_window",
                "max_window")

    def state(self, to_numpy):
        state = {f"@average/{key}": getattr(self, key) for key in self.COUNTERS}
        for name, total in self.current_sums.items():
            state[f"{name}/average_sum"] = to_numpy(total)
        for name, total in self.old_sums.items():
            state[f"{name}/average_old_sum"] = to_numpy(total)
        return state

    def load(self, counters, sums):
        for key in self.COUNTERS:
            value = float(counters[f"@average/{key}"])
            setattr(self, key, value if math.isinf(value) else int(value))
        self.current_sums = {name: a for (name, slot), a in sums.items()
                             if slot == "average_sum"}
        self.old_sums = {name: a for (name, slot), a in sums.items()
                         if slot == "average_old_sum"}
