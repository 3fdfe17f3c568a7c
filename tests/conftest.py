"""Shared fixtures: one Ray cluster for the whole session, and small scenarios that switch loads."""
from __future__ import annotations

import os
import tempfile

import pytest

# The suite builds its ephemeris tables into a cache of its own: it exercises both the build and
# the cached path, and never reads (or fills) the user's cache.
os.environ["ILRS_TWIN_CACHE"] = tempfile.mkdtemp(prefix="ilrs-twin-test-cache-")

from twin.scenario import Scenario, parse

# A station at Amundsen sized so that within three weeks of January 2030 storage runs down,
# classes are shed lowest first and restored again (hand-checked in test_energy.py).
SMALL = """
[scenario]
name = "small"
seed = 7

[site]
name = "amundsen"

[time]
start = "2030-01-01T00:00:00Z"
end = "2030-01-22T00:00:00Z"
step = "{step}"

[exchange]
max_window = "{window}"

[modules.energy]
deployed = "2030-01-01T00:00:00Z"

[modules.energy.solar]
area_m2 = 20.0
efficiency = 0.21

[modules.energy.storage]
capacity_kwh = 40.0
min_soc_frac = 0.2
restore_soc_frac = 0.5
initial_soc_frac = 0.6

[modules.communications]
deployed = "2030-01-01T00:00:00Z"
store_capacity_bytes = 500_000_000_000

[modules.research]
deployed = "2030-01-03T00:00:00Z"

[modules.isru]
deployed = "2030-01-05T00:00:00Z"

[modules.general]
deployed = "2030-01-02T00:00:00Z"
power_w = 300.0
night_power_w = 100.0
data_rate_bps = 20000.0

[modules.astronomy]
deployed = "2030-01-02T00:00:00Z"
"""


def small_scenario(step: str = "600s", window: str = "2d", checkpoint: str | None = None) -> Scenario:
    text = SMALL.format(step=step, window=window)
    if checkpoint is not None:
        text += f'\n[checkpoint]\nevery = "{checkpoint}"\n'
    return parse(text, "small.toml")


@pytest.fixture(scope="session")
def small() -> Scenario:
    return small_scenario()


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster for the session (runtimes reuse it instead of starting their own)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


# -- hand-wired models ---------------------------------------------------------------------------
# Unit tests drive one model without a scenario; a model only knows its inputs once connected, so
# these build the routes a station graph would give it (twin.station.Station).


def _attributes(**items: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(items.items()))


def wire(model, powered_by: str | None = "energy", **sources):
    """Connect ``model`` as a station would: its power request goes to the energy instance
    ``powered_by``, whose switch comes back as the feedback input ``powered/<powered_by>``.
    ``sources``: input port -> the instances feeding it, as ids (kind = id) or {id: kind}; an input
    that answers (ISRU's regolith) gets its reply route to each source. Returns the model."""
    from twin.ports import Route

    routes_in, routes_out = [], []
    names = {p.name for p in model.ports}
    if powered_by is not None and "power" in names:
        attrs = _attributes(kind=model.kind, **model.port_attributes("power"))
        routes_out.append(Route(model.id, "power", powered_by, "power", "power", attributes=attrs))
        powered = model.port("powered")
        routes_in.append(Route(powered_by, "powered", model.id, "powered", f"powered/{model.id}", feedback=True, assume=powered.assume))
    for port_name, given in sources.items():
        port = model.port(port_name)
        kinds = dict(given) if isinstance(given, dict) else {id: id for id in given}
        for source, kind in kinds.items():
            routes_in.append(Route(source, port_name, model.id, port_name, port_name, attributes=_attributes(kind=kind)))
            if port.reply:
                routes_out.append(Route(model.id, port.reply, source, port.reply, f"{port.reply}/{source}", feedback=True))
    model.connect(tuple(routes_in), tuple(routes_out))
    return model


def energy_with(model, requesters: dict[str, str]):
    """Connect an energy model to power requesters: id -> the load class key its request is
    switched in (its kind is the id); inputs ``power/<id>``, outputs ``powered/<id>``."""
    from twin.ports import Route

    routes_in = tuple(Route(id, "power", model.id, "power", "power", attributes=_attributes(kind=id, load_class=cls))
                      for id, cls in requesters.items())
    routes_out = tuple(Route(model.id, "powered", id, "powered", f"powered/{id}", feedback=True, assume=1.0) for id in requesters)
    model.connect(routes_in, routes_out)
    return model


def switched(on, energy: str = "energy") -> dict:
    """The feedback input of a consumer: its load class switched on (1.0) or shed (0.0) per step."""
    import numpy as np

    return {f"powered/{energy}": np.asarray(on, dtype=bool).astype(np.float64)}


class ColumnsEnvironment:
    """An environment of given columns over the whole run, indexed by step (what ModelHost samples)."""

    def __init__(self, columns: dict):
        self.columns = columns

    def sample(self, start_step: int, times, keys) -> dict:
        return {key: self.columns[key][start_step:start_step + len(times)] for key in keys}


def host_through(model, env: dict, on, plan):
    """Drive ``model`` in a ModelHost through ``plan``, (proposed length, steps committed) pairs,
    as the conductor does after cuts; returns the host (its state is what the commits left)."""
    from twin.model import ModelHost, Window

    host = ModelHost(model, None, ColumnsEnvironment(env))  # the host samples the environment itself
    step = 0
    for length, commit in plan:
        host.propose(Window(step, length, model.clock), switched(on[step:step + length]))
        host.commit(commit)
        step += commit
    assert host.step == step
    return host


class SkyEnvironment:
    """A sky grid (``sample(times)``) as one instance's environment."""

    def __init__(self, sky):
        self.sky = sky

    def sample(self, start_step: int, times, keys) -> dict:
        sample = self.sky.sample(times)
        return {key: sample[key] for key in keys}


def station_of(models):
    """The station graph of hand-built models (no scenario), by the rules of twin.station.Station."""
    from twin.station import Station

    return Station.of(models)


def conduct(models, clock, sky, window_steps: int, folder):
    """Run hand-picked models through the conductor, each writing its telemetry to
    ``folder/<id>.parquet``. ``sky``: a StationEnvironment, or a sky grid every model samples."""
    from twin.conductor import Conductor
    from twin.model import ModelHost
    from twin.runtime.local import LocalHandle
    from twin.telemetry import TelemetrySink

    station = station_of(models)

    def environment(id):
        return sky.for_instance(id) if hasattr(sky, "for_instance") else SkyEnvironment(sky)

    hosts = {id: ModelHost(model, TelemetrySink(folder / f"{id}.parquet", clock), environment(id)) for id, model in station.models.items()}
    conductor = Conductor(clock, station, {id: LocalHandle(host) for id, host in hosts.items()}, window_steps)
    conductor.advance(clock.n_steps)
    for host in hosts.values():
        host.finish()
    return conductor
