"""Atomic counters for Numba kernels whose threads cooperate inside one parallel loop.

Numba has no atomics. A kernel that keeps its threads inside one ``prange`` over many
small steps (a recurrent layer at batch 1: one product of ~0.1 ms per timestep) needs
them: waking Numba's sleeping workers for every step costs as much as the step's work,
while one parallel loop around all steps wakes them once. These intrinsics emit LLVM's
atomic instructions on an element of a 1-D int64 array:

* :func:`fetch_add` -- ``old = a[i]; a[i] += v`` as one indivisible step, returning ``old``
  (sequentially consistent: writes before it are seen by a thread that reads its result);
* :func:`load_acquire` -- read ``a[i]`` so that the writes made before the ``fetch_add``
  that stored the value are visible after it; LLVM may not hoist it out of a waiting loop;
* :func:`spin_pause` -- the x86 ``pause`` hint inside a waiting loop (nothing elsewhere);
* :func:`yield_core` -- ``sched_yield``: a thread that has waited long gives its core
  away, because on a busy machine the thread it waits for may be the one not running.

Kernels built on them must never wait for a thread that may not be running: a ``prange``
may give all its iterations to one thread (one Numba thread, or a nested parallel region).
The pattern used here: work is claimed from a shared counter, and a thread waits only for
work that another thread has already claimed and is doing.
"""

import platform
import sys

from llvmlite import ir
from numba import types
from numba.core import cgutils, errors
from numba.extending import intrinsic

_PAUSE = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


def _int64_array(array):
    if not (isinstance(array, types.Array) and array.ndim == 1 and array.dtype == types.int64):
        raise errors.TypingError(f"atomics need a 1-D int64 array, got {array}")


def _element(context, builder, array_type, array, index):
    ary = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, ary, [index])


@intrinsic
def fetch_add(typingctx, array, index, value):
    """``old = array[index]; array[index] += value; return old``, atomically."""
    _int64_array(array)
    sig = types.int64(array, types.intp, types.int64)

    def codegen(context, builder, signature, args):
        ptr = _element(context, builder, signature.args[0], args[0], args[1])
        add = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", ptr, add, "seq_cst")

    return sig, codegen


@intrinsic
def load_acquire(typingctx, array, index):
    """``array[index]`` read atomically, with acquire ordering."""
    _int64_array(array)
    sig = types.int64(array, types.intp)

    def codegen(context, builder, signature, args):
        ptr = _element(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def spin_pause(typingctx):
    """A pause hint for a waiting loop (x86 ``pause``: the waiting thread leaves the core's
    resources to its neighbour and leaves the loop without a memory-order flush)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        if _PAUSE:
            pause = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            builder.call(pause, [])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def yield_core(typingctx):
    """``sched_yield()`` (POSIX; on other systems nothing): let the scheduler run another
    thread on this core."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        if sys.platform != "win32":
            sched_yield = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
            builder.call(sched_yield, [])
        return context.get_dummy_value()

    return sig, codegen
