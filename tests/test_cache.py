"""The table cache: a hit returns the same bits without computing, anything else recomputes."""
from __future__ import annotations

import numpy as np
import pytest

from twin import cache
from twin.environment.sky import SkyGrid

CODE = ("twin.cache",)


@pytest.fixture()
def where(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    return tmp_path


def counted(value):
    calls = []

    def compute():
        calls.append(1)
        return {"a": value}

    return compute, calls


def test_a_hit_returns_the_stored_bits_without_computing(where):
    value = np.array([0.1, np.pi, -0.0, 1e-300])
    compute, calls = counted(value)
    first = cache.arrays("t", {"x": 0.1}, CODE, compute)["a"]
    second = cache.arrays("t", {"x": 0.1}, CODE, compute)["a"]
    assert len(calls) == 1
    assert first.tobytes() == second.tobytes() == value.tobytes()
    assert len(list(where.glob("t-*.npz"))) == 1
    assert not list(where.glob(".*partial"))


def test_any_change_of_an_input_misses(where):
    compute, calls = counted(np.zeros(2))
    for inputs in ({"x": 0.1}, {"x": float(np.nextafter(0.1, 1.0))}, {"x": 0.1, "y": 1}, {"x": [0.1]}):
        cache.arrays("t", inputs, CODE, compute)
    assert len(calls) == 4


def test_an_unreadable_entry_is_rebuilt(where):
    compute, calls = counted(np.arange(3.0))
    cache.arrays("t", {}, CODE, compute)
    (entry,) = where.glob("t-*.npz")
    entry.write_bytes(b"not a zip file")
    again = cache.arrays("t", {}, CODE, compute)["a"]
    assert len(calls) == 2 and again.tolist() == [0.0, 1.0, 2.0]
    assert np.load(entry)["a"].tolist() == [0.0, 1.0, 2.0]


def test_off_computes_every_time_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, "off")
    compute, calls = counted(np.zeros(1))
    cache.arrays("t", {}, CODE, compute)
    cache.arrays("t", {}, CODE, compute)
    assert len(calls) == 2 and cache.folder() is None


def test_a_cached_sky_grid_is_bit_identical_to_a_built_one(where, monkeypatch):
    span = (1893456000.0, 1893456000.0 + 5 * 86400.0)  # 2030-01-01 + 5 days
    built = SkyGrid(-84.5, 82.0, *span)  # fills the cache
    cached = SkyGrid(-84.5, 82.0, *span)
    monkeypatch.setenv(cache.ENV, "off")
    direct = SkyGrid(-84.5, 82.0, *span)
    assert built._table.tobytes() == cached._table.tobytes() == direct._table.tobytes()
    times = np.linspace(span[0], span[1], 1001)
    for key, column in cached.sample(times).items():
        assert column.tobytes() == direct.sample(times)[key].tobytes(), key


def test_a_key_follows_only_the_packages_it_names(monkeypatch):
    # Another numpy release misses the numerical tables' cache, but not a key that names only
    # the physics engine (the shipped robot tables keep their names wherever they are installed).
    real = cache.importlib.metadata.version

    def keys():
        cache._fingerprint.cache_clear()
        return cache.key_of("t", {"x": 1}, CODE), cache.key_of("t", {"x": 1}, CODE, packages=("pybullet",))

    try:
        before = keys()
        monkeypatch.setattr(cache.importlib.metadata, "version", lambda name: "0.0.0-other" if name == "numpy" else real(name))
        after = keys()
    finally:
        monkeypatch.undo()
        cache._fingerprint.cache_clear()
    assert before[0] != after[0] and before[1] == after[1]
    assert before[1] != before[0]
