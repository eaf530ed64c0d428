"""Numba depthwise convolution for the ``cpu`` backend (signatures of ``numpy_ref/depthwise.py``).

Notation::

    x:  (N, C, H, W)        w: (C*M, 1, kh, kw)        y, gy: (N, C*M, OH, OW)
    output channel o = c*M + m reads input channel c

Work is split by input channel: a task owns channel ``c`` of a group of images and writes
only their planes (forward, input gradient) or only the filters of ``c`` (filter gradient,
summed over the whole batch inside the task). No two threads write one value: no atomics,
no reduction buffers.

What makes the inner loops long, contiguous and branch-free is the *phase grid*. Pad a
plane with zeros and split it by the stride into ``sy * sx`` phase planes of ``WQ``
columns, one after the other in a flat buffer::

    phases[k*PLEN + a*WQ + b] = x_pad[a*sy + ry, b*sx + rx]        k = ry*sx + rx

Kernel offset ``(i, j)`` then reads phase ``(i % sy, j % sx)`` shifted by
``(i // sy, j // sx)``: one fixed offset for every output pixel. Lay the output out at the
phase width too (``y_wide[r*WQ + q]``; columns ``q >= OW`` are scratch) and a whole plane
is one loop::

    y_wide[p] = sum_t w[o, t] * phases[p + offset[t]]          t = i*kw + j

For 3x3 filters the offsets are a tuple (``loops.correlate``), so LLVM unrolls the sum and
each output stays in a register while its taps are added; other sizes loop over them. The
images of a group are stacked one below the other (the same weights serve them all), so
7x7 planes at batch 8 give loops of about 600 values, not 60.

* filter gradient: the same products summed the other way -- one dot product per tap;
* input gradient, a *gather*: padded input cell ``(a*sy + ry, b*sx + rx)`` is read by the
  taps ``i = ry + k*sy``, ``j = rx + l*sx`` of output ``(a - k, b - l)``; with ``gy``
  framed in zeros each input phase is again one loop over fixed offsets.

Planes are copied into and out of these layouts row by row ("runs" planned once per
geometry). Stride-1 layers with "same" padding -- most of MobileNet's -- skip the grid
altogether (``depthwise_same.py``). From batch 8 on, eight images side by side fill a
vector instead (``depthwise_lanes.py``).

Index arithmetic is unsigned throughout (``np.uint64``; see ``loops.py`` for why).
"""

import functools

import numpy as np
from numba import njit, prange

from ...core.geometry import depthwise_geometry
from ..registry import register
from . import depthwise_lanes as lanes
from . import depthwise_same as same
from . import loops
from .loops import U, _0, _1, as_taps, correlate, dots, scale_shift, task_chunks
from .threads import thread_count

#: images stacked per task: as many as keep one phase grid within about 128 KB (float32)
STACK_VALUES = 32768


# --- copies in and out of the phase grid, run by run -------------------------------------

@njit(cache=True)
def _copy_in(plane, buffer, base, runs, step):
    """For each run ``(cell, place, count)``: ``buffer[base + place + t] = plane[cell +
    t*step]``, ``t < count`` -- an image row into a phase row, or a row of gy into a frame.

    ``step == 0`` marks runs of one value each (see :func:`_as_runs`): a plain map.
    """
    for r in range(U(runs.shape[0])):
        cell, place, count = runs[r, 0], runs[r, 1] + base, runs[r, 2]
        if step == _0:
            buffer[place] = plane[cell]
        elif step == _1:
            for t in range(count):
                buffer[place + t] = plane[cell + t]
        else:
            for t in range(count):
                buffer[place + t] = plane[cell + t * step]


@njit(cache=True)
def _copy_out(buffer, base, runs, step, plane):
    """The inverse of :func:`_copy_in`: ``plane[cell + t*step] = buffer[base + place + t]``."""
    for r in range(U(runs.shape[0])):
        cell, place, count = runs[r, 0], runs[r, 1] + base, runs[r, 2]
        if step == _0:
            plane[cell] = buffer[place]
        else:
            for t in range(count):
                plane[cell + t * step] = buffer[place + t]


# --- plans: runs and tap offsets, computed once per geometry with NumPy --------------------

