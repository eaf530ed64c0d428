"""Empty and malformed input, bad configuration and misplaced hook arguments give errors that
name the value and what is allowed; CIFAR labels are range-checked; ``uci_housing.model()``
returns v2's pretrained fit-a-line parameters."""

import io
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

import minidl as paddle
from minidl.attr import Hook
from minidl.core import settings
from minidl.dataset import cifar, uci_housing
from minidl.dataset.common import DatasetFormatError, DatasetNotFound
from minidl.training.feeding import FeedError

FIXTURES = Path(__file__).parent / "fixtures" / "paddle_v2"


@pytest.fixture(autouse=True)
def restore_settings():
    saved = settings.snapshot()
    yield
    settings.update(**saved)


def _trainer():
    x = paddle.layer.data("x", paddle.data_type.dense_vector(3))
    label = paddle.layer.data("label", paddle.data_type.integer_value(2))
    out = paddle.layer.fc(input=x, size=2, act=paddle.activation.Softmax())
    cost = paddle.layer.classification_cost(input=out, label=label)
    params = paddle.parameters.create(cost)
    return paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.01)), params


def _samples(n):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal(3).astype(np.float32), int(i % 2)) for i in range(n)]


# ---- empty input ----

def test_a_reader_that_yields_nothing_raises():
    trainer, _ = _trainer()
    short = paddle.batch(lambda: iter(_samples(5)), batch_size=8)   # drop_last: no batch at all
    seen = []
    with pytest.raises(ValueError, match=r"pass 0: the reader yielded no minibatch.*drop_last"):
        trainer.train(short, num_passes=2, event_handler=seen.append)
    assert not any(isinstance(e, paddle.event.EndPass) for e in seen)


def test_a_reader_exhausted_after_the_first_pass_raises():
    trainer, _ = _trainer()
    batches = iter([_samples(4), _samples(4)])
    with pytest.raises(ValueError, match=r"pass 1: the reader yielded no minibatch, though pass "
                                         r"0 had 2.*reader creator"):
        trainer.train(lambda: batches, num_passes=2)


def test_testing_on_an_empty_reader_raises_instead_of_reporting_zero():
    trainer, _ = _trainer()
    with pytest.raises(ValueError, match="trainer.test: the reader yielded no samples"):
        trainer.test(paddle.batch(lambda: iter(_samples(3)), batch_size=8))
    result = trainer.test(paddle.batch(lambda: iter(_samples(3)), batch_size=8, drop_last=False))
    assert np.isfinite(result.cost)


def test_an_empty_minibatch_names_pass_and_batch():
    trainer, params = _trainer()
    before = params.get("___fc_layer_0__.w0").copy()
    with pytest.raises(FeedError, match=r"pass 0, batch 1: the reader yielded an empty "
                                        "minibatch"):
        trainer.train(lambda: iter([_samples(4), []]), num_passes=1)
    assert not np.array_equal(params.get("___fc_layer_0__.w0"), before)   # batch 0 ran
    with pytest.raises(FeedError, match=r"trainer.test, batch 0: the reader yielded an empty"):
        trainer.test(lambda: iter([[]]))


@pytest.mark.parametrize("minibatches,message", [
    ([[(np.zeros(3), 0), (np.zeros(2), 1)]],
     r"pass 0, batch 0: data layer x expects a vector of 3 values, sample 1 has 2"),
    ([[(np.zeros(3), 0), ("abc", 1)]],
     r"pass 0, batch 0: data layer x expects a vector of 3 numbers, sample 1 gives 'abc'"),
    ([[(np.zeros(3), 0), (np.zeros(3), 5)]],
     r"pass 0, batch 0: data layer label: label 5 of sample 1 is out of range \[0, 2\)"),
    ([[(np.zeros(3), 0)], [(np.zeros(3),)]],
     r"pass 0, batch 1: data layer label reads field 1, but sample 0 has only 1 field"),
    ([(np.zeros(3), 1)],
     r"the minibatch is a tuple: is it one sample of a reader not wrapped with paddle.batch"),
    ([7], r"pass 0, batch 0: a minibatch must be a list of samples, got int 7"),
])
def test_malformed_samples_name_the_sample_and_the_data_layer(minibatches, message):
    trainer, _ = _trainer()
    with pytest.raises(FeedError, match=message):
        trainer.train(lambda: iter(minibatches), num_passes=1)


