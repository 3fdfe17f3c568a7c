"""Where a run finds its robots' tables: given folders, then the cache, then the tables shipped
in physics/tables/ (which must be remade, `python -m physics.tables --write`, after any change of
the physics: the first test here fails until they are)."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from physics import tables
from physics.robots import HopperBody, RoverBody
from physics.surrogate import Calibration, HopperCalibration, HopperTable, RoverTable, read, table_name, write
from physics.tables import TableMissing, ensure, load
from twin.cli import app


def test_the_shipped_tables_are_named_by_the_current_key():
    for robot, body, calibration in (("rover", RoverBody(), Calibration()), ("hopper", HopperBody(), HopperCalibration())):
        current = table_name(body, calibration)
        assert (tables.SHIPPED / current).is_file(), f"{current} is not shipped: run `python -m physics.tables --write`"
    assert tables.stale() == [] and tables.main(["--check"]) == 0


def test_the_calibrate_command_makes_the_tables_a_run_looks_for():
    # Its default settings are the default calibrations: it finds the shipped tables made.
    for robot in ("rover", "hopper"):
        result = CliRunner().invoke(app, ["calibrate", "--robot", robot, "--out", str(tables.SHIPPED)])
        assert result.exit_code == 0 and f"already calibrated: {tables.SHIPPED / tables.name(robot)}" in result.output, robot


def test_a_given_folder_comes_before_the_cache_and_the_shipped_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("ILRS_TWIN_CACHE", str(tmp_path / "cache"))
    shipped = load("hopper")
    assert isinstance(shipped, HopperTable) and load("hopper", HopperBody()) is shipped  # read once per process
    longer = replace(shipped, range_m=shipped.range_m * 1.1)
    write(longer, tmp_path / "mine", HopperCalibration())
    assert np.array_equal(load("hopper", folders=[tmp_path / "mine"]).range_m, longer.range_m)
    # The cache's robot folder comes before the shipped tables.
    rover = read(tables.SHIPPED / tables.name("rover"))
    slower = replace(rover, speed_m_s=rover.speed_m_s * 0.5)
    write(slower, tmp_path / "cache" / "robots", Calibration())
    assert isinstance(load("rover"), RoverTable) and np.array_equal(load("rover").speed_m_s, slower.speed_m_s)
    monkeypatch.setenv("ILRS_TWIN_CACHE", "off")
    assert np.array_equal(load("rover").speed_m_s, rover.speed_m_s)


def test_a_missing_table_names_the_command_that_makes_it(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "SHIPPED", tmp_path / "nothing")
    monkeypatch.setenv("ILRS_TWIN_CACHE", str(tmp_path / "cache"))
    for robot in ("rover", "hopper"):
        with pytest.raises(TableMissing) as miss:
            load(robot)
        assert f"`ilrs-twin calibrate --robot {robot} --out {tmp_path / 'cache' / 'robots'}`" in str(miss.value)
        assert tables.name(robot) in str(miss.value) and isinstance(miss.value, ValueError)
    # A body of its own: no command line makes it; the run calibrates it first.
    with pytest.raises(TableMissing, match=r"\[robotics\] workers"):
        load("rover", RoverBody(mass_kg=40.0))
    with pytest.raises(ValueError, match="robot"):
        load("dock")
    with pytest.raises(TypeError, match="body"):
        load("rover", HopperBody())


def test_ensure_calibrates_a_missing_table_into_the_cache(ray_cluster, tmp_path, monkeypatch):
    small = HopperCalibration(energies_j=(60.0, 200.0), hops=2)
    monkeypatch.setattr(tables, "default_calibration", lambda robot: small)
    monkeypatch.setenv("ILRS_TWIN_CACHE", str(tmp_path))
    body = HopperBody(mass_kg=7.0)
    with pytest.raises(TableMissing):
        load("hopper", body)
    made = ensure("hopper", body, workers=2)
    assert (tmp_path / "robots" / table_name(body, small)).is_file()
    assert np.array_equal(load("hopper", body).range_m, made.range_m) and ensure("hopper", body).body == body
    # With caching off it is held in this process.
    monkeypatch.setenv("ILRS_TWIN_CACHE", "off")
    other = HopperBody(mass_kg=7.5)
    held = ensure("hopper", other, workers=2)
    assert load("hopper", other) is held and not list((tmp_path / "robots").glob(f"*{table_name(other, small)}"))


def test_the_shipped_rover_table_follows_the_drive_power_formula():
    """Near the wheels' 0.3 m/s; drive energy per metre m g (C_rr cos + sin) / eta on the level and
    uphill (within -10 % to +50 %: rough ground costs more, and lanes that stalled on the steepest
    grade are left out), rising with grade and load; downhill cheaper than on the level."""
    t = load("rover")
    body = RoverBody()
    assert np.all(t.speed_m_s <= body.max_speed_m_s * 1.02) and np.all(t.speed_m_s > 0.5 * body.max_speed_m_s)
    assert np.all(t.speed_m_s[:, 0] > 0.85 * body.max_speed_m_s)  # unladen at every grade
    level = int(np.argmin(np.abs(t.grades_deg)))
    assert t.grades_deg[level] == 0.0
    for li, load_kg in enumerate(t.loads_kg):
        per_m = t.drive_j_per_m[:, li]
        assert np.all(np.diff(per_m[level:]) > 0) and np.all(per_m[:level] < per_m[level]), load_kg
        for gi in range(level, t.grades_deg.size):
            g = math.radians(t.grades_deg[gi])
            smooth = (body.mass_kg + load_kg) * 1.62 * (0.13 * math.cos(g) + math.sin(g)) / 0.6
            assert 0.9 * smooth <= per_m[gi] <= 1.5 * smooth, (t.grades_deg[gi], load_kg)
    assert np.all(np.diff(t.drive_j_per_m[level:], axis=1) > 0)  # heavier costs more, level and uphill
    assert t.turn_s_per_rad > 0


def test_the_shipped_hopper_table_follows_the_ballistic_formula():
    """R = v^2 sin(2 theta) / g, v = sqrt(2 eta E / m), at each calibrated energy."""
    t = load("hopper")
    body = HopperBody()
    assert t.energies_j[-1] == body.max_spring_j and t.elevation_deg == 45.0
    for energy, reach in zip(t.energies_j, t.range_m):
        v2 = 2 * body.spring_efficiency * energy / body.mass_kg
        assert reach == pytest.approx(v2 * math.sin(math.radians(90.0)) / 1.62, rel=0.03), energy
    assert np.all(np.diff(t.range_m) > 0) and np.all(t.rest_of() >= 0.95 * t.range_m)
    assert t.energy_for(10.0) == pytest.approx(10.0 * 1.62 * body.mass_kg / (2 * body.spring_efficiency), rel=0.03)
