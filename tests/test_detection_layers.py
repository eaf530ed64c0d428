"""SSD layers: priorbox, multibox_loss and detection_output. Sizes and names as v2, the
detections and the loss of constructed cases with obvious answers, the layer's gradient
against finite differences of the loss, construction-time errors, and a tiny network that
trains with paddle.trainer.SGD."""

import math

import numpy as np
import pytest

import minidl as paddle
from minidl.core import Tensor
from minidl.core.sequence import SequenceLayout

from sequence_helpers import run_layer

L, dt = paddle.layer, paddle.data_type
VAR = [0.1, 0.1, 0.2, 0.2]


def quadrant_net(num_classes=3, **detection_args):
    """An 8x8 image, a 2x2 map, one 4-pixel prior per cell: the four quadrants."""
    image = L.data(name="image", type=dt.dense_vector(8 * 8), height=8, width=8)
    feature = L.data(name="feature", type=dt.dense_vector(4), height=2, width=2)
    priors = L.priorbox(input=feature, image=image, aspect_ratio=[], variance=VAR, min_size=[4])
    loc = L.data(name="loc", type=dt.dense_vector(4 * 4), height=2, width=2)
    conf = L.data(name="conf", type=dt.dense_vector(num_classes * 4), height=2, width=2)
    return image, feature, priors, loc, conf


def channel_major(per_prior):
    """``(N, P, D)`` numbers per prior -> ``(N, D * P)`` rows of a D-channel 2x2 map."""
    return per_prior.transpose(0, 2, 1).reshape(len(per_prior), -1)


def run(layer, values, label=None):
    """Compute ``layer`` from its inputs' values; the priorbox runs from its own inputs."""
    priors = layer.inputs[0]
    pb = run_layer(priors, [(np.zeros((1, 4)), None), (np.zeros((1, 64)), None)])
    inputs = [(pb.data, None)] + ([label] if label is not None else []) + \
        [(v, None) for v in values]
    return run_layer(layer, inputs)


QUADRANTS = np.array([[0, 0, .5, .5], [.5, 0, 1, .5], [0, .5, .5, 1], [.5, .5, 1, 1]])


# ---- sizes and names as v2 --------------------------------------------------------------------

def test_sizes_and_names_as_v2():
    image = L.data(name="image", type=dt.dense_vector(3 * 32 * 32), height=32, width=32)
    feature = L.img_conv(input=image, filter_size=3, num_filters=5, stride=8, padding=1)
    ratios, max_size = [2.0, 3.0], [20]
    pb = L.priorbox(input=feature, image=image, aspect_ratio=ratios, variance=VAR,
                    min_size=[10], max_size=max_size)
    # v2: num_filters = (2 * ratios + 1 + len(max_size)) * 4; size = H*W * num_filters * 2
    num_filters = (len(ratios) * 2 + 1 + len(max_size)) * 4
    assert pb.size == feature.size // feature.num_filters * num_filters * 2 == 4 * 4 * 6 * 8
    assert pb.name == "__priorbox_0__"
    value = run_layer(pb, [(np.zeros((3, feature.size)), None), (np.zeros((3, 3072)), None)])
    assert value.shape == (1, pb.size)        # one row whatever the batch
    loc = L.img_conv(input=feature, filter_size=1, num_filters=6 * 4)
    conf = L.img_conv(input=feature, filter_size=1, num_filters=6 * 21)
    label = L.data(name="label", type=dt.dense_vector_sequence(6))
    cost = L.multibox_loss(input_loc=loc, input_conf=conf, priorbox=pb, label=label,
                           num_classes=21)
    det = L.detection_output(input_loc=[loc], input_conf=[conf], priorbox=pb, num_classes=21)
    assert (cost.name, cost.size, cost.seq_level) == ("__multibox_loss_0__", 1, 0)
    assert (det.name, det.size) == ("__detection_output_0__", 200 * 7)
    assert L.detection_output(input_loc=loc, input_conf=conf, priorbox=pb, num_classes=21,
                              keep_top_k=7).size == 49
    assert [p.name for p in cost.inputs] == [pb.name, "label", loc.name, conf.name]
    assert [p.name for p in det.inputs] == [pb.name, loc.name, conf.name]
    assert paddle.parameters.create(cost).keys() == paddle.parameters.create([loc, conf]).keys()


