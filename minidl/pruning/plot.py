"""Scheduled against achieved sparsity, per pass and per parameter (matplotlib)."""


def _pyplot(headless):
    try:
        import matplotlib
        if headless:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plot_sparsity needs matplotlib, which is not installed: "
                          "pip install minidl[plot]") from None
    return plt


def plot_sparsity(history, path=None, names=None):
    """Draw ``history`` (``SparsityReporter.history``); save to ``path`` when given.

    One colour per parameter: the scheduled target as a dashed step line, the sparsity
    reached as a solid line with markers. ``names`` picks the parameters (default: those
    with a hook, i.e. with a target). Returns the matplotlib figure (closed when saved).
    """
    plt = _pyplot(headless=path is not None)
    if names is None:
        names = [name for name, points in history.items()
                 if any(p.target is not None for p in points)]
    figure, axes = plt.subplots(figsize=(7, 4))
    lines = []
    for index, name in enumerate(names):
        points = history[name]
        colour = f"C{index % 10}"
        passes = [p.pass_id for p in points]
        lines += axes.plot(passes, [p.sparsity for p in points], "o-", color=colour)
        scheduled = [(p.pass_id, p.target) for p in points if p.target is not None]
        if scheduled:
            axes.step(*zip(*scheduled), "--", where="post", color=colour)
    axes.set_xlabel("pass")
    axes.set_ylabel("sparsity (solid: reached, dashed: scheduled)")
    axes.set_ylim(0, 1)
    # explicit labels: matplotlib would drop Paddle's names ("___fc_layer_0__.w0") as
    # labels starting with "_"
    axes.legend(lines, names, fontsize="small")
    if path is not None:
        figure.savefig(path)
        plt.close(figure)
    return figure
