"""Surface robotics physics: terrain tiles as PyBullet heightfields, hops against the ballistic
formula, rover traverses against the drive-power formula, and the outcomes that must never count
as motion."""
from __future__ import annotations

import math

import numpy as np
import pybullet as p
import pytest

from physics.episode import hop, traverse
from physics.robots import LUNAR_GRAVITY_M_S2, ROLLING_RESISTANCE, HopperBody, RoverBody
from physics.terrain import Procedural, Tile, from_elevation_model, heightfield, procedural, simple_crater
from twin.environment.terrain import GridModel

FLAT = Tile(np.zeros((161, 161)), 0.25, "flat")


def plane(slope_deg: float, size_m: float = 40.0, spacing: float = 0.25, towards_deg: float = 90.0) -> Tile:
    return procedural(0, Procedural(size_m=size_m, spacing_m=spacing, crater_c=0.0, rock_k=0.0, slope_deg=slope_deg, slope_azimuth_deg=towards_deg))


def test_the_heightfield_is_the_tile_where_pybullet_sees_it():
    tile = procedural(7, Procedural(size_m=30.0, spacing_m=0.5, crater_c=0.2, rock_k=0.01))
    assert np.ptp(tile.heights_m) > 0.3  # craters and rocks made relief
    client = p.connect(p.DIRECT)
    try:
        heightfield(client, tile, 0.7)
        rng = np.random.default_rng(1)
        for x, y in rng.uniform(-14.0, 14.0, size=(20, 2)):
            hit = p.rayTest([x, y, 50.0], [x, y, -50.0], physicsClientId=client)[0]
            # Between grid points PyBullet's two triangles and the bilinear surface differ by at
            # most a quarter of the cell's twist, h00 + h11 - h01 - h10.
            col, row = (x + 15.0) / 0.5, (15.0 - y) / 0.5
            r0, c0 = int(row), int(col)
            h = tile.heights_m
            twist = abs(h[r0, c0] + h[r0 + 1, c0 + 1] - h[r0, c0 + 1] - h[r0 + 1, c0])
            assert abs(hit[3][2] - tile.height_at(x, y)) <= twist / 4 + 1e-5
        for x, y in ((0.0, 0.0), (10.0, -5.0), (-14.5, 14.5)):
            assert p.rayTest([x, y, 50.0], [x, y, -50.0], physicsClientId=client)[0][3][2] == pytest.approx(tile.height_at(x, y), abs=1e-5)
    finally:
        p.disconnect(client)


def test_a_fresh_simple_crater_by_hand():
    # D = 10 m: the floor 0.196 x 10 = 1.96 m below a rim 0.36 m above the surroundings (Pike 1977).
    z = simple_crater(np.array([0.0, 5.0, 10.0]), 10.0)
    assert z[1] - z[0] == pytest.approx(1.96) and z[1] == pytest.approx(0.36)
    assert z[2] == pytest.approx(0.36 / 8 - 0.36 / 64)  # the ejecta, (r/R)^-3 (less its far value)


def test_procedural_tiles_follow_their_seed_and_size_frequency():
    spec = Procedural(size_m=50.0, spacing_m=0.5)
    assert np.array_equal(procedural(3, spec).heights_m, procedural(3, spec).heights_m)
    assert not np.array_equal(procedural(3, spec).heights_m, procedural(4, spec).heights_m)


def test_a_tile_cut_from_an_elevation_model_keeps_its_heights():
    n, spacing = 201, 2.0
    axis = (np.arange(n) - 100) * spacing
    heights = 0.05 * axis[None, :] + 0.02 * (-axis[:, None])  # rises east and north
    model = GridModel(heights, spacing, -84.5, 82.8)
    tile = from_elevation_model(model, -84.5, 82.8, 40.0, 0.5)
    assert tile.height_at(0.0, 0.0) == pytest.approx(0.0, abs=1e-9)
    assert tile.height_at(10.0, 0.0) == pytest.approx(0.5, abs=0.01) and tile.height_at(0.0, 10.0) == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize("energy_j, elevation_deg", [(20.0, 45.0), (60.0, 30.0), (150.0, 60.0)])
def test_a_hop_lands_where_the_ballistic_formula_says(energy_j, elevation_deg):
    """v = sqrt(2 eta E / m); range R = v^2 sin(2 theta) / g in 1.62 m/s^2 (docs/references.md,
    Robotics: 3 m/s at 45 deg gives 5.6 m)."""
    body = HopperBody()
    v = body.launch_speed_m_s(energy_j)
    assert HopperBody(mass_kg=1.0, spring_efficiency=1.0).launch_speed_m_s(4.5) == pytest.approx(3.0)
    assert 3.0**2 / LUNAR_GRAVITY_M_S2 == pytest.approx(5.56, abs=0.01)
    track = hop(FLAT if energy_j < 100 else Tile(np.zeros((241, 241)), 0.25, "flat"), energy_j, elevation_deg, azimuth_deg=90.0)
    expected = v**2 * math.sin(math.radians(2 * elevation_deg)) / LUNAR_GRAVITY_M_S2
    x, y = track.first_contact_m
    assert x == pytest.approx(expected, rel=0.02) and abs(y) < 0.02  # due east
    assert track.outcome in ("landed", "tipped")
    flight = 2 * v * math.sin(math.radians(elevation_deg)) / LUNAR_GRAVITY_M_S2
    assert track.duration_s > flight


