"""Both runtimes run the same models and write bit-identical telemetry."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from conftest import small_scenario
from twin.run import make_runtime, run
from twin.telemetry import parts

SUBSYSTEMS = ("energy", "communications", "research", "isru", "general", "astronomy")


def test_ray_and_local_telemetry_are_bit_identical(tmp_path, small, ray_cluster):
    local = run(small, runtime="local", out=tmp_path / "local")
    published: list[list[dict]] = []
    remote = run(small, runtime="ray", out=tmp_path / "ray", on_ready=published.append)
    assert len(published) == 1  # once every instance serves (again only after an actor restart)
    endpoints = published[0]
    assert [e["id"] for e in endpoints] == list(SUBSYSTEMS)
    assert all(set(e) == {"id", "kind", "address", "pid", "node_id"} and e["kind"] == e["id"] for e in endpoints)
    assert remote["endpoints"] == endpoints
    assert json.loads((tmp_path / "ray" / "endpoints.json").read_text()) == endpoints
    assert "endpoints" not in local
    assert local["kinds"] == remote["kinds"] == {name: name for name in SUBSYSTEMS}
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
    assert files == sorted(f"{name}.parquet" for name in SUBSYSTEMS)
    for name in SUBSYSTEMS:  # each a dataset folder of published parts, no partial files left
        folder = tmp_path / "telemetry" / f"{name}.parquet"
        published = [path for _, _, path in parts(folder)]
        assert published and sorted(folder.iterdir()) == sorted(published), name
        assert parts(folder)[0][0] == 0 and parts(folder)[-1][1] == small.clock.n_steps
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


class Boom(Exception):
    pass


def explode_after(limit: int):
    def explode(step):
        if step > limit:
            raise Boom

    return explode


def partial_files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*.partial"))


def test_a_failed_run_before_any_published_part_leaves_nothing(tmp_path, small):
    # Checkpoints every 30 days: within the 21-day run only the one at the start, so no telemetry
    # part is published before the failure and the run removes what it created.
    with pytest.raises(Boom):
        run(small, runtime="local", out=tmp_path, on_progress=explode_after(500))
    assert partial_files(tmp_path) == []
    assert not (tmp_path / "summary.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_run_keeps_its_published_parts_for_resume(tmp_path):
    # A checkpoint every day: the parts up to the last one are published when the run fails
    # after step 1000 (about a week); they stay, with the scenario, for --resume. Nothing partial does.
    scenario = small_scenario(checkpoint="1d")
    with pytest.raises(Boom):
        run(scenario, runtime="local", out=tmp_path, on_progress=explode_after(1000))
    assert partial_files(tmp_path) == []
    assert not (tmp_path / "summary.json").exists()
    assert (tmp_path / "scenario.toml").read_text() == scenario.to_toml()
    for name in SUBSYSTEMS:
        published = parts(tmp_path / "telemetry" / f"{name}.parquet")
        assert published and published[0][0] == 0, name
        assert all(a[1] == b[0] for a, b in zip(published, published[1:])), name  # contiguous
        assert 144 <= published[-1][1] <= 1000 + scenario.window_steps, name
        table = pq.read_table(tmp_path / "telemetry" / f"{name}.parquet")
        assert table.num_rows == published[-1][1], name


def test_ray_actors_publish_their_own_endpoints(small, ray_cluster):
    with make_runtime(small, "ray") as rt:
        names = list(rt.handles)
        assert all(rt.handles[id].name == id for id in names)
        assert all(rt.handles[id].endpoint == rt.endpoints[id]["address"] for id in names)
        endpoints = [rt.endpoints[id]["address"] for id in names]
    assert names == list(SUBSYSTEMS)
    hosts = {e.rsplit(":", 1)[0] for e in endpoints}
    ports = {int(e.rsplit(":", 1)[1]) for e in endpoints}
    assert hosts == {"127.0.0.1"}  # a local cluster binds loopback only
    assert len(ports) == len(SUBSYSTEMS) and all(p > 0 for p in ports)


def test_asking_for_more_cpus_than_the_cluster_has_fails_fast(small, ray_cluster):
    with pytest.raises(RuntimeError, match="--actor-cpus"):
        with make_runtime(small, "ray", actor_cpus=1.0):
            pass


def test_a_failed_ray_run_leaves_no_telemetry(tmp_path, small, ray_cluster):
    # The same failure as the local case above, with every instance a Ray actor writing its own
    # telemetry: the actors drop their partial parts, and nothing was published, so nothing stays.
    with pytest.raises(Boom):
        run(small, runtime="ray", out=tmp_path, on_progress=explode_after(500))
    assert partial_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_failed_ray_run_keeps_only_published_parts(tmp_path, ray_cluster):
    scenario = small_scenario(checkpoint="1d")
    with pytest.raises(Boom):
        run(scenario, runtime="ray", out=tmp_path, on_progress=explode_after(1000))
    assert partial_files(tmp_path) == []
    assert not (tmp_path / "summary.json").exists()
    ends = set()
    for name in SUBSYSTEMS:
        folder = tmp_path / "telemetry" / f"{name}.parquet"
        published = parts(folder)
        assert published and published[0][0] == 0, name
        assert all(a[1] == b[0] for a, b in zip(published, published[1:])), name
        assert sorted(folder.iterdir()) == sorted(path for _, _, path in published), name  # nothing else in the folder
        assert pq.read_table(folder).num_rows == published[-1][1], name
        ends.add(published[-1][1])
    assert len(ends) == 1 and ends.pop() % 144 == 0  # every instance up to the same daily checkpoint
