"""Scenario files: validated on load; bad input names the file, the field and the reason."""
from __future__ import annotations

import pytest

from conftest import SMALL
from twin.scenario import ScenarioError, builtin_names, load, parse

GOOD = SMALL.format(step="60s", window="7d")


def problem(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse(text, "station.toml")
    return str(info.value)


def test_builtin_scenarios_load_and_round_trip():
    assert "quickstart" in builtin_names()
    for name in builtin_names():
        scenario = load(name)
        assert parse(scenario.to_toml(), "again.toml") == scenario


def test_quickstart_is_a_year_at_amundsen():
    q = load("quickstart")
    assert q.site.location == (-84.5, 82.8)
    assert q.clock.n_steps == 525_600 and q.clock.step_s == 60


@pytest.mark.parametrize(
    "old, new, field, reason",
    [
        ("[scenario]", "[scenario]\nsed = 1", "scenario.sed", "unknown key"),
        ("capacity_kwh = 40.0", "capacity_kwh = 40.0\ncapacty_kwh = 3", "modules.energy.storage.capacty_kwh", "unknown key"),
        ("capacity_kwh = 40.0", "capacity_kwh = -1", "modules.energy.storage.capacity_kwh", "greater than or equal to 0.001 kWh (allowed: [0.001, 1000000] kWh; got -1)"),
        ('name = "amundsen"', 'name = "shackleton"', "site", "unknown site 'shackleton'"),
        ('step = "60s"', 'step = "1 fortnight"', "time.step", "not a duration"),
        ('end = "2030-01-22T00:00:00Z"', 'end = "2029-01-22T00:00:00Z"', "time", "end must be after start"),
        ("restore_soc_frac = 0.5", "restore_soc_frac = 0.1", "modules.energy.storage", "restore_soc_frac must be above min_soc_frac"),
        ('name = "amundsen"', 'name = "amundsen"\nhorizon_mask = [[400, 2]]', "site.horizon_mask", "outside [0, 360)"),
        ('power_w = 300.0', 'power_w = "lots"', "modules.general.power_w", "valid number"),
        # A module's kind defaults to its id: an id that is no kind names the registered ones.
        ("[modules.isru]", "[modules.robots]\ndeployed = 2030-01-01T00:00:00Z\n[modules.isru]", "modules.robots.kind", "unknown kind 'robots'; registered kinds: astronomy, communications"),
        ("store_capacity_bytes = 500_000_000_000", "store_capacity_bytes = 5\npriority = ['astronmy']", "modules.communications", "astronmy is not a data source"),
        ("restore_soc_frac = 0.5", "restore_soc_frac = 0.5\nisru_floor_soc_frac = 0.4", "modules.energy.storage", "floor_soc_frac = { isru = ... }"),
    ],
)
def test_bad_fields_are_named(old, new, field, reason):
    assert old in GOOD
    message = problem(GOOD.replace(old, new, 1))
    assert message.startswith("station.toml: ")
    assert f": {field}: " in message and reason in message, message


def test_missing_energy_module_is_named():
    start = GOOD.index("[modules.energy]")
    end = GOOD.index("[modules.communications]")
    message = problem(GOOD[:start] + GOOD[end:])
    # The first power consumer names what is missing: something that takes power, an energy system.
    assert "modules.communications: nothing takes its power" in message and "an energy system" in message, message


def test_syntax_errors_give_line_and_column():
    message = problem("[scenario]\nname = \"x\"\nseed = = 3\n")
    assert "station.toml" in message and "line 3" in message and "column" in message


def test_site_by_coordinates_with_horizon_mask():
    text = GOOD.replace('name = "amundsen"', "latitude_deg = -89.5\nlongitude_deg = -45.0\nhorizon_mask = [[0, 1.5], [180, 0.5]]")
    scenario = parse(text, "pole.toml")
    assert scenario.site.location == (-89.5, -45.0)
    assert scenario.site.label == "-89.500,-45.000"


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        load(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="no built-in scenario named 'nope'"):
        load("nope")


def test_the_readme_scenario_example_is_valid():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    scenario = parse(block, "README.md")
    assert scenario.modules["communications"].params.relays[0].inclination_deg == 62.4
    assert scenario.modules["energy"].params.storage.floor_soc_frac["isru"] == 0.5