def test_a_rover_on_the_flat_uses_the_drive_power_formula():
    """P = P_hotel + v m g (C_rr cos(slope) + sin(slope)) / eta; on a 6 deg slope, uphill."""
    body = RoverBody()
    for slope in (0.0, 6.0):
        tile = plane(slope)
        track = traverse(tile, [(15.0, 0.0)], body, start=(-3.0, 0.0))
        assert track.outcome == "arrived"
        drive_j = track.energy_j - body.hotel_w * track.duration_s
        s = math.radians(slope)
        # Per metre: m g (C_rr cos + sin) / eta = 10.5 J/m on the flat, 18.9 J/m up 6 deg.
        expected_j_per_m = body.mass_kg * LUNAR_GRAVITY_M_S2 * (ROLLING_RESISTANCE * math.cos(s) + math.sin(s)) / body.drive_efficiency
        assert drive_j / track.distance_m == pytest.approx(expected_j_per_m, rel=0.1), slope
        assert track.distance_m / track.duration_s == pytest.approx(body.max_speed_m_s, rel=0.05)
        assert track.distance_m == pytest.approx(math.dist((-3.0, 0.0), (15.0, 0.0)), abs=1.0)


def test_the_same_episode_twice_is_the_same_trajectory():
    tile = procedural(11, Procedural(size_m=30.0, spacing_m=0.25))
    a, b = (traverse(tile, [(8.0, 6.0)], max_s=60.0) for _ in range(2))
    assert a.outcome == b.outcome
    for key, values in a.columns().items():
        assert np.array_equal(values, b.columns()[key]), key


def test_outcomes_that_are_not_motion():
    # Driving off the tile is reported, never counted as arriving.
    assert traverse(FLAT, [(30.0, 0.0)]).outcome == "left_tile"
    # A 2 m cliff in the way: the wheels spin, the rover makes no progress.
    h = np.zeros((161, 161))
    h[:, 100:] = 2.0
    assert traverse(Tile(h, 0.25, "cliff"), [(15.0, 0.0)], stuck_s=10.0, max_s=120.0).outcome == "stuck"
    # Across a 55 deg side slope the rover rolls over.
    assert traverse(plane(55.0, towards_deg=0.0), [(15.0, 0.0)], max_s=60.0).outcome in ("tipped", "left_tile")


def test_a_fleet_on_physics_workers_equals_each_group_driven_locally(ray_cluster):
    """Two workers (Ray actors, each its own DIRECT client): each group's tracks are the local
    drive of that group, bit for bit; rovers in one world meet, so a group is not its rovers alone."""
    from physics.episode import RoverTask, drive
    from physics.workers import drive_fleet, groups

    tile = procedural(5, Procedural(size_m=30.0, spacing_m=0.25))
    tasks = [RoverTask((-6.0, y), ((6.0, y),)) for y in (-6.0, -2.0, 2.0, 6.0)]
    assert [list(g) for g in groups(4, 2)] == [[0, 1], [2, 3]] and [list(g) for g in groups(3, 8)] == [[0], [1], [2]]
    remote = drive_fleet(tile, tasks, workers=2, max_s=60.0)
    local = drive(tile, tasks[:2], max_s=60.0) + drive(tile, tasks[2:], max_s=60.0)
    assert [t.outcome for t in remote] == [t.outcome for t in local]
    for a, b in zip(remote, local):
        assert a.energy_j == b.energy_j and all(np.array_equal(v, b.columns()[k]) for k, v in a.columns().items())
    assert sum(t.outcome == "arrived" for t in remote) >= 3  # one is knocked aside by a rock and runs out of time near its goal


def test_two_rovers_driving_at_each_other_meet_in_one_world():
    from physics.episode import RoverTask, drive

    head_on = drive(FLAT, [RoverTask((-8.0, 0.0), ((8.0, 0.0),)), RoverTask((8.0, 0.0), ((-8.0, 0.0),))], max_s=90.0, stuck_s=10.0)
    alone = drive(FLAT, [RoverTask((-8.0, 0.0), ((8.0, 0.0),))], max_s=90.0)[0]
    assert alone.outcome == "arrived"
    # They collide: neither drives straight through the other as it would alone.
    assert any(t.outcome != "arrived" or t.duration_s > alone.duration_s + 1.0 for t in head_on)


def test_the_episode_command_writes_a_track_and_refuses_bad_tasks(tmp_path):
    import json

    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from twin.cli import app

    runner = CliRunner()
    out = tmp_path / "hop"
    result = runner.invoke(app, ["robots", "episode", "--robot", "hopper", "--task", "hop 8 m at 45 deg towards 0 deg", "--terrain", "seed:3",
                                 "--size-m", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "episode.json").read_text())
    # The spring energy is chosen for 8 m on level ground; the tile is not level, so within 10 %.
    assert summary["first_contact_m"][1] == pytest.approx(8.0, rel=0.1) and abs(summary["first_contact_m"][0]) < 0.3
    table = pq.read_table(out / "episode.parquet")
    assert table.schema.field("power_w").metadata[b"unit"] == b"W" and table.num_rows > 10
    assert (out / "track.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for args, field in ((["--robot", "rover", "--task", "hop 3 m at 45 deg"], "--task"), (["--robot", "hopper", "--task", "hop 3 m at 95 deg"], "--task"),
                        (["--robot", "rover", "--task", "traverse 90,0", "--size-m", "40"], "--task"), (["--robot", "rover", "--task", "traverse 1,1", "--terrain", "seed:x"], "--terrain")):
        refused = runner.invoke(app, ["robots", "episode", *args, "--out", str(tmp_path / "bad")])
        assert refused.exit_code == 2 and field in refused.output and "Traceback" not in refused.output
        assert not (tmp_path / "bad").exists()
