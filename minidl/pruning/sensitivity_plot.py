"""Sensitivity curves: the metric against the ratio, one line per weight (matplotlib)."""

from .plot import _pyplot
from .sensitivity_table import METRICS


def plot_sensitivity(table, path=None, names=None):
    """Draw ``table`` (a ``SensitivityTable``); save to ``path`` when given.

    One line with markers per weight (``names``: parameter or layer names, default all),
    the unpruned network's value as a dotted horizontal line at every ratio. Returns the
    matplotlib figure (closed when saved). Needs matplotlib (``pip install minidl[plot]``).
    """
    plt = _pyplot(headless=path is not None)
    entries = table.layers if names is None else [table[name] for name in names]
    figure, axes = plt.subplots(figsize=(7, 4))
    lines = []
    for index, entry in enumerate(entries):
        ratios = sorted(entry.metric)
        lines += axes.plot(ratios, [entry.metric[r] for r in ratios], "o-",
                           color=f"C{index % 10}")
    axes.axhline(table.baseline, linestyle=":", color="grey")
    unit = METRICS[table.metric][1]
    axes.set_xlabel("sparsity ratio of the one pruned weight")
    axes.set_ylabel(f"{table.metric}{' (' + unit + ')' if unit else ''}")
    # explicit labels: matplotlib would drop names starting with "_" ("___fc_layer_0__")
    axes.legend(lines, [entry.layer for entry in entries], fontsize="small")
    if path is not None:
        figure.savefig(path)
        plt.close(figure)
    return figure
