"""A kind defined outside the package (tests/plugins/hauler), registered by its entry point only:
it runs in both runtimes with no runtime code touched, and its regolith feedback (a full hopper
refusing deliveries) keeps the lockstep equality and the mass ledger exact."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest


def _install() -> None:
    """Install the outside kind the way pip would: a distribution with an entry point in
    ``ilrs_twin.kinds`` on the path of this process and of the Ray workers (which the session
    cluster starts after collection, inheriting PYTHONPATH)."""
    here = str(Path(__file__).parent / "hauler")
    if here not in sys.path:
        sys.path.insert(0, here)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    from twin.registry import kinds

    kinds.cache_clear()


_install()

from twin.registry import kinds, origin  # noqa: E402
from twin.run import make_runtime, run  # noqa: E402
from twin.scenario import ScenarioError, parse  # noqa: E402
from twin.conductor import Conductor  # noqa: E402

HAULING = """
[scenario]
name = "hauling"
seed = 3

[site]
name = "amundsen"

[time]
start = "2030-01-01T00:00:00Z"
end = "2030-01-15T00:00:00Z"
step = "600s"

[exchange]
max_window = "{window}"

[modules.energy]
deployed = "2030-01-01T00:00:00Z"
[modules.energy.solar]
area_m2 = 60.0
[modules.energy.storage]
capacity_kwh = 200.0

[modules.isru]
deployed = "2030-01-01T00:00:00Z"
regolith_delivery_kg_per_day = 0.0
regolith_capacity_kg = 40.0
operating_power_w = 1500.0

[modules.hauler-1]
kind = "hauler"
deployed = "2030-01-01T00:00:00Z"
dig_kg_per_h = 4.0
trip_h = 5.0

[modules.hauler-2]
kind = "hauler"
deployed = "2030-01-02T00:00:00Z"
dig_kg_per_h = 3.0
trip_h = 7.0
"""


def conduct_scenario(scenario, folder: Path) -> Conductor:
    with make_runtime(scenario, "local", telemetry_dir=folder) as rt:
        conductor = Conductor(scenario.clock, rt.station, rt.handles, scenario.window_steps)
        conductor.advance(scenario.clock.n_steps)
        for handle in rt.handles.values():
            handle.finish()
    return conductor


def hauling(window: str = "3d"):
    return parse(HAULING.format(window=window), "hauling.toml")


def test_the_outside_kind_is_registered_by_its_entry_point():
    assert "hauler" in kinds()
    assert "ilrs-twin-hauler" in origin("hauler")


def test_a_full_hopper_refusing_deliveries_still_equals_lockstep(tmp_path):
    lockstep = conduct_scenario(hauling(window="600s"), tmp_path / "lockstep")
    windows = conduct_scenario(hauling(window="3d"), tmp_path / "windows")
    for id in ("energy", "isru", "hauler-1", "hauler-2"):
        a = pq.read_table(tmp_path / "lockstep" / f"{id}.parquet")
        b = pq.read_table(tmp_path / "windows" / f"{id}.parquet")
        assert a.equals(b), id
    assert windows.stats.cut > 0 and windows.stats.proposals < lockstep.stats.proposals / 10
    isru = pq.read_table(tmp_path / "windows" / "isru.parquet").to_pydict()
    assert max(isru["regolith_refused_kg"]) > 0, "the hopper must fill and refuse"
    # Nothing is lost: each hauler's dug regolith is delivered or still in its bin, and what ISRU
    # accepted is exactly what the haulers delivered.
    delivered = 0.0
    for id in ("hauler-1", "hauler-2"):
        v = windows.handles[id].variables()
        assert v["dug_kg"] == pytest.approx(v["delivered_kg"] + v["bin_kg"], abs=1e-9)
        assert v["refused_kg"] > 0 or id == "hauler-2"
        delivered += v["delivered_kg"]
    assert windows.handles["isru"].variables()["regolith_delivered_kg"] == pytest.approx(delivered, abs=1e-9)


def test_the_outside_kind_runs_identically_in_both_runtimes(tmp_path, ray_cluster):
    local = run(hauling(), runtime="local", out=tmp_path / "local")
    remote = run(hauling(), runtime="ray", out=tmp_path / "ray")
    assert local["kinds"]["hauler-1"] == "hauler"
    for id in local["kinds"]:
        a = pq.read_table(tmp_path / "local" / "telemetry" / f"{id}.parquet")
        b = pq.read_table(tmp_path / "ray" / "telemetry" / f"{id}.parquet")
        assert a.equals(b), id
    assert local["modules"] == remote["modules"]


def test_a_hauler_without_a_hopper_is_refused_with_the_reason():
    text = HAULING.format(window="1d")
    text = text[:text.index("[modules.isru]")] + text[text.index("[modules.hauler-1]"):]
    with pytest.raises(ScenarioError, match="hauler-1"):
        parse(text, "no-isru.toml")
