"""SSD reference kernels: prior boxes against hand-computed boxes, IoU against a per-pair
loop, encode/decode identities, NMS against a naive O(n^2) suppression, matching and mining
on hand-built cases, the multibox loss against plain loops, and float64 gradient checks of
the loss (matching held fixed) and of the prior-major data movement."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minidl.backends import kernel
from minidl.backends.numpy_ref.detection_match import (match_priors, max_positive_scores,
                                                       mine_negatives)
from minidl.core import Tensor
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.functions.detection import batch_cost, multibox_loss, prior_major

VAR = [0.1, 0.1, 0.2, 0.2]


def random_boxes(rng, count):
    """``(count, 4)`` boxes with positive width and height inside [0, 1]."""
    corners = rng.uniform(0, 1, (count, 2, 2))
    low, high = corners.min(axis=1), corners.max(axis=1) + 1e-3
    return np.concatenate([low, high], axis=1)


def as_priors(boxes, variance=VAR):
    return np.concatenate([boxes, np.tile(variance, (len(boxes), 1))], axis=1)


# ---- prior boxes ------------------------------------------------------------------------------

def test_priorbox_of_a_2x2_map_by_hand():
    # an 8x8 image, a 2x2 map: cells 4 pixels apart, centred at 2 and 6
    out = kernel("priorbox")((2, 2), (8, 8), 4, 9, [2.0], VAR)
    priors = out.reshape(2, 2, 4, 8)           # (h, w, prior, 8)
    r = math.sqrt(2.0)
    for h, cy in enumerate((2.0, 6.0)):
        for w, cx in enumerate((2.0, 6.0)):
            expected = [
                (cx - 2, cy - 2, cx + 2, cy + 2),            # min_size 4
                (cx - 3, cy - 3, cx + 3, cy + 3),            # floor(sqrt(4 * 9)) = 6
                (cx - 2 * r, cy - 2 / r, cx + 2 * r, cy + 2 / r),    # ratio 2: 4r x 4/r
                (cx - 2 / r, cy - 2 * r, cx + 2 / r, cy + 2 * r),    # ratio 1/2
            ]
            boxes = np.clip(np.array(expected) / 8, 0, 1)
            np.testing.assert_allclose(priors[h, w, :, :4], boxes, rtol=1e-12)
            np.testing.assert_array_equal(priors[h, w, :, 4:], np.tile(VAR, (4, 1)))
    assert out.shape == (1, 2 * 2 * 4 * 8)
    # clipping happened at the image border: the 6-pixel square around (2, 2) starts at -1
    assert priors[0, 0, 1, 0] == 0 and priors[1, 1, 1, 2] == 1


def test_priorbox_max_square_side_is_an_integer():
    # sqrt(30 * 60) = 42.43: Paddle kept the side in an int, 42
    out = kernel("priorbox")((1, 1), (300, 300), 30, 60, [], VAR).reshape(2, 8)
    np.testing.assert_allclose(out[1, 2] - out[1, 0], 42 / 300, rtol=1e-12)


# ---- IoU, encode, decode ----------------------------------------------------------------------

def naive_iou(a, b):
    if b[0] > a[2] or b[2] < a[0] or b[1] > a[3] or b[3] < a[1]:
        return 0.0
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@settings(max_examples=30)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 6), st.integers(1, 6))
def test_iou_matches_a_per_pair_loop(seed, m, k):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, m), random_boxes(rng, k)
    got = kernel("box_iou")(a, b)
    expected = [[naive_iou(x, y) for y in b] for x in a]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(kernel("box_iou")(a, a).diagonal(), 1.0)
    np.testing.assert_allclose(kernel("box_iou")(b, a), got.T)


def test_iou_of_disjoint_and_nested_boxes():
    a = np.array([[0.0, 0.0, 0.5, 0.5]])
    b = np.array([[0.6, 0.6, 0.9, 0.9], [0.0, 0.0, 0.25, 0.5], [0.5, 0.0, 1.0, 0.5]])
    np.testing.assert_allclose(kernel("box_iou")(a, b), [[0.0, 0.5, 0.0]])


@settings(max_examples=30)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 8))
def test_decode_inverts_encode(seed, count):
    rng = np.random.default_rng(seed)
    priors = as_priors(random_boxes(rng, count), rng.uniform(0.05, 1.0, 4))
    boxes = random_boxes(rng, count)
    offsets = kernel("encode_boxes")(priors, boxes)
    np.testing.assert_allclose(kernel("decode_boxes")(priors, offsets), boxes, atol=1e-12)
    # and the other way round: encode(decode(o)) == o
    o = rng.standard_normal((count, 4))
    np.testing.assert_allclose(kernel("encode_boxes")(priors, kernel("decode_boxes")(priors, o)),
                               o, atol=1e-9)


def test_encode_by_hand():
    prior = as_priors(np.array([[0.2, 0.2, 0.6, 0.4]]))       # centre (0.4, 0.3), 0.4 x 0.2
    box = np.array([[0.3, 0.2, 0.7, 0.6]])                    # centre (0.5, 0.4), 0.4 x 0.4
    expected = [0.1 / 0.4 / 0.1, 0.1 / 0.2 / 0.1, math.log(1.0) / 0.2, math.log(2.0) / 0.2]
    np.testing.assert_allclose(kernel("encode_boxes")(prior, box)[0], expected, rtol=1e-12)
    np.testing.assert_allclose(kernel("encode_boxes")(prior, prior[:, :4]), 0, atol=1e-15)


# ---- NMS --------------------------------------------------------------------------------------

def naive_nms(boxes, scores, score_threshold, nms_threshold, top_k):
    """Pick the best remaining candidate, drop every candidate overlapping it too much."""
    order = sorted((i for i in range(len(boxes)) if scores[i] > score_threshold),
                   key=lambda i: (-scores[i], i))
    if top_k > 0:
        order = order[:top_k]
    kept = []
    while order:
        best = order.pop(0)
        kept.append(best)
        order = [i for i in order if naive_iou(boxes[best], boxes[i]) <= nms_threshold]
    return kept


@settings(max_examples=30)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 12), st.sampled_from([0.0, 0.3, 0.45, 0.7]),
       st.integers(0, 6))
def test_nms_matches_naive_suppression(seed, count, nms_threshold, top_k):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, count)
    scores = rng.choice([0.1, 0.2, 0.5, 0.9], count)      # ties on purpose
    got = kernel("nms")(boxes, scores, 0.15, nms_threshold, top_k)
    assert got.tolist() == naive_nms(boxes, scores, 0.15, nms_threshold, top_k)


def test_nms_by_hand():
    boxes = np.array([[0, 0, 1, 1], [0, 0, 1, 0.9], [0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1.0]])
    scores = np.array([0.9, 0.8, 0.7, 0.01])
    # box 1 overlaps box 0 by 0.9 > 0.45; box 2 by 0.25; box 3 is under the score threshold
    assert kernel("nms")(boxes, scores, 0.05, 0.45, 0).tolist() == [0, 2]


# ---- matching and mining ----------------------------------------------------------------------

def test_matching_by_hand():
    priors = np.array([[0.0, 0.0, 0.5, 0.5],      # 0: iou 1 with box A
                       [0.0, 0.0, 0.5, 0.4],      # 1: 0.8 with A
                       [0.0, 0.0, 0.25, 0.5],     # 2: 0.5 with A
                       [0.5, 0.5, 1.0, 1.0],      # 3: 0.36 with B, its best prior
                       [0.9, 0.0, 1.0, 0.1]])     # 4: overlaps nothing
    gt = np.array([[0.0, 0.0, 0.5, 0.5],          # A
                   [0.4, 0.4, 0.9, 0.9]])         # B
    match, overlap = match_priors(priors, gt, overlap_threshold=0.5)
    # bipartite: A takes prior 0 (1.0), B takes prior 3 (its best, 0.36 < threshold);
    # per prediction: priors 1 (0.8) and 2 (0.5 >= 0.5) go to A; prior 4 stays free
    assert match.tolist() == [0, 0, 0, 1, -1]
    iou_b3 = 0.4 * 0.4 / (0.25 + 0.25 - 0.16)
    np.testing.assert_allclose(overlap, [1.0, 0.8, 0.5, iou_b3, 0.0])
    match, _ = match_priors(priors, gt, overlap_threshold=0.6)
    assert match.tolist() == [0, 0, -1, 1, -1]


def naive_match(priors, gt, threshold):
    """Matching as loops: the greedy bipartite round over (prior, box) pairs in order, then
    each free prior's best box over the threshold."""
    iou = [[naive_iou(p, g) for g in gt] for p in priors]
    match, overlap = [-1] * len(priors), [max([0.0] + [v for v in row if v > 1e-6])
                                          for row in iou]
    boxes_left = list(range(len(gt)))
    while boxes_left:
        best = None
        for i in range(len(priors)):
            for j in boxes_left:
                if match[i] == -1 and iou[i][j] > 1e-6 and (best is None or
                                                            iou[i][j] > iou[best[0]][best[1]]):
                    best = (i, j)
        if best is None:
            break
        match[best[0]], overlap[best[0]] = best[1], iou[best[0]][best[1]]
        boxes_left.remove(best[1])
    for i in range(len(priors)):
        if match[i] == -1:
            good = [j for j in range(len(gt)) if iou[i][j] > 1e-6 and iou[i][j] >= threshold]
            if good:
                match[i] = max(good, key=lambda j: (iou[i][j], -j))
    return match, overlap


