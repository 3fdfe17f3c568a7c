"""Surrogate tables: calibrated on physics workers, then held against full physics on tiles the
calibration never saw."""
from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from physics.episode import traverse
from physics.robots import RoverBody
from physics.surrogate import Calibration, RoverTable, calibrate, ground, read, table_name, write
from physics.terrain import procedural
from twin.cli import app

SETTINGS = Calibration(grades_deg=(-8.0, 0.0, 8.0), loads_kg=(0.0,), lanes=2, seed=7)


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
                                         (["--workers", "-1"], "--workers"), (["--robot", "hopper"], "--robot")])
def test_calibrate_refuses_bad_input(tmp_path, args, field):
    result = CliRunner().invoke(app, ["calibrate", *args, "--out", str(tmp_path / "calib")])
    assert result.exit_code == 2 and field in result.output and "Traceback" not in result.output
    assert not (tmp_path / "calib").exists()
