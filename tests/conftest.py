"""Shared fixtures: every kernel test body runs once per backend present on this machine."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from minidl.backends import available_backends, current_backend, set_backend
from minidl.layers.base import reset_names

settings.register_profile("minidl", deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("minidl")

BACKENDS_PRESENT = available_backends()


@pytest.fixture(params=BACKENDS_PRESENT)
def backend(request):
    """Select each available backend in turn (numpy, cpu, and gpu where CUDA exists)."""
    previous = current_backend().name
    set_backend(request.param)
    yield request.param
    set_backend(previous)


@pytest.fixture
def xp(backend):
    """The array module of the backend under test."""
    return current_backend().xp


@pytest.fixture(autouse=True)
def fresh_names():
    """Each test builds its network with Paddle's first default names."""
    reset_names()
    yield


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """The tests' own cache directory: the sparse planner's cost model (calibrated once per
    test session) never lands in the user's ~/.cache."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


def to_numpy(array):
    from minidl.core import as_numpy
    return as_numpy(array)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# --- datasets: no network, a temporary cache -------------------------------------------

@pytest.fixture
def offline(monkeypatch):
    """Every download fails, as on a machine without network; records the URLs tried."""
    tried = []

    def refuse(url, timeout=None):
        tried.append(url)
        raise OSError("network disabled in tests")

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    monkeypatch.delenv("MINIDL_OFFLINE", raising=False)
    return tried


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty dataset cache directory (``MINIDL_DATA_HOME``)."""
    monkeypatch.setenv("MINIDL_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty dataset cache and no downloads: the examples must choose synthetic data."""
    monkeypatch.setenv("MINIDL_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("MINIDL_OFFLINE", "1")
    return tmp_path / "data"
