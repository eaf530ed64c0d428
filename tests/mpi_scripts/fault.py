"""Run under ``mpiexec -n 2``: ``fault.py OUTDIR MODE``.

MODE ``raise``, ``kill`` or ``hang``: train ``common.plain_run`` for 4 passes, saving
``params_pass_<k>.tar`` at each pass end (main rank, atomically); in pass 2 rank 1 raises,
is killed by SIGKILL, or sleeps (with a 2 s collective deadline). The job must end.

MODE ``resume``: start from the last saved tarball with ``init_from_tar`` and train the
passes left, saving ``final.tar``.
"""

import glob
import os
import re
import signal
import sys
import time

import common

import minidl as paddle

PASSES = 4


def faulty(outdir, mode):
    if mode == "hang":
        paddle.init(mpi_timeout=2)

    def on_event(trainer, event):
        if isinstance(event, paddle.event.EndPass):
            trainer.save_parameter_to_tar(f"{outdir}/params_pass_{event.pass_id}.tar")
        if isinstance(event, paddle.event.BeginIteration) and event.rank == 1 \
                and (event.pass_id, event.batch_id) == (2, 2):
            if mode == "raise":
                raise RuntimeError("injected fault in rank 1")
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)

    common.plain_run(PASSES, on_event=on_event)


def resume(outdir):
    saved = {int(re.search(r"params_pass_(\d+)\.tar$", path).group(1)): path
             for path in glob.glob(f"{outdir}/params_pass_*.tar")}
    last = max(saved)

    def on_event(trainer, event):
        if isinstance(event, paddle.event.EndPass):
            trainer.save_parameter_to_tar(f"{outdir}/params_pass_{last + 1 + event.pass_id}.tar")

    common.plain_run(PASSES - last - 1, init_tar=saved[last], on_event=on_event)


if __name__ == "__main__":
    if sys.argv[2] == "resume":
        resume(sys.argv[1])
    else:
        faulty(sys.argv[1], sys.argv[2])
