"""``paddle.trainer.SGD(extra_layers=...)`` as in Paddle: every cost layer of the network is
trained, the reported cost is the main one's, and extra layers' parameters are created."""

import numpy as np
import pytest

import minidl as paddle


def _two_headed():
    """A shared hidden layer, a main classifier and an auxiliary one (GoogLeNet's pattern)."""
    x = paddle.layer.data("x", paddle.data_type.dense_vector(4))
    label = paddle.layer.data("label", paddle.data_type.integer_value(3))
    hidden = paddle.layer.fc(input=x, size=5, act=paddle.activation.Tanh(), name="hidden")
    main = paddle.layer.fc(input=hidden, size=3, act=paddle.activation.Softmax(), name="main")
    aux = paddle.layer.fc(input=hidden, size=3, act=paddle.activation.Softmax(), name="aux")
    main_cost = paddle.layer.classification_cost(input=main, label=label, name="main_cost")
    aux_cost = paddle.layer.cross_entropy_cost(input=aux, label=label, coeff=0.3,
                                               name="aux_cost")
    return main_cost, aux_cost


def _batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(4).astype(np.float32), int(rng.integers(3)))
            for _ in range(n)]


def _train(cost, parameters, extra_layers, batch):
    costs = []
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, extra_layers=extra_layers,
                                 update_equation=paddle.optimizer.Momentum(learning_rate=0.1))
    handler = lambda event: costs.append(event.cost) if isinstance(   # noqa: E731
        event, paddle.event.EndIteration) else None
    trainer.train(lambda: iter([batch]), num_passes=1, event_handler=handler)
    return costs[0]


def test_extra_layer_parameters_are_created_and_initialised():
    main_cost, aux_cost = _two_headed()
    parameters = paddle.parameters.create(main_cost)
    assert "_aux.w0" not in parameters.names()
    paddle.trainer.SGD(cost=main_cost, parameters=parameters, extra_layers=[aux_cost],
                       update_equation=paddle.optimizer.Momentum(learning_rate=0.1))
    assert parameters.get_shape("_aux.w0") == (5, 3)
    assert np.std(parameters.get("_aux.w0")) > 0     # initialised, not zeros
    assert np.all(parameters.get("_aux.wbias") == 0)


def test_extra_cost_trains_like_a_second_cost_but_is_not_reported():
    paddle.init(seed=3)
    main_cost, aux_cost = _two_headed()
    both = paddle.parameters.create([main_cost, aux_cost])
    initial = {name: both.get(name).copy() for name in both.names()}
    extra = paddle.parameters.create([main_cost, aux_cost])
    for name, value in initial.items():
        extra.set(name, value)
    batch = _batch()

    reported_both = _train([main_cost, aux_cost], both, None, batch)
    reported_extra = _train(main_cost, extra, [aux_cost], batch)

    for name in initial:   # the same update: the auxiliary cost's gradient took part
        np.testing.assert_allclose(extra.get(name), both.get(name), rtol=1e-6, atol=1e-7)
    assert not np.allclose(extra.get("_hidden.w0"), initial["_hidden.w0"])
    assert not np.allclose(extra.get("_aux.w0"), initial["_aux.w0"])

    # the reported cost is the main cost's alone: compute both costs at the initial values
    probe = paddle.parameters.create([main_cost, aux_cost])
    for name, value in initial.items():
        probe.set(name, value)
    main_only = paddle.trainer.SGD(cost=main_cost, parameters=probe,
                                   update_equation=paddle.optimizer.Momentum(learning_rate=0.1))
    main_value = main_only.test(lambda: iter([batch])).cost
    assert reported_extra == pytest.approx(main_value, rel=1e-5)
    assert reported_both > reported_extra


def test_missing_main_parameter_is_still_an_error():
    main_cost, aux_cost = _two_headed()
    parameters = paddle.parameters.create(aux_cost)   # lacks the main classifier's weights
    with pytest.raises(ValueError, match="_main.w0 .*missing from parameters"):
        paddle.trainer.SGD(cost=main_cost, parameters=parameters, extra_layers=[aux_cost],
                           update_equation=paddle.optimizer.Momentum(learning_rate=0.1))
