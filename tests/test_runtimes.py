"""Both runtimes run the same models and write bit-identical telemetry."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from twin.run import make_runtime, run
from twin.runtime.ray_runtime import RayRuntime

SUBSYSTEMS = ("energy", "communications", "research", "isru", "general", "astronomy")


def test_ray_and_local_telemetry_are_bit_identical(tmp_path, small, ray_cluster):
    local = run(small, runtime="local", out=tmp_path / "local")
    published = {}
    remote = run(small, runtime="ray", out=tmp_path / "ray", on_ready=published.update)
    assert set(published) == set(SUBSYSTEMS) and remote["endpoints"] == published
    assert "endpoints" not in local
    for name in SUBSYSTEMS:
        a = pq.read_table(tmp_path / "local" / "telemetry" / f"{name}.parquet")
        b = pq.read_table(tmp_path / "ray" / "telemetry" / f"{name}.parquet")
        assert a.num_rows == small.clock.n_steps
        assert a.equals(b), name
    assert local["energy"] == remote["energy"]
    assert local["modules"] == remote["modules"]
    assert local["exchange"] == remote["exchange"]


def test_outputs_are_complete(tmp_path, small):
    summary = run(small, runtime="local", out=tmp_path)
    files = sorted(p.name for p in (tmp_path / "telemetry").iterdir())
    assert files == sorted(f"{name}.parquet" for name in SUBSYSTEMS)  # no partial files left
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    for key in ("wall_s", "simulated_s", "speedup"):
        assert key in on_disk
    assert on_disk["simulated_s"] == 21 * 86400
    assert on_disk["speedup"] == pytest.approx(on_disk["simulated_s"] / on_disk["wall_s"])
    energy = pq.read_table(tmp_path / "telemetry" / "energy.parquet")
    for column in ("sun_elevation_deg", "solar_w", "fission_w", "demand_w", "delivered_w", "unserved_w", "storage_kwh", "storage_soc_frac"):
        assert column in energy.column_names
    time = energy.column("time")
    assert str(time.type) == "timestamp[ns, tz=UTC]"
    assert time[0].as_py().isoformat() == "2030-01-01T00:00:00+00:00"
    assert (time[1].as_py() - time[0].as_py()).total_seconds() == small.clock.step_s
    # The resolved scenario is a valid scenario equal to the one run.
    from twin.scenario import parse

    assert parse((tmp_path / "scenario.toml").read_text(), "scenario.toml") == small


def test_a_failed_run_leaves_no_telemetry(tmp_path, small):
    class Boom(Exception):
        pass

    def explode(step):
        if step > 500:
            raise Boom

    with pytest.raises(Boom):
        run(small, runtime="local", out=tmp_path, on_progress=explode)
    leftovers = [p.name for p in (tmp_path / "telemetry").iterdir()] if (tmp_path / "telemetry").exists() else []
    assert leftovers == []
    assert not (tmp_path / "summary.json").exists()


def test_ray_actors_publish_their_own_endpoints(small, ray_cluster):
    with make_runtime(small, "ray") as rt:
        endpoints = [h.endpoint for h in rt.handles]
        names = [h.name for h in rt.handles]
    assert names == list(SUBSYSTEMS)
    hosts = {e.rsplit(":", 1)[0] for e in endpoints}
    ports = {int(e.rsplit(":", 1)[1]) for e in endpoints}
    assert hosts == {"127.0.0.1"}  # a local cluster binds loopback only
    assert len(ports) == len(SUBSYSTEMS) and all(p > 0 for p in ports)


def test_asking_for_more_cpus_than_the_cluster_has_fails_fast(small, ray_cluster):
    with pytest.raises(RuntimeError, match="--actor-cpus"):
        with RayRuntime(small, actor_cpus=1.0):
            pass
