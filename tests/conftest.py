"""Shared fixtures: one Ray cluster for the whole session, and small scenarios that switch loads."""
from __future__ import annotations


import pytest

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


def small_scenario(step: str = "600s", window: str = "2d") -> Scenario:
    return parse(SMALL.format(step=step, window=window), "small.toml")


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


def conduct(models, clock, sky, window_steps: int, folder):
    """Run hand-picked models through the conductor, each writing its telemetry under ``folder``."""
    from twin.conductor import Conductor
    from twin.models.base import ModelHost
    from twin.runtime.local import LocalHandle
    from twin.telemetry import TelemetrySink

    hosts = [ModelHost(model, TelemetrySink(folder, clock)) for model in models]
    conductor = Conductor(clock, [LocalHandle(h) for h in hosts], sky, window_steps)
    conductor.advance(clock.n_steps)
    for host in hosts:
        host.finish()
    return conductor
