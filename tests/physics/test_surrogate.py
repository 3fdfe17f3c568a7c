"""Surrogate tables: calibrated on physics workers, then held against full physics on tiles the
calibration never saw (a rover) or against the ballistic formula (a hopper)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from physics.episode import traverse
from physics.robots import HopperBody, RoverBody
from physics.surrogate import (Calibration, HopperCalibration, HopperTable, RoverTable, calibrate, calibrate_hopper, ground, read, table_name,
                               write)
from physics.terrain import procedural
from twin.cli import app

SETTINGS = Calibration(grades_deg=(-8.0, 0.0, 8.0), loads_kg=(0.0,), lanes=2, seed=7)
HOPS = HopperCalibration(energies_j=(60.0, 120.0, 200.0), hops=2, seed=7)


@pytest.fixture(scope="module")
def table(ray_cluster):
    return calibrate(RoverBody(), SETTINGS, workers=2)


def test_the_table_follows_the_drive_power_formula_in_its_trend(table):
    # Uphill costs more per metre and downhill less; speed stays near the wheels' 0.3 m/s limit.
    per_m = table.drive_j_per_m[:, 0]
    assert per_m[0] < per_m[1] < per_m[2]
    assert np.all((table.speed_m_s > 0.25) & (table.speed_m_s <= 0.305))
    # m g (C_rr cos + sin) / eta: 10.5 J/m on the level and 21.8 J/m up 8 deg on a smooth plane;
    # the calibration's ground is rough (craters, small rocks), which costs more, up to half again.
    for i, grade in ((1, 0.0), (2, 8.0)):
        g = math.radians(grade)
        smooth = 30 * 1.62 * (0.13 * math.cos(g) + math.sin(g)) / 0.6
        assert 0.95 * smooth <= per_m[i] <= 1.5 * smooth, grade
    assert table.turn_s_per_rad > 0


@pytest.mark.parametrize("seed", [102, 104, 105, 106])
def test_the_surrogate_is_within_ten_percent_of_full_physics_on_held_out_tiles(table, seed):
    """An L-shaped drive of 30.6 m across a 4 deg regional slope on a tile the calibration never
    saw: the surrogate's time and energy against the full-physics episode."""
    tile = procedural(seed, ground(RoverBody(), 40.0, 4.0, 60.0))
    waypoints, start = [(10.0, 0.0), (10.0, 10.0)], (-10.0, -5.0)
    full = traverse(tile, waypoints, start=start)
    assert full.outcome == "arrived"
    time_s, energy_j = table.traverse(tile, waypoints, start=start)
    assert time_s == pytest.approx(full.duration_s, rel=0.1) and energy_j == pytest.approx(full.energy_j, rel=0.1)


def test_lookup_is_bilinear_by_hand():
    body = RoverBody()
    t = RoverTable(np.array([0.0, 10.0]), np.array([0.0, 20.0]), np.array([[0.3, 0.2], [0.2, 0.1]]), np.array([[10.0, 20.0], [30.0, 60.0]]),
                   np.zeros((2, 2)), body)
    speed, per_m = t.lookup(np.array([5.0, 0.0, 99.0]), 10.0)
    # At 5 deg and 10 kg: the mean of the four corners; beyond the range, clamped.
    assert speed.tolist() == pytest.approx([0.2, 0.25, 0.15]) and per_m.tolist() == pytest.approx([30.0, 15.0, 45.0])


