"""``paddle.plot.Ploter``: training curves, drawn with matplotlib when it is installed."""

import warnings


class Ploter:
    """``Ploter('train cost', 'test cost')``; ``append(title, step, value)``; ``plot()``."""

    def __init__(self, *titles):
        if not titles:
            raise ValueError("Ploter needs at least one curve title")
        self.titles = list(titles)
        self.data = {title: ([], []) for title in titles}

    def append(self, title, step, value):
        if title not in self.data:
            raise ValueError(f"Ploter has no curve {title!r}; curves: {self.titles}")
        steps, values = self.data[title]
        steps.append(step)
        values.append(float(value))

    def reset(self):
        for steps, values in self.data.values():
            steps.clear()
            values.clear()

    def plot(self, path=None):
        """Draw every curve; save to ``path`` when given. Returns the matplotlib figure.

        Without matplotlib, prints the last value of each curve instead (and says so once).
        """
        try:
            import matplotlib
            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            warnings.warn("matplotlib is not installed ('pip install minidl[plot]'); "
                          "printing the curves' last values instead", stacklevel=2)
            for title, (steps, values) in self.data.items():
                if steps:
                    print(f"{title}: step {steps[-1]} value {values[-1]:.6g}")
            return None
        figure, axes = plt.subplots()
        for title, (steps, values) in self.data.items():
            if steps:
                axes.plot(steps, values, label=title)
        axes.set_xlabel("step")
        axes.legend()
        if path is not None:
            figure.savefig(path)
            plt.close(figure)
        return figure

__all__ = ["Ploter"]
