"""Run under ``mpiexec -n 2``: the equivalence and batch-norm runs of ``common``; each rank
pickles what it ended with to ``OUTDIR/rank<r>.pkl`` for tests/test_distributed.py."""

import pickle
import sys

import common

from minidl.distributed import get_comm


def main(outdir):
    record = common.equivalence_run()
    record["batch_norm"] = common.batch_norm_run(common.samples(10))
    comm = get_comm()
    record["size"] = comm.size
    with open(f"{outdir}/rank{comm.rank}.pkl", "wb") as f:
        pickle.dump(record, f)


if __name__ == "__main__":
    main(sys.argv[1])