def test_a_written_table_reads_back_and_is_reused_by_the_command(table, tmp_path):
    path = write(table, tmp_path, SETTINGS)
    assert path.name == table_name(RoverBody(), SETTINGS)
    again = read(path)
    assert np.array_equal(again.speed_m_s, table.speed_m_s) and again.turn_s_per_rad == table.turn_s_per_rad and again.body == table.body
    runner = CliRunner()
    result = runner.invoke(app, ["calibrate", "--robot", "rover", "--terrain", "seed:7", "--grades", "-8,0,8", "--loads", "0", "--lanes", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0 and "already calibrated" in result.output


@pytest.mark.parametrize("args, field", [(["--grades", "x"], "--grades"), (["--grades", "0,45"], "--grades"), (["--terrain", "tile.tif"], "--terrain"),
                                         (["--workers", "-1"], "--workers"), (["--robot", "bird"], "--robot"),
                                         (["--robot", "hopper", "--energies", "0,500"], "--energies"), (["--robot", "hopper", "--energies", "80"], "--energies"),
                                         (["--robot", "hopper", "--grades", "0,5"], "--grades"), (["--energies", "40,80"], "--energies"),
                                         (["--robot", "hopper", "--hops", "0"], "--hops")])
def test_calibrate_refuses_bad_input(tmp_path, args, field):
    result = CliRunner().invoke(app, ["calibrate", *args, "--out", str(tmp_path / "calib")])
    assert result.exit_code == 2 and field in result.output and "Traceback" not in result.output
    assert not (tmp_path / "calib").exists()


# -- hoppers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hopper_table(ray_cluster):
    return calibrate_hopper(HopperBody(), HOPS, workers=2)


def test_a_hopper_table_follows_the_ballistic_formula(hopper_table):
    """v = sqrt(2 eta E / m) = sqrt(2 x 0.8 x E / 8 kg); R = v^2 sin(2 x 45 deg) / 1.62 m/s^2: 7.41 m
    at 60 J, 14.81 m at 120 J, 24.69 m at 200 J. Rough ground scatters the touch-down a little."""
    t = hopper_table
    assert t.energies_j.tolist() == [60.0, 120.0, 200.0] and t.elevation_deg == 45.0
    for energy, reach, rest, duration in zip(t.energies_j, t.range_m, t.rest_m, t.duration_s):
        v = math.sqrt(2 * 0.8 * energy / 8.0)
        assert reach == pytest.approx(v**2 * math.sin(math.radians(90.0)) / 1.62, rel=0.05), energy
        # It slides (and may tumble) on after touching down, and comes to rest after the flight.
        assert rest > 0.95 * reach
        assert duration > 2 * v * math.sin(math.radians(45.0)) / 1.62
    assert np.all((t.failure_frac >= 0.0) & (t.failure_frac <= 1.0))


def test_energy_for_inverts_the_range_curve(hopper_table):
    t = hopper_table
    for energy in (60.0, 90.0, 120.0, 200.0):
        assert t.energy_for(t.lookup(energy)[0]) == pytest.approx(energy, rel=1e-9)
    assert t.energy_for(np.array([t.range_m[0], t.range_m[-1]])).tolist() == pytest.approx([60.0, 200.0])
    # Below the weakest calibrated hop the range is proportional to the energy.
    assert t.energy_for(t.range_m[0] / 2) == pytest.approx(30.0)
    # The battery pays the spring through the charger (70 %) and the hotel load until rest.
    assert t.battery_j(120.0) == pytest.approx(120.0 / 0.7 + 8.0 * t.duration_s[1])
    energy, duration, battery, failure = t.cost(float(t.range_m[1]))
    assert energy == pytest.approx(120.0) and duration == pytest.approx(t.duration_s[1]) and battery == pytest.approx(t.battery_j(120.0))


@pytest.mark.parametrize("reach", [30.0, 0.0, -1.0, float("nan")])
def test_energy_for_refuses_a_range_it_cannot_hop(hopper_table, reach):
    with pytest.raises(ValueError, match="range_m"):
        hopper_table.energy_for(reach)


def test_hopper_lookup_is_linear_and_clamped_by_hand():
    t = HopperTable(np.array([50.0, 100.0]), np.array([6.0, 12.0]), np.array([5.0, 7.0]), np.array([0.0, 0.5]), HopperBody())
    reach, duration, failure = t.lookup(np.array([75.0, 10.0, 999.0]))
    assert reach.tolist() == pytest.approx([9.0, 6.0, 12.0]) and duration.tolist() == pytest.approx([6.0, 5.0, 7.0])
    assert failure.tolist() == pytest.approx([0.25, 0.0, 0.5])
    assert t.energy_for(9.0) == pytest.approx(75.0) and t.energy_for(3.0) == pytest.approx(25.0)


def test_a_written_hopper_table_reads_back_and_is_reused_by_the_command(hopper_table, tmp_path):
    path = write(hopper_table, tmp_path, HOPS)
    assert path.name == table_name(HopperBody(), HOPS) and path.name.startswith("hopper-")
    again = read(path)
    assert isinstance(again, HopperTable) and again.body == hopper_table.body and again.elevation_deg == 45.0
    for column in ("energies_j", "range_m", "rest_m", "duration_s", "failure_frac"):
        assert np.array_equal(getattr(again, column), getattr(hopper_table, column)), column
    result = CliRunner().invoke(app, ["calibrate", "--robot", "hopper", "--terrain", "seed:7", "--energies", "60,120,200", "--hops", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0 and "already calibrated" in result.output


def test_read_gives_the_table_of_the_robot_the_file_holds(table, hopper_table, tmp_path):
    rover, hopper = write(table, tmp_path, SETTINGS), write(hopper_table, tmp_path, HOPS)
    assert rover.name.startswith("rover-") and isinstance(read(rover), RoverTable)
    assert isinstance(read(hopper), HopperTable)
    # Each robot's key is its own: the same settings never name another robot's table.
    assert table_name(HopperBody(), HOPS) != table_name(HopperBody(mass_kg=7.0), HOPS)
    with pytest.raises(TypeError):
        table_name(RoverBody(), HOPS)
