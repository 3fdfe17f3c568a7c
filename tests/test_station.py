"""The coupled station: conservation of energy, data and mass over whole runs; deployment; what
the choice of site means on the built-in roadmap scenarios."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.clock import parse_utc
from twin.conductor import Conductor
from twin.run import make_runtime, run
from twin.scenario import from_data, load

PRODUCERS = ("research", "general", "astronomy")


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, small):
    out = tmp_path_factory.mktemp("station")
    with make_runtime(small, "local", telemetry_dir=out / "telemetry") as rt:
        conductor = Conductor(small.clock, rt.station, rt.handles, small.window_steps)
        conductor.advance(small.clock.n_steps)
        states = {id: h.host.state for id, h in rt.handles.items()}
        models = {id: h.host.model for id, h in rt.handles.items()}
        for h in rt.handles.values():
            h.finish()
    return out, states, models


def test_data_is_conserved_across_the_station(small_run):
    out, states, _ = small_run
    produced = {name: int(pq.read_table(out / "telemetry" / f"{name}.parquet").column("data_produced_bytes").to_numpy().sum()) for name in PRODUCERS}
    comms = states["communications"]
    assert comms.received_bytes == sum(produced.values()) > 0
    assert comms.received_bytes == comms.downlinked_bytes + comms.lost_bytes + comms.stored_bytes
    telemetry = pq.read_table(out / "telemetry" / "communications.parquet")
    assert int(telemetry.column("downlinked_bytes").to_numpy().sum()) == comms.downlinked_bytes
    assert int(telemetry.column("stored_bytes").to_numpy()[-1]) == comms.stored_bytes


def test_mass_is_conserved_in_the_oxygen_plant(small_run):
    _, states, models = small_run
    v = models["isru"].variables(states["isru"])
    assert v["o2_produced_kg"] > 0
    accepted = v["regolith_initial_kg"] + v["regolith_delivered_kg"] - v["regolith_refused_kg"]
    assert accepted == pytest.approx(v["regolith_stock_kg"] + v["regolith_processed_kg"], abs=1e-9)
    assert v["regolith_processed_kg"] == pytest.approx(v["o2_produced_kg"] + v["tailings_kg"], abs=1e-9)
    assert v["o2_produced_kg"] == pytest.approx(v["o2_tank_kg"] + v["o2_offtaken_kg"], abs=1e-9)


def test_energy_is_conserved_across_the_station(small_run):
    _, states, _ = small_run
    t = dict(states["energy"].totals_mj)
    assert t["generated"] == t["delivered"] + t["stored"] - t["drawn"] + t["losses"] + t["curtailed"]
    assert t["demand"] == t["delivered"] + t["unserved"]


def test_modules_do_nothing_before_landing(small_run, small):
    out, _, _ = small_run
    for name in ("research", "isru", "general", "astronomy"):
        table = pq.read_table(out / "telemetry" / f"{name}.parquet")
        landing = small.modules[name].params.deployed
        times = table.column("time").to_numpy()
        mask = times < np.datetime64(landing.replace(tzinfo=None), "ns")
        assert mask.any() and not mask.all()
        assert np.all(table.column("requested_w").to_numpy()[mask] == 0), name
        assert np.all(table.column("power_w").to_numpy()[mask] == 0), name
        if "data_produced_bytes" in table.column_names:
            assert np.all(table.column("data_produced_bytes").to_numpy()[mask] == 0), name


def test_roadmap_scenarios_follow_the_roadmap():
    for site in ("amundsen", "aristarchus", "marius-hills"):
        s = load(f"roadmap-{site}")
        m = {id: instance.params for id, instance in s.modules.items()}
        assert s.site.name == site
        assert s.time.start == parse_utc("2026-01-01T00:00:00Z") and s.time.end == parse_utc("2041-01-01T00:00:00Z")
        assert {id: instance.kind for id, instance in s.modules.items()} == {
            **{k: k for k in ("energy", "thermal", "communications", "research", "isru", "general", "astronomy", "dock")},
            "rover-1": "rover", "rover-2": "rover", "hopper-1": "hopper"}
        # The surface robots land with ILRS-3 and take over its regolith half a year later.
        assert all(m[k].deployed == m["isru"].deployed for k in ("dock", "rover-1", "rover-2", "hopper-1"))
        assert m["isru"].regolith_delivery_until == parse_utc("2034-01-01T00:00:00Z")
        landings = [m[k].deployed for k in ("energy", "thermal", "communications", "research", "isru", "general", "astronomy")]
        assert m["thermal"].deployed == m["energy"].deployed  # thermal control lands with ILRS-1
        assert all(parse_utc("2031-01-01T00:00:00Z") <= d < parse_utc("2036-01-01T00:00:00Z") for d in landings)  # ILRS-1..5, 2031-35
        assert m["research"].crew_from == parse_utc("2036-01-01T00:00:00Z")


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest stretch of True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """Two months of each roadmap station once every module has landed (10-minute steps)."""
    out = {}
    for site in ("amundsen", "aristarchus"):
        s = load(f"roadmap-{site}").with_span(parse_utc("2035-07-01T00:00:00Z"), parse_utc("2035-09-01T00:00:00Z"))
        data = s.to_data()
        data["time"]["step"] = "600s"
        s = from_data(data, f"roadmap-{site} at 600 s")
        folder = tmp_path_factory.mktemp(site)
        run(s, runtime="local", out=folder)
        out[site] = {name: pq.read_table(folder / "telemetry" / f"{name}.parquet") for name in ("energy", "communications")}
    return out


def test_at_the_pole_the_earth_sets_for_days_and_the_relay_carries_the_data(sites):
    comms = sites["amundsen"]["communications"]
    dte = comms.column("dte_visible_frac").to_numpy() > 0
    relay = comms.column("relay_visible_frac").to_numpy() > 0
    assert longest_run(~dte) * 600 > 5 * 86400  # the Earth below the horizon for days (docs/references.md, Geometry: up to ~15 d)
    only_relay = relay & ~dte
    assert only_relay.mean() > 0.2
    down = comms.column("downlinked_bytes").to_numpy()
    assert down[only_relay].sum() > 0.2 * down.sum()


def test_near_side_earth_never_sets_and_the_crater_lengthens_its_354_hour_nights(sites):
    comms = sites["aristarchus"]["communications"]
    dte = comms.column("dte_visible_frac").to_numpy() > 0
    assert longest_run(~dte) * 600 < 86400  # only gaps of the ground-station network
    energy = sites["aristarchus"]["energy"]
    dark = energy.column("sun_visible_frac").to_numpy() == 0
    night_h = longest_run(dark) * 600 / 3600
    # docs/references.md, Geometry: the night lasts about 354 h over a flat horizon; the crater's
    # rim (about 6.3 deg above the central peak, the Sun near the horizon climbing about 0.45 deg/h)
    # adds some 14 h at each end.
    assert 354 + 20 < night_h < 354 + 36


def test_the_power_the_modules_draw_is_what_energy_delivers(small_run):
    out, _, _ = small_run
    energy = pq.read_table(out / "telemetry" / "energy.parquet")
    drawn = sum(pq.read_table(out / "telemetry" / f"{m}.parquet").column("power_w").to_numpy()
                for m in ("communications", "research", "isru", "general", "astronomy"))
    requested = sum(pq.read_table(out / "telemetry" / f"{m}.parquet").column("requested_w").to_numpy()
                    for m in ("communications", "research", "isru", "general", "astronomy"))
    survival_served = energy.column("survival_demand_w").to_numpy() - energy.column("survival_unserved_w").to_numpy()
    # Both sides are rounded to whole millijoules per step in the energy ledger: 1e-3 J / 600 s per module.
    assert np.allclose(drawn + survival_served, energy.column("delivered_w").to_numpy(), rtol=0, atol=1e-4)
    assert np.allclose(requested + energy.column("survival_demand_w").to_numpy(), energy.column("demand_w").to_numpy(), rtol=0, atol=1e-4)
