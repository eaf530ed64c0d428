"""SSD layers in use and misuse: every wrong argument or input refused at graph build
(naming the layer and what it expected), and a tiny SSD network trained with
paddle.trainer.SGD whose multibox loss decreases and whose detections come out as v2's
rows."""

import numpy as np
import pytest

import minidl as paddle
from minidl.layers.base import build_listeners

L, dt = paddle.layer, paddle.data_type
VAR = [0.1, 0.1, 0.2, 0.2]


def parts():
    image = L.data(name="image", type=dt.dense_vector(3 * 16 * 16), height=16, width=16)
    feature = L.data(name="feature", type=dt.dense_vector(2 * 4 * 4), height=4, width=4)
    pb = L.priorbox(input=feature, image=image, aspect_ratio=[2.0], variance=VAR, min_size=[4],
                    name="pb")                                   # 3 priors per cell
    loc = L.data(name="loc", type=dt.dense_vector(12 * 16), height=4, width=4)
    conf = L.data(name="conf", type=dt.dense_vector(3 * 3 * 16), height=4, width=4)
    label = L.data(name="label", type=dt.dense_vector_sequence(6))
    return image, feature, pb, loc, conf, label


def _priorbox_errors(image, feature):
    flat = L.data(name="flat", type=dt.dense_vector(32))
    good = dict(input=feature, image=image, aspect_ratio=[2.0], variance=VAR, min_size=[4])
    return [
        (dict(good, input=flat), "input flat must be a feature map"),
        (dict(good, image=flat), "image flat must be a data layer given height and width"),
        (dict(good, image=feature.name), "image must be a layer"),
        (dict(good, variance=[0.1, 0.2, 0.2]), "must hold 4 numbers"),
        (dict(good, variance=[0.1, 0.1, 0.0, 0.2]), "must hold positive numbers"),
        (dict(good, aspect_ratio=[1.0, 2.0]), "must not hold 1"),
        (dict(good, aspect_ratio=2.0), r"aspect_ratio=2.0 must be a list"),
        (dict(good, min_size=[4, 8]), "expected one min_size and at most one max_size"),
        (dict(good, max_size=[8, 12]), "expected one min_size and at most one max_size"),
        (dict(good, min_size=[4.5]), "must hold positive integers"),
        (dict(good, min_size=4), "min_size=4 must be a list"),
    ]


def test_priorbox_build_errors():
    image, feature, *_ = parts()
    for kwargs, message in _priorbox_errors(image, feature):
        with pytest.raises(ValueError, match=message):
            L.priorbox(name="p", **kwargs)


def _prediction_errors(pb, loc, conf):
    seq = L.data(name="seq", type=dt.dense_vector_sequence(12 * 16))
    loc_5 = L.data(name="loc5", type=dt.dense_vector(10 * 16), height=4, width=4)
    loc_2x2 = L.data(name="loc2", type=dt.dense_vector(12 * 4), height=2, width=2)
    ids = L.data(name="ids", type=dt.integer_value(4))
    return [
        (dict(num_classes=0), "num_classes=0 must be an integer >= 1"),
        (dict(num_classes=3.0), "num_classes=3.0 must be an integer"),
        (dict(background_id=3), "background_id=3 must be below num_classes=3"),
        (dict(input_loc=[loc, loc]), "2 input_loc layers but 1 input_conf layers"),
        (dict(input_loc=[]), "input_loc needs at least one layer"),
        (dict(input_loc="loc"), "input_loc must be a layer or a list of layers"),
        (dict(input_loc=seq), "input_loc seq must hold one image per sample"),
        (dict(input_loc=ids), "computes on vectors"),
        (dict(input_loc=loc_5), r"expected 4 \* A and num_classes \* A = 3 \* A channels"),
        (dict(num_classes=4), r"conf conf 9; expected 4 \* A and num_classes \* A = 4 \* A"),
        (dict(input_loc=loc_2x2), "loc loc2 is a 2x2 map but conf conf is 4x4"),
        (dict(priorbox=loc), r"priorbox loc must have size 8 \* 48 = 384, got 192"),
        (dict(priorbox="pb"), "priorbox must be a layer"),
    ]