def test_reader_arguments_are_checked():
    trainer, _ = _trainer()
    with pytest.raises(TypeError, match="reader must be a callable"):
        trainer.train(_samples(4))
    with pytest.raises(TypeError, match=r"reader\(\) returned None, not an iterator"):
        trainer.train(lambda: None)


@pytest.mark.parametrize("passes", [-1, 1.5, "2", True, None])
def test_num_passes_must_be_a_count(passes):
    trainer, _ = _trainer()
    with pytest.raises(ValueError, match=rf"num_passes={passes!r} is not allowed: it must be an "
                                         r"integer >= 0"):
        trainer.train(lambda: iter([_samples(4)]), num_passes=passes)


def test_zero_passes_train_nothing():
    trainer, params = _trainer()
    before = params.get("___fc_layer_0__.w0").copy()
    trainer.train(lambda: iter([_samples(4)]), num_passes=0)
    np.testing.assert_array_equal(params.get("___fc_layer_0__.w0"), before)


# ---- paddle.init ----

@pytest.mark.parametrize("options,message", [
    ({"trainer_count": 0}, r"trainer_count=0 is not allowed; trainer_count.*integer >= 1"),
    ({"trainer_count": -2}, r"trainer_count=-2 is not allowed"),
    ({"trainer_count": "abc"}, r"trainer_count='abc' is not allowed"),
    ({"trainer_count": 2.5}, r"trainer_count=2.5 is not allowed"),
    ({"gpu_id": -1}, r"gpu_id=-1 is not allowed; gpu_id.*integer >= 0"),
    ({"seed": "x"}, r"seed='x' is not allowed; seed is an integer >= 0"),
    ({"seed": -5}, r"seed=-5 is not allowed"),
    ({"mpi_timeout": 0}, r"mpi_timeout=0 is not allowed; mpi_timeout is a number of seconds > 0"),
    ({"use_gpu": "maybe"}, r"use_gpu='maybe' must be True or False"),
    ({"check_nan_inf": 2}, r"check_nan_inf=2 must be True or False"),
])
def test_init_rejects_bad_values(options, message):
    with pytest.raises(ValueError, match=message):
        paddle.init(**options)


@pytest.mark.parametrize("variable,value,message", [
    ("PADDLE_INIT_TRAINER_COUNT", "abc", "environment variable PADDLE_INIT_TRAINER_COUNT='abc' "
                                         "is not allowed; trainer_count"),
    ("PADDLE_INIT_TRAINER_COUNT", "0", "PADDLE_INIT_TRAINER_COUNT='0' is not allowed"),
    ("PADDLE_INIT_GPU_ID", "one", "PADDLE_INIT_GPU_ID='one' is not allowed"),
    ("PADDLE_INIT_SEED", "1.5", "PADDLE_INIT_SEED='1.5' is not allowed"),
    ("PADDLE_INIT_USE_GPU", "yes please", "PADDLE_INIT_USE_GPU='yes please' must be True or "
                                          "False"),
    ("PADDLE_INIT_MPI_TIMEOUT", "soon", "PADDLE_INIT_MPI_TIMEOUT='soon' is not allowed"),
])
def test_init_names_the_bad_environment_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=message):
        paddle.init()


def test_init_reads_good_environment_values(monkeypatch):
    monkeypatch.setenv("PADDLE_INIT_TRAINER_COUNT", " 1 ")
    monkeypatch.setenv("PADDLE_INIT_SEED", "7")
    monkeypatch.setenv("PADDLE_INIT_USE_GPU", "false")
    paddle.init()
    assert settings.get("trainer_count") == 1 and settings.get("seed") == 7
    assert settings.get("use_gpu") is False


# ---- hooks ----

@pytest.mark.parametrize("arguments,message", [
    ({"inter_pass": 2}, r"Hook\('pruning'\) does not take inter_pass \(only "
                        r"Hook\('dynamic_pruning'\) does\); Hook\('pruning'\) takes "
                        r"sparsity_ratio"),
    ({"end_pass": 10, "curve": "log"}, r"does not take end_pass, curve"),
    ({"upper_bound": 0.5}, r"does not take upper_bound"),
    ({"interval_pass": 2}, r"does not take interval_pass"),
])
def test_static_hook_rejects_dynamic_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        Hook("pruning", sparsity_ratio=0.5, **arguments)