@settings(max_examples=30)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 10), st.integers(0, 4),
       st.sampled_from([0.0, 0.3, 0.5]))
def test_matching_matches_loops(seed, num_priors, num_gt, threshold):
    rng = np.random.default_rng(seed)
    # coordinates on a coarse grid: equal overlaps (ties) are common
    priors = np.round(random_boxes(rng, num_priors) * 4) / 4 + [0, 0, 0.25, 0.25]
    gt = np.round(random_boxes(rng, num_gt) * 4) / 4 + [0, 0, 0.25, 0.25]
    match, overlap = match_priors(priors, gt, threshold)
    expected_match, expected_overlap = naive_match(priors, gt, threshold)
    assert match.tolist() == expected_match
    np.testing.assert_allclose(overlap, expected_overlap, rtol=1e-12)


def test_bipartite_round_gives_each_box_a_prior_even_when_another_box_overlaps_it_more():
    priors = np.array([[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.45, 0.5]])
    gt = np.array([[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.4, 0.5]])
    match, _ = match_priors(priors, gt, overlap_threshold=0.99)
    # pair (0, A) first (iou 1); then B gets prior 1, though prior 1 overlaps A more (0.9)
    assert match.tolist() == [0, 1]


def test_max_positive_scores_and_mining():
    conf = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.5], [1.0, 1.0, 1.0]])
    expected = [np.exp(c[1:]).max() / np.exp(c).sum() for c in conf]
    scores = max_positive_scores(conf, background_id=0)
    np.testing.assert_allclose(scores, expected, rtol=1e-12)
    np.testing.assert_allclose(max_positive_scores(conf, 2),
                               [np.exp(c[:2]).max() / np.exp(c).sum() for c in conf])
    match = np.array([-1, -1, 0, -1])
    overlap = np.array([0.1, 0.6, 0.9, 0.0])
    # prior 1 overlaps a box too much to be a negative; prior 2 is matched
    assert mine_negatives(match, overlap, scores, 5, 0.5).tolist() == [3, 0]
    assert mine_negatives(match, overlap, scores, 1, 0.5).tolist() == [3]


