"""The autograd core: graph recording, accumulation, no-grad mode, dtypes, gradient checks."""

import gc
import weakref

import numpy as np
import pytest

from minidl.core import Function, Tensor, no_grad, using_dtype
from minidl.core import config
from minidl.core.gradcheck import check_directional, check_elementwise


def test_value_used_twice_accumulates():
    x = Tensor(np.array([3.0]), requires_grad=True)
    y = x * x + x          # dy/dx = 2x + 1
    y.backward()
    assert x.grad[0] == pytest.approx(7.0)


def test_diamond_graph_runs_each_function_once():
    calls = []

    class Count(Function):
        def forward(self, a):
            return a * 2

        def backward(self, gy):
            calls.append(1)
            return gy * 2

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = Count()(x)
    y = h * h + h          # h feeds two branches
    y.sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(x.grad, (2 * (2 * x.data) + 1) * 2)


def test_matmul_against_closed_form():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    (ta @ tb).backward(np.ones((3, 5)))
    np.testing.assert_allclose(ta.grad, np.ones((3, 5)) @ b.T)
    np.testing.assert_allclose(tb.grad, a.T @ np.ones((3, 5)))


def test_broadcast_add_reduces_gradient():
    x = Tensor(np.ones((4, 3)), requires_grad=True)
    b = Tensor(np.ones((1, 3)), requires_grad=True)
    (x + b).sum().backward()
    np.testing.assert_allclose(b.grad, [[4.0, 4.0, 4.0]])


def test_no_grad_records_nothing_and_saves_nothing():
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        y = x * x
    assert y.creator is None and not y.requires_grad
    assert config.grad_enabled


def test_no_grad_nests_and_restores_after_an_error():
    with no_grad():
        with no_grad():
            assert not config.grad_enabled
        assert not config.grad_enabled
    assert config.grad_enabled
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError("inside")
    assert config.grad_enabled


def test_functions_under_no_grad_keep_nothing_and_compute_the_same():
    class Spy(Function):
        def forward(self, a, b):
            self.seen = self.needs_input_grad
            self.save_for_backward(a, b)
            return a * b, a + b

        def backward(self, gy, gz):
            return gy, gz

    a, b = Tensor(np.arange(3.0), requires_grad=True), np.ones(3)
    recorded = Spy()(a, b)
    spy = Spy()
    with no_grad():
        product, total = spy(a, b)
    assert spy.seen == (False, False) and spy.saved == ()
    assert product.creator is None and not product.requires_grad
    for got, expected in zip((product, total), recorded):
        np.testing.assert_array_equal(got.data, expected.data)


def test_constant_inputs_need_no_gradient():
    class Spy(Function):
        def forward(self, a, b):
            self.seen = self.needs_input_grad
            return a + b

        def backward(self, gy):
            return gy, gy

    spy = Spy()
    spy(Tensor(np.ones(2)), Tensor(np.ones(2), requires_grad=True))
    assert spy.seen == (False, True)


def test_intermediate_activations_are_freed():
    """A function keeps only what it saved: an unsaved intermediate array is released."""
    x = Tensor(np.ones((1000,)), requires_grad=True)
    h = x + x                    # Add saves nothing
    data_ref = h.data
    probe = weakref.ref(h.node)
    y = -h                       # Neg saves nothing either
    del h, data_ref
    gc.collect()
    assert probe() is not None   # the graph still knows the node ...
    y.sum().backward()
    np.testing.assert_allclose(x.grad, -2 * np.ones(1000))


class Spy(Function):
    """``2 x``, saving a fresh array; ``seen`` records, when its backward runs, which of
    the ``probes`` (weak references) are still alive."""

    def __init__(self, probes, seen, label):
        self.probes, self.seen, self.label = probes, seen, label

    def forward(self, a):
        kept = a.copy()
        self.probes[self.label + " saved"] = weakref.ref(kept)
        self.save_for_backward(kept)
        return a * 2

    def backward(self, gy):
        self.probes[self.label + " gy"] = weakref.ref(gy)
        self.seen[self.label] = {name for name, ref in self.probes.items() if ref() is not None}
        return gy * 2


def test_saved_arrays_are_released_once_backward_has_passed():
    """Each function forgets its saved arrays as soon as its own backward has run: when
    the older function runs, the newer one's saved array and output gradient are gone,
    although the root (and so the whole graph) is still referenced."""
    probes, seen = {}, {}
    x = Tensor(np.ones(5), requires_grad=True)
    y = Spy(probes, seen, "second")(Spy(probes, seen, "first")(x)).sum()
    y.backward()
    assert seen["second"] == {"first saved", "second saved", "second gy"}
    assert seen["first"] == {"first saved", "first gy"}
    assert {name for name, ref in probes.items() if ref() is not None} == set()
    np.testing.assert_allclose(x.grad, 4 * np.ones(5))
    assert y.creator.released and y.creator.saved == ()


def test_retain_grad_keeps_gradients_but_not_saved_arrays():
    probes, seen = {}, {}
    x = Tensor(np.ones(3), requires_grad=True)
    h = Spy(probes, seen, "only")(x)
    h.sum().backward(retain_grad=True)
    np.testing.assert_allclose(h.grad, np.ones(3))
    assert probes["only saved"]() is None


def test_a_differentiated_graph_is_freed_without_the_cycle_collector():
    """A released graph leaves nothing in reference cycles: dropping the root frees
    every function at once, without the cycle collector."""
    probes, seen = {}, {}
    x = Tensor(np.ones(4), requires_grad=True)
    h = Spy(probes, seen, "used")(x)
    y = (h * h).sum()
    function = weakref.ref(h.creator)
    y.backward()
    del h, y
    assert function() is None


def test_second_backward_through_a_graph_raises():
    x = Tensor(np.ones(2), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_on_constant_raises():
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        Tensor(np.ones(2)).backward()


def test_missing_backward_rule_names_the_function():
    class NoRule(Function):
        def forward(self, a):
            return a

    y = NoRule()(Tensor(np.ones(2), requires_grad=True))
    with pytest.raises(NotImplementedError, match="NoRule"):
        y.sum().backward()


def test_default_dtype_float32_and_float64_switch():
    from minidl.core import as_tensor
    assert as_tensor([1.0, 2.0]).dtype == np.float32
    with using_dtype(np.float64):
        assert as_tensor([1.0]).dtype == np.float64


def test_gradcheck_detects_a_wrong_rule():
    class WrongSquare(Function):
        def forward(self, a):
            self.save_for_backward(a)
            return a * a

        def backward(self, gy):
            (a,) = self.saved
            return gy * a  # should be 2a

    x = np.array([0.5, -1.5, 2.0])
    with pytest.raises(AssertionError):
        check_directional(lambda t: WrongSquare()(t), x)
    with pytest.raises(AssertionError):
        check_elementwise(lambda t: WrongSquare()(t), x)


def test_gradcheck_of_basic_ops():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    check_elementwise(lambda x, y: (x @ y) * (x @ y) - x @ y, a, b)
    check_elementwise(lambda x, y: (x - y).reshape(12), a, rng.standard_normal((1, 4)))
    check_directional(lambda x: x.sum() * x.sum(), a)