def test_dynamic_hook_rejects_sparsity_ratio_and_double_spellings():
    with pytest.raises(ValueError, match=r"Hook\('dynamic_pruning'\) does not take "
                                         r"sparsity_ratio"):
        Hook("dynamic_pruning", upper_bound=0.5, sparsity_ratio=0.5)
    with pytest.raises(ValueError, match="give inter_pass or interval_pass, not both"):
        Hook("dynamic_pruning", upper_bound=0.5, inter_pass=2, interval_pass=2)


def test_hook_defaults_are_unchanged():
    hook = Hook("dynamic_pruning", upper_bound=0.5)
    assert (hook.inter_pass, hook.end_pass, hook.curve) == (3, 60, "log")
    assert Hook("dynamic_pruning", sparsity_upper_bound=0.5, interval_pass=3) == hook
    assert vars(Hook("pruning", sparsity_ratio=0.5)) == {"type": "pruning",
                                                         "sparsity_ratio": 0.5}


# ---- datasets ----

def _cifar_archive(home, monkeypatch, labels, label_key="labels", name=None, md5_name=None):
    name = name or cifar.CIFAR10_FILE
    batch = {"data": np.zeros((len(labels), 3072), np.uint8), label_key: labels}
    member = "cifar/data_batch_1" if label_key == "labels" else "cifar/train"
    data = pickle.dumps(batch, protocol=4)
    path = home / "cifar" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    from minidl.dataset.common import md5file
    monkeypatch.setattr(cifar, md5_name or "CIFAR10_MD5", md5file(str(path)))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("MINIDL_OFFLINE", "1")
    return tmp_path / "data"


@pytest.mark.parametrize("labels,message", [
    ([0, 9, 10], r"data_batch_1: label 10 of image 2 is outside 0..9 \('labels' has 10 "
                 r"classes\)"),
    ([-1, 3], r"label -1 of image 0 is outside 0..9"),
    ([0.5, 1.0], r"labels must be integers, got float64"),
])
def test_cifar10_labels_are_range_checked(home, monkeypatch, labels, message):
    _cifar_archive(home, monkeypatch, labels)
    with pytest.raises(DatasetFormatError, match=message):
        list(cifar.train10()())


def test_cifar100_fine_labels_are_range_checked(home, monkeypatch):
    _cifar_archive(home, monkeypatch, [99, 100], "fine_labels", cifar.CIFAR100_FILE,
                   "CIFAR100_MD5")
    with pytest.raises(DatasetFormatError, match=r"label 100 of image 1 is outside 0..99"):
        list(cifar.train100()())


def test_cifar10_good_labels_still_load(home, monkeypatch):
    _cifar_archive(home, monkeypatch, [0, 9, 3])
    assert [label for _, label in cifar.train10()()] == [0, 9, 3]


def test_uci_housing_model_is_v2s_pretrained_fit_a_line(home):
    """v2's ``uci_housing.model()``: the book's tarball, md5 52fc3da8..., as Parameters."""
    with pytest.raises(DatasetNotFound, match=r"fit_a_line.tar  md5 "
                                              r"52fc3da8ef3937822fcdd87ee05c0c9b"):
        uci_housing.model()
    (home / "uci_housing").mkdir(parents=True)
    shutil.copy(FIXTURES / "fit_a_line.tar", home / "uci_housing" / "fit_a_line.tar")
    parameters = uci_housing.model()
    assert sorted(parameters.names()) == ["___fc_layer_0__.w0", "___fc_layer_0__.wbias"]
    np.testing.assert_allclose(parameters.get("___fc_layer_0__.wbias"), [[22.632673]])
    # the book's inference: fc(13 -> 1, Linear) with these parameters predicts x . w0 + b
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(13))
    y_predict = paddle.layer.fc(input=x, size=1, act=paddle.activation.Linear())
    features = np.linspace(-0.5, 0.5, 13).astype(np.float32)
    probs = paddle.infer(output_layer=y_predict, parameters=parameters, input=[(features,)])
    w = parameters.get("___fc_layer_0__.w0")[:, 0]
    np.testing.assert_allclose(probs[0, 0], features @ w + 22.632673, rtol=1e-5)


def test_uci_housing_model_rejects_a_damaged_tarball(home):
    (home / "uci_housing").mkdir(parents=True)
    (home / "uci_housing" / "fit_a_line.tar").write_bytes(b"not a tarball")
    with pytest.raises(DatasetNotFound, match=r"fit_a_line.tar  md5 52fc3da8.*present but its "
                                              r"md5 is"):
        uci_housing.model()