def test_multibox_match_keeps_rows_of_the_batch_and_ratio_as_whole_number():
    priors = as_priors(np.array([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0],
                                 [0.0, 0.5, 0.5, 1.0], [0.5, 0.0, 1.0, 0.5]]))
    labels = np.array([[1, 0.5, 0.5, 1.0, 1.0, 0],           # image 0: one box
                       [2, 0.0, 0.0, 0.5, 0.5, 0]])          # image 2: one box; image 1: none
    conf = np.zeros((3, 4, 3))
    conf[:, :, 1] = [0.0, 1.0, 2.0, 3.0]                     # priors 3, 2, ... look like objects
    match, negative = kernel("multibox_match")(conf, priors, labels, np.array([0, 1, 1, 2]),
                                               0.5, 1.9, 0.5, 0)
    assert match.tolist() == [[-1, 0, -1, -1], [-1] * 4, [1, -1, -1, -1]]
    # floor(1.9) = 1 negative per match: the most confident free prior, 3
    assert negative.tolist() == [[False, False, False, True], [False] * 4,
                                 [False, False, False, True]]


# ---- the loss ---------------------------------------------------------------------------------

def naive_loss(loc, conf, priors, labels, match, negative, background_id):
    total, matched = 0.0, 0
    for n in range(loc.shape[0]):
        for i in range(loc.shape[1]):
            if match[n, i] >= 0:
                matched += 1
                row = labels[match[n, i]]
                target = kernel("encode_boxes")(priors[[i]], row[None, 1:5])[0]
                for d in loc[n, i] - target:
                    total += 0.5 * d * d if abs(d) < 1 else abs(d) - 0.5
                cls = int(row[0])
            elif negative[n, i]:
                cls = background_id
            else:
                continue
            total -= conf[n, i, cls] - math.log(sum(math.exp(v) for v in conf[n, i]))
    return total / matched if matched else 0.0