# ---- detection_output -------------------------------------------------------------------------

def detection_case():
    """Two images; logits 5 mark an object, everything else is background (logit 5 at 0)."""
    logits = np.zeros((2, 4, 3))
    logits[:, :, 0] = 5
    logits[0, 0] = [0, 5, 0]           # image 0: a class-1 object in quadrant 0
    logits[0, 3] = [0, 0, 5]           #          a class-2 object in quadrant 3
    logits[1, 1] = [0, 5, 0]           # image 1: class 1 in quadrant 1, moved right
    logits[1, 2] = [0, -5, 4]          #          quadrant 2 moved onto quadrant 3 (weaker) ...
    logits[1, 3] = [0, 0, 5]           #          ... and quadrant 3 itself
    offsets = np.zeros((2, 4, 4))
    offsets[1, 1, 0] = 1.0             # centre x + 0.1 * 1 * 0.5 = +0.05
    offsets[1, 2, 0] = 10.0            # centre x + 0.1 * 10 * 0.5 = +0.5
    return channel_major(offsets), channel_major(logits)


def test_detection_output_on_a_constructed_case():
    _, _, priors, loc, conf = quadrant_net()
    det = L.detection_output(input_loc=loc, input_conf=conf, priorbox=priors, num_classes=3)
    out = run(det, detection_case()).data
    strong = math.exp(5) / (math.exp(5) + 2)
    # image 1's weaker class-2 box (quadrant 2 moved onto quadrant 3) is suppressed
    expected = [[0, 1, strong, *QUADRANTS[0]],
                [0, 2, strong, *QUADRANTS[3]],
                [1, 1, strong, 0.55, 0, 1, 0.5],      # 1.05 clipped to 1
                [1, 2, strong, *QUADRANTS[3]]]
    np.testing.assert_allclose(out, expected, rtol=1e-7, atol=1e-7)   # float32 priors
    # keep_top_k=1: each image keeps its best box (the first on ties)
    det1 = L.detection_output(input_loc=loc, input_conf=conf, priorbox=priors, num_classes=3,
                              keep_top_k=1)
    np.testing.assert_allclose(run(det1, detection_case()).data, [expected[0], expected[2]])
    # nms_threshold=1: nothing overlaps "too much", the weaker box stays
    det2 = L.detection_output(input_loc=loc, input_conf=conf, priorbox=priors, num_classes=3,
                              nms_threshold=1.0)
    assert run(det2, detection_case()).data[:, :2].tolist() == \
        [[0, 1], [0, 2], [1, 1], [1, 2], [1, 2]]


def test_detection_output_can_be_empty():
    _, _, priors, loc, conf = quadrant_net()
    det = L.detection_output(input_loc=loc, input_conf=conf, priorbox=priors, num_classes=3,
                             confidence_threshold=0.999)
    assert run(det, detection_case()).shape == (0, 7)


# ---- multibox_loss ----------------------------------------------------------------------------

def label_rows(boxes_per_image):
    rows = [box for boxes in boxes_per_image for box in boxes]
    layout = SequenceLayout.from_lengths([len(boxes) for boxes in boxes_per_image])
    return np.array(rows, dtype=np.float64).reshape(-1, 6), layout


def test_multibox_loss_on_a_constructed_case():
    _, _, priors, loc, conf = quadrant_net()
    label = L.data(name="label", type=dt.dense_vector_sequence(6))
    # one box, exactly quadrant 0, class 1: prior 0 matches; the other three touch it only
    labels = label_rows([[[1, *QUADRANTS[0], 0]]])
    offsets = np.zeros((1, 4, 4))
    offsets[0, 0, 2] = 0.5                         # smooth-L1: 0.5 * 0.5^2
    values = (channel_major(offsets), np.zeros((1, 12)))   # every class equally likely
    for ratio, negatives in ((3.0, 3), (1.0, 1), (0.0, 0)):
        cost = L.multibox_loss(input_loc=loc, input_conf=conf, priorbox=priors, label=label,
                               num_classes=3, neg_pos_ratio=ratio)
        out = run(cost, values, labels).data
        np.testing.assert_allclose(out, [[0.125 + (1 + negatives) * math.log(3)]], rtol=1e-6)


