"""A ready-made event handler that shows training progress.

    trainer.train(reader, num_passes=5, event_handler=paddle.progress.ProgressBar())

Uses tqdm when it is installed (``pip install minidl[progress]``), a plain line per
``log_every`` batches otherwise. Pass ``then=`` to chain your own handler.
"""

import sys

from . import events as event


class ProgressBar:
    def __init__(self, total_batches=None, log_every=20, then=None, stream=None):
        self.total = total_batches
        self.log_every = log_every
        self.then = then
        self.stream = stream or sys.stderr
        self._bar = None
        try:
            import tqdm
            self._tqdm = tqdm.tqdm
        except ImportError:
            self._tqdm = None

    def _describe(self, e):
        metrics = " ".join(f"{k}={v:.4f}" for k, v in e.metrics.items())
        return f"cost={e.cost:.4f} {metrics}".strip()

    def __call__(self, e):
        if isinstance(e, event.BeginPass) and self._tqdm is not None:
            self._bar = self._tqdm(total=self.total, desc=f"pass {e.pass_id}", file=self.stream,
                                   leave=True)
        elif isinstance(e, event.EndIteration):
            if self._bar is not None:
                self._bar.update(1)
                self._bar.set_postfix_str(self._describe(e))
            elif e.batch_id % self.log_every == 0:
                print(f"pass {e.pass_id} batch {e.batch_id}: {self._describe(e)}",
                      file=self.stream, flush=True)
        elif isinstance(e, event.EndPass):
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            metrics = " ".join(f"{k}={v:.4f}" for k, v in e.metrics.items())
            print(f"pass {e.pass_id} done {metrics}", file=self.stream, flush=True)
        if self.then is not None:
            self.then(e)

__all__ = ["ProgressBar"]