def loss_case(rng, images=2, num_priors=6, classes=3):
    priors = as_priors(random_boxes(rng, num_priors))
    labels = np.concatenate([rng.integers(1, classes, (3, 1)), random_boxes(rng, 3),
                             np.zeros((3, 1))], axis=1)
    match = np.full((images, num_priors), -1)
    match[0, [0, 2]] = [0, 1]
    match[1, 4] = 2
    negative = np.zeros((images, num_priors), dtype=bool)
    negative[0, [1, 5]] = True
    negative[1, 0] = True
    loc = rng.standard_normal((images, num_priors, 4)) * 2      # both smooth-L1 branches
    conf = rng.standard_normal((images, num_priors, classes))
    return loc, conf, priors, labels, match, negative


def test_loss_matches_plain_loops(rng):
    loc, conf, priors, labels, match, negative = loss_case(rng)
    got = kernel("multibox_loss_forward")(loc, conf, priors, labels, match, negative, 0)
    np.testing.assert_allclose(got, naive_loss(loc, conf, priors, labels, match, negative, 0),
                               rtol=1e-12)
    nothing = np.full_like(match, -1)
    assert kernel("multibox_loss_forward")(loc, conf, priors, labels, nothing,
                                           np.zeros_like(negative), 0) == 0


@pytest.mark.parametrize("background_id", [0, 2])
def test_loss_gradient_with_the_matching_held_fixed(rng, background_id):
    loc, conf, priors, labels, match, negative = loss_case(rng)
    n = loc.shape[0]

    def fn(loc_rows, conf_rows):
        return multibox_loss(loc_rows, conf_rows, priors, labels, match, negative, 3,
                             background_id)
    check_elementwise(fn, loc.reshape(n, -1), conf.reshape(n, -1), atol=1e-8)
    check_directional(fn, loc.reshape(n, -1), conf.reshape(n, -1))


def test_batch_cost_reports_the_loss_per_image_and_back_propagates_its_gradient_once():
    loss = Tensor(np.array([[2.5]]), requires_grad=True)
    rows = batch_cost(loss, 4)
    np.testing.assert_array_equal(rows.data, [[2.5]] * 4)
    rows.sum().backward()
    assert loss.grad.tolist() == [[1.0]]


def test_prior_major_order_and_gradient(rng):
    # two maps: 2 channels of 2x3, 4 channels of 1x1
    a, b = rng.standard_normal((2, 2 * 6)), rng.standard_normal((2, 4))
    y = prior_major([Tensor(a), Tensor(b)], [2, 4]).data
    for n in range(2):
        image = a[n].reshape(2, 6)
        expected = [image[c, p] for p in range(6) for c in range(2)] + list(b[n])
        np.testing.assert_array_equal(y[n], expected)
    check_directional(lambda x, z: prior_major([x, z], [2, 4]), a, b)