def test_multibox_loss_build_errors():
    _, _, pb, loc, conf, label = parts()
    good = dict(input_loc=loc, input_conf=conf, priorbox=pb, label=label, num_classes=3)
    plain = L.data(name="plain", type=dt.dense_vector(6))
    wide = L.data(name="wide", type=dt.dense_vector_sequence(5))
    cases = _prediction_errors(pb, loc, conf) + [
        (dict(label=plain), "label plain must be a sequence of boxes of size 6"),
        (dict(label=wide), "got a sequence of size 5"),
        (dict(label=None), "label must be a layer"),
        (dict(overlap_threshold=1.5), r"overlap_threshold=1.5 must be a number in \[0, 1\]"),
        (dict(neg_overlap=-0.1), "neg_overlap=-0.1 must be a number"),
        (dict(neg_pos_ratio=-1), "neg_pos_ratio=-1 must be a number >= 0"),
        (dict(neg_pos_ratio="3"), "neg_pos_ratio='3' must be a number"),
    ]
    built = []
    build_listeners.append(built.append)
    try:
        for kwargs, message in cases:
            with pytest.raises(ValueError, match=f"layer mbl[ :].*{message}"):
                L.multibox_loss(name="mbl", **dict(good, **kwargs))
    finally:
        build_listeners.remove(built.append)
    assert [layer.name for layer in built if layer.name == "mbl"] == []   # nothing half-built


def test_detection_output_build_errors():
    _, _, pb, loc, conf, _ = parts()
    good = dict(input_loc=loc, input_conf=conf, priorbox=pb, num_classes=3)
    cases = _prediction_errors(pb, loc, conf) + [
        (dict(keep_top_k=0), "keep_top_k=0 must be an integer >= 1"),
        (dict(nms_top_k=-1), "nms_top_k=-1 must be an integer >= 0"),
        (dict(nms_threshold=2.0), r"nms_threshold=2.0 must be a number in \[0, 1\]"),
        (dict(confidence_threshold=None), "confidence_threshold=None must be a number"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=f"layer det[ :].*{message}"):
            L.detection_output(name="det", **dict(good, **kwargs))


# ---- a tiny SSD network -----------------------------------------------------------------------

def _samples(rng, count):
    """8x8 images of one bright square (class 1) or bar (class 2) on noise, with its box."""
    samples = []
    for i in range(count):
        x = rng.standard_normal((1, 8, 8)) * 0.1
        cls = 1 + i % 2
        r, c = rng.integers(0, 5, 2)
        h, w = (4, 4) if cls == 1 else (2, 4)
        x[0, r:r + h, c:c + w] += 1.0
        box = [cls, c / 8, r / 8, (c + w) / 8, (r + h) / 8, 0]
        samples.append((x.reshape(-1).astype(np.float32), [box]))
    return samples


def test_a_tiny_ssd_network_trains_and_detects():
    paddle.init(use_gpu=False, trainer_count=1, seed=2)
    image = L.data(name="image", type=dt.dense_vector(64), height=8, width=8)
    label = L.data(name="label", type=dt.dense_vector_sequence(6))
    feature = L.img_conv(input=image, filter_size=3, num_filters=8, stride=2, padding=1,
                         act=paddle.activation.Relu())                        # 8 x 4 x 4
    priors = L.priorbox(input=feature, image=image, aspect_ratio=[2.0], variance=VAR,
                        min_size=[3], max_size=[5])                           # 4 per cell
    loc = L.img_conv(input=feature, filter_size=3, num_filters=4 * 4, padding=1,
                     act=paddle.activation.Linear())
    conf = L.img_conv(input=feature, filter_size=3, num_filters=4 * 3, padding=1,
                      act=paddle.activation.Linear())
    cost = L.multibox_loss(input_loc=loc, input_conf=conf, priorbox=priors, label=label,
                           num_classes=3)
    detections = L.detection_output(input_loc=loc, input_conf=conf, priorbox=priors,
                                    num_classes=3, keep_top_k=5)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=0.01))
    samples = _samples(np.random.default_rng(0), 16)
    costs = []

    def handler(event):
        if isinstance(event, paddle.event.EndIteration):
            costs.append(event.cost)

    trainer.train(paddle.batch(lambda: iter(samples), 8), num_passes=12, event_handler=handler)
    assert np.all(np.isfinite(costs)) and np.mean(costs[-4:]) < 0.7 * np.mean(costs[:4])
    out = paddle.infer(output_layer=detections, parameters=parameters,
                       input=[(x,) for x, _ in samples[:3]])
    assert out.ndim == 2 and out.shape[1] == 7 and 0 < len(out) <= 3 * 5
    assert set(out[:, 0]) <= {0, 1, 2} and set(out[:, 1]) <= {1, 2}
    assert np.all((out[:, 3:] >= 0) & (out[:, 3:] <= 1)) and np.all(out[:, 2] > 0.01)