def test_multibox_loss_layer_gradient_is_that_of_the_batch_loss(rng):
    # two feature maps, two images, several boxes: the layer's inputs get dL (the trainer
    # sums the N equal rows, and the layer back-propagates the loss once)
    image = L.data(name="image", type=dt.dense_vector(16 * 16), height=16, width=16)
    maps = [L.data(name=f"f{k}", type=dt.dense_vector(side * side), height=side, width=side)
            for k, side in enumerate((4, 2))]
    pbs = [L.priorbox(input=m, image=image, aspect_ratio=[2.0], variance=VAR, min_size=[s],
                      max_size=[s + 4]) for m, s in zip(maps, (4, 8))]
    priors = L.concat(input=pbs)
    locs = [L.data(name=f"loc{k}", type=dt.dense_vector(16 * side * side), height=side,
                   width=side) for k, side in enumerate((4, 2))]
    confs = [L.data(name=f"conf{k}", type=dt.dense_vector(12 * side * side), height=side,
                    width=side) for k, side in enumerate((4, 2))]
    label = L.data(name="label", type=dt.dense_vector_sequence(6))
    cost = L.multibox_loss(input_loc=locs, input_conf=confs, priorbox=priors, label=label,
                           num_classes=3)
    pb_value = np.concatenate([run_layer(pb, [(np.zeros((1, m.size)), None),
                                              (np.zeros((1, 256)), None)]).data
                               for pb, m in zip(pbs, maps)], axis=1)
    labels, layout = label_rows([[[1, .1, .1, .4, .5, 0], [2, .5, .5, .9, .8, 0]],
                                 [[2, .2, .3, .7, .9, 1]]])
    arrays = [rng.standard_normal((2, p.size)) for p in locs + confs]

    def loss(values):
        xs = [Tensor(pb_value), Tensor(labels, seq=layout)] + \
            [Tensor(v, requires_grad=True) for v in values]
        return cost.compute(None, xs), xs[2:]

    with paddle.core.using_dtype(np.float64):
        out, tensors = loss(arrays)
        assert out.shape == (2, 1) and out.data[0, 0] == out.data[1, 0] > 0
        out.sum().backward()
        direction = [rng.standard_normal(a.shape) for a in arrays]
        eps = 1e-6
        plus = loss([a + eps * d for a, d in zip(arrays, direction)])[0].data[0, 0]
        minus = loss([a - eps * d for a, d in zip(arrays, direction)])[0].data[0, 0]
    analytic = sum(float(np.sum(t.grad * d)) for t, d in zip(tensors, direction))
    np.testing.assert_allclose(analytic, (plus - minus) / (2 * eps), rtol=1e-5)


def test_multibox_loss_run_time_label_errors():
    _, _, priors, loc, conf = quadrant_net()
    label = L.data(name="label", type=dt.dense_vector_sequence(6))
    cost = L.multibox_loss(input_loc=loc, input_conf=conf, priorbox=priors, label=label,
                           num_classes=3, name="mbl")
    values = (np.zeros((2, 16)), np.zeros((2, 12)))
    with pytest.raises(ValueError, match=r"mbl: label classes must be integers in \[0, 3\)"):
        run(cost, values, label_rows([[[3, .1, .1, .2, .2, 0]], []]))
    with pytest.raises(ValueError, match="mbl: label label holds 1 sequences for 2 images"):
        run(cost, values, label_rows([[[1, .1, .1, .2, .2, 0]]]))
    # an image without boxes adds nothing; a batch without any box costs 0
    assert run(cost, values, label_rows([[], []])).data.tolist() == [[0.0], [0.0]]