#: runs shorter than this on average are copied value by value: a loop per run of 7 values
#: (MobileNet's 14x14 planes at stride 2) costs more than the values
MIN_RUN = 16


def _as_runs(runs, step):
    """``(runs (R, 3) uint64, step)``; short runs become one run per value, marked step 0."""
    runs = np.array(runs, dtype=np.int64).reshape(-1, 3)
    if len(runs) and runs[:, 2].mean() < MIN_RUN:
        t = np.concatenate([np.arange(count) for count in runs[:, 2]])
        first = np.repeat(np.arange(len(runs)), runs[:, 2])
        runs = np.stack([runs[first, 0] + t * step, runs[first, 1] + t, np.ones_like(t)], 1)
        step = 0
    return runs.astype(U), U(step)


def _phase_runs(h, w, sy, sx, py, px, rows, wq, plen):
    """Every image row as runs into the phase grid (step ``sx``): image row ``hh`` goes to
    phase row ``a = (hh + py) // sy`` of phases ``ry*sx + rx``; rows ``a >= rows`` and
    columns ``b >= wq`` are not needed."""
    runs = []
    for hh in range(h):
        a, ry = divmod(hh + py, sy)
        if a >= rows:
            break
        for rx in range(sx):
            ww0 = (rx - px) % sx                 # first column landing in phase column rx
            b0 = (ww0 + px) // sx
            if ww0 < w and b0 < wq:
                count = min(-(-(w - ww0) // sx), wq - b0)
                runs.append((hh * w + ww0, (ry * sx + rx) * plen + a * wq + b0, count))
    return _as_runs(runs, sx)


def _wide_runs(oh, ow, wq, offset=0):
    """Output row ``r`` (``OW`` values) at ``offset + r*wq`` of a plane ``wq`` wide."""
    return _as_runs([(r * ow, offset + r * wq, ow) for r in range(oh)], 1)


def _forward_taps(kh, kw, sy, sx, wq, plen):
    """Where tap ``t = i*kw + j`` reads: its phase's start plus its shift ``(i//sy, j//sx)``."""
    return [((i % sy) * sx + j % sx) * plen + (i // sy) * wq + j // sx
            for i in range(kh) for j in range(kw)]


class _ForwardPlan:
    """The phase grid of :func:`depthwise_conv2d_forward` and ``_grad_filter``."""

    def __init__(self, n, h, w, kh, kw, stride, padding, oh, ow, stack_values):
        (sy, sx), (py, px) = stride, padding
        self.rows, self.wq = oh + (kh - 1) // sy, ow + (kw - 1) // sx
        self.per_image = self.rows * self.wq
        self.group = max(1, min(n, stack_values // (sy * sx * self.per_image)))
        # one phase holds a group of images plus a spare row, which the scratch columns
        # of the last output row read
        self.plen = self.group * self.per_image + self.wq
        self.nphases = sy * sx
        # the last image's scratch rows are skipped: (count - 1) * per_image + tail
        self.tail = oh * self.wq
        self.fill = _phase_runs(h, w, sy, sx, py, px, self.rows, self.wq, self.plen)
        self.out = _wide_runs(oh, ow, self.wq)
        self.taps = _forward_taps(kh, kw, sy, sx, self.wq, self.plen)
        self.unrolled_taps = as_taps(self.taps)
        self.tap_array = np.array(self.taps, dtype=U)
        self.sizes = (U(self.group), U(self.per_image), U(self.tail), U(self.plen),
                      U(self.nphases))


@functools.lru_cache(maxsize=64)
def _forward_plan(*geometry):
    """The plan of a geometry, built once (a call at batch 1 takes about 50 us)."""
    return _ForwardPlan(*geometry)


# --- forward --------------------------------------------------------------------------------

@njit(parallel=True, cache=True)
def _forward(x, w, y, m, sizes, fill, fill_step, out, out_step, taps, chunks, scale, shift,
             relu):
    """``x: (N, C, H*W)``, ``w: (C*M, kh*kw)``, ``y: (N, C*M, OH*OW)``; integers unsigned.
    ``scale``, ``shift`` (empty: none), ``relu``: each output plane's batch norm and ReLU
    (see ``conv_batch_norm.py``)."""
    n, c = U(x.shape[0]), U(x.shape[1])
    planes = U(y.shape[2])
    group, per_image, tail, plen, nphases = sizes
    groups = (n + group - _1) // group
    tasks = c * groups
    for chunk in prange(chunks):
        # padding cells are never written, so one zeroed grid serves every task of the chunk
        phases = np.zeros(nphases * plen, dtype=x.dtype)
        wide = np.empty(group * per_image, dtype=y.dtype)
        for task in range(chunk * tasks // chunks, (chunk + _1) * tasks // chunks):
            ci, g = divmod(task, groups)
            first = g * group
            count = min(group, n - first)
            for k in range(count):
                _copy_in(x[first + k, ci], phases, k * per_image, fill, fill_step)
            length = (count - _1) * per_image + tail
            for mm in range(m):
                o = ci * m + mm
                correlate(wide, phases, w[o], taps, length, False)
                for k in range(count):
                    _copy_out(wide, k * per_image, out, out_step, y[first + k, o])
                    if scale.size:
                        scale_shift(y[first + k, o], planes, scale[o], shift[o], relu)


@register("depthwise_conv2d_forward", backend="cpu")
def depthwise_conv2d_forward(x, w, stride, padding):
    """Depthwise cross-correlation (see the module docstring for the loop layout).

    Notation: ``x: (N, C, H, W)``, ``w: (C*M, 1, kh, kw)`` -> ``(N, C*M, OH, OW)``.
    """
    none = _NO_SCALE.get(x.dtype.char)
    if none is None:
        none = np.empty(0, dtype=x.dtype)
    return forward(x, w, stride, padding, none, none)


#: the ``scale`` and ``shift`` of a float forward without a batch norm, made once
_NO_SCALE = {np.dtype(t).char: np.empty(0, dtype=t) for t in (np.float32, np.float64)}


def forward(x, w, stride, padding, scale, shift, relu=False):
    """:func:`depthwise_conv2d_forward`, then per output channel ``o`` each plane ``*
    scale[o] + shift[o]`` and the ReLU when ``relu`` (``scale``, ``shift``: ``x``'s dtype;
    empty for neither), in the kernel while the plane is in cache."""
    y_shape, (kernel, x_view, w_view, y_view, arguments) = _forward_call(
        x.shape, w.shape, tuple(stride), tuple(padding), x.dtype, thread_count(),
        STACK_VALUES, loops.CHUNKS_PER_THREAD)
    y = np.empty(y_shape, dtype=x.dtype)
    kernel(np.ascontiguousarray(x).reshape(x_view),
           np.ascontiguousarray(w, dtype=x.dtype).reshape(w_view), y.reshape(y_view),
           *arguments, scale, shift, relu)
    return y


@functools.lru_cache(maxsize=256)
def _forward_call(x_shape, w_shape, stride, padding, dtype, threads, stack_values, chunks):
    """``(y shape, (kernel, x view, w view, y view, arguments))``: the forward of one
    geometry worked out once -- which kernel, the views it takes and its unsigned
    arguments. Worked out on every call, they cost ~10 us around a batch-1 layer's
    0.05-0.2 ms kernel. (``threads``, ``stack_values``, ``chunks``: what the chunks and
    groups are cut by, so that a new thread count gets its own.)"""
    m, (kh, kw), (oh, ow) = depthwise_geometry(x_shape, w_shape, stride, padding)
    n, c, h, wd = x_shape
    f = w_shape[0]
    if lanes.applies(n, dtype):
        call = lanes.forward_call(x_shape, w_shape, stride, padding, m, oh, ow)
    elif same.is_same(w_shape, stride, padding):
        call = same.forward_call(x_shape, w_shape, m)
    else:
        plan = _forward_plan(n, h, wd, kh, kw, stride, padding, oh, ow, stack_values)
        call = (_forward, (n, c, h * wd), (f, kh * kw), (n, f, oh * ow),
                (U(m), plan.sizes, *plan.fill, *plan.out, plan.unrolled_taps,
                 task_chunks(c * -(-n // plan.group))))
    return (n, f, oh, ow), call


# --- input gradient: gather ------------------------------------------------------------------

def _gather_weights(w, kh, kw, sy, sx):
    """Per input phase ``(ry, rx)``, the filter taps that read it, as a padded sub-filter.

    Notation: ``w: (F, 1, kh, kw)`` -> ``(F, sy*sx, (ky0+1)*(kx0+1))``; entry ``(k, l)`` of
    phase ``(ry, rx)`` is ``w[:, 0, ry + k*sy, rx + l*sx]``, or 0 past the filter's edge.
    Padding every phase to one sub-filter size gives them all the same offsets, so one
    unrolled loop serves every phase (3x3 at stride 2: 16 products for 9 taps, still
    faster than a loop per tap).
    """
    ky0, kx0 = (kh - 1) // sy, (kw - 1) // sx
    sub = np.zeros((w.shape[0], sy, sx, ky0 + 1, kx0 + 1), dtype=w.dtype)
    for ry in range(sy):
        for rx in range(sx):
            taps = w[:, 0, ry::sy, rx::sx]
            sub[:, ry, rx, :taps.shape[1], :taps.shape[2]] = taps
    return np.ascontiguousarray(sub.reshape(w.shape[0], sy * sx, (ky0 + 1) * (kx0 + 1)))


@njit(parallel=True, cache=True)
def _grad_input(gy, w, gx, m, sizes, frame, frame_step, back, back_step, taps, chunks):
    """``gy: (N, C*M, OH*OW)``, ``w`` from :func:`_gather_weights`, ``gx: (N, C, H*W)``."""
    n, c, nphases = U(gx.shape[0]), U(gx.shape[1]), U(w.shape[1])
    group, per_image, tail, plen = sizes
    groups = (n + group - _1) // group
    tasks = c * groups
    for chunk in prange(chunks):
        # per image: gy framed by zeros (ky0 rows above, kx0 columns left), plus a spare row
        framed = np.zeros(plen + per_image, dtype=gy.dtype)
        phases = np.empty(nphases * plen, dtype=gx.dtype)
        for task in range(chunk * tasks // chunks, (chunk + _1) * tasks // chunks):
            ci, g = divmod(task, groups)
            first = g * group
            count = min(group, n - first)
            length = (count - _1) * per_image + tail
            for mm in range(m):
                o = ci * m + mm
                for k in range(count):
                    _copy_in(gy[first + k, o], framed, k * per_image, frame, frame_step)
                for phase in range(nphases):
                    correlate(phases[phase * plen:], framed, w[o, phase], taps, length,
                               mm > _0)
            for k in range(count):
                _copy_out(phases, k * per_image, back, back_step, gx[first + k, ci])


class _GatherPlan:
    """The phase grid of the padded input for :func:`depthwise_conv2d_grad_input`."""

    def __init__(self, n, h, w, kh, kw, stride, padding, oh, ow, stack_values):
        (sy, sx), (py, px) = stride, padding
        ky0, kx0 = (kh - 1) // sy, (kw - 1) // sx    # how many outputs back a cell is read
        # phase rows of the image ((h - 1 + py) // sy + 1), and at least as many as gy has
        rows = max((h - 1 + py) // sy + 1, oh)
        wq = max((w - 1 + px) // sx + 1, ow) + kx0
        per_image = (rows + ky0) * wq
        self.group = max(1, min(n, stack_values // (sy * sx * per_image)))
        plen = self.group * per_image
        self.sizes = (U(self.group), U(per_image), U(rows * wq), U(plen))
        # per image, gy framed by ky0 zero rows above and kx0 zero columns left
        self.frame = _wide_runs(oh, ow, wq, ky0 * wq + kx0)
        self.back = _phase_runs(h, w, sy, sx, py, px, rows, wq, plen)
        # sub-filter tap (k, l) reads framed gy (k, l) cells up and left of the phase cell
        self.taps = as_taps([(ky0 - k) * wq + kx0 - l
                             for k in range(ky0 + 1) for l in range(kx0 + 1)])


@functools.lru_cache(maxsize=64)
def _gather_plan(*geometry):
    return _GatherPlan(*geometry)


@register("depthwise_conv2d_grad_input", backend="cpu")
def depthwise_conv2d_grad_input(gy, w, input_shape, stride, padding):
    """Gradient with respect to the input, gathered per padded input cell.

    Notation: ``gy: (N, C*M, OH, OW)``, ``w: (C*M, 1, kh, kw)`` -> ``input_shape (N, C, H, W)``.
    """
    m, (kh, kw), (oh, ow) = depthwise_geometry(input_shape, w.shape, stride, padding)
    if lanes.applies(input_shape[0], gy.dtype):
        sub_filters = _gather_weights(np.asarray(w, dtype=gy.dtype), kh, kw, *stride)
        return lanes.grad_input(gy, sub_filters, w.shape, tuple(input_shape), tuple(stride),
                                tuple(padding), m, oh, ow)
    if same.is_same(w.shape, stride, padding):
        return same.grad_input(gy, w, tuple(input_shape), m)
    n, c, h, wd = input_shape
    f = w.shape[0]
    plan = _gather_plan(n, h, wd, kh, kw, tuple(stride), tuple(padding), oh, ow, STACK_VALUES)
    gx = np.empty(input_shape, dtype=gy.dtype)
    tasks = c * -(-n // plan.group)
    _grad_input(np.ascontiguousarray(gy).reshape(n, f, oh * ow),
                _gather_weights(np.asarray(w, dtype=gy.dtype), kh, kw, *stride),
                gx.reshape(n, c, h * wd), U(m), plan.sizes, *plan.frame, *plan.back,
                plan.taps, task_chunks(tasks))
    return gx


# --- filter gradient: a reduction per input channel ----------------------------------------

@njit(parallel=True, cache=True)
def _grad_filter(x, gy, gw, m, sizes, fill, fill_step, out, out_step, taps):
    """``x: (N, C, H*W)``, ``gy: (N, C*M, OH*OW)``, ``gw: (C*M, kh*kw)``; integers unsigned."""
    n, c, ntaps = U(x.shape[0]), U(x.shape[1]), U(gw.shape[1])
    group, per_image, tail, plen, nphases = sizes
    for ci in prange(c):
        phases = np.zeros(nphases * plen, dtype=x.dtype)
        wide = np.zeros(group * per_image, dtype=gy.dtype)    # scratch cells stay 0
        total = np.zeros((m, ntaps))                          # float64: N*OH*OW terms
        for first in range(_0, n, group):
            count = min(group, n - first)
            if count < group:   # the spare row read with zeros of gy: no stale inf * 0
                for k in range(nphases):
                    start = k * plen + count * per_image
                    phases[start:start + per_image] = 0
            for k in range(count):
                _copy_in(x[first + k, ci], phases, k * per_image, fill, fill_step)
            length = (count - _1) * per_image + tail
            for mm in range(m):
                for k in range(count):
                    _copy_in(gy[first + k, ci * m + mm], wide, k * per_image, out, out_step)
                dots(wide, phases, taps, length, total[mm])
        for mm in range(m):
            for t in range(ntaps):
                gw[ci * m + mm, t] = total[mm, t]


@register("depthwise_conv2d_grad_filter", backend="cpu")
def depthwise_conv2d_grad_filter(x, gy, filter_shape, stride, padding):
    """Gradient with respect to the filters: per input channel, a sum over batch and pixels.

    Notation: ``x: (N, C, H, W)``, ``gy: (N, C*M, OH, OW)`` -> ``filter_shape (C*M, 1, kh, kw)``.
    """
    m, (kh, kw), (oh, ow) = depthwise_geometry(x.shape, filter_shape, stride, padding)
    if lanes.applies(x.shape[0], x.dtype):
        return lanes.grad_filter(x, gy, tuple(filter_shape), tuple(stride), tuple(padding), m,
                                 oh, ow)
    if same.is_same(filter_shape, stride, padding):
        return same.grad_filter(x, gy, tuple(filter_shape), m)
    n, c, h, wd = x.shape
    f = filter_shape[0]
    plan = _forward_plan(n, h, wd, kh, kw, tuple(stride), tuple(padding), oh, ow, STACK_VALUES)
    gw = np.empty((f, kh * kw), dtype=x.dtype)
    _grad_filter(np.ascontiguousarray(x).reshape(n, c, h * wd),
                 np.ascontiguousarray(gy, dtype=x.dtype).reshape(n, f, oh * ow), gw, U(m),
                 plan.sizes, *plan.fill, *plan.out, plan.tap_array)
    return gw.reshape(filter_shape)
