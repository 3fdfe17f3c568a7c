"""Built-in site terrain: the landforms at their published sizes, the horizons they make, the
roughness's scaling, and what a scenario does with it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from typer.testing import CliRunner

from twin.cli import app
from twin.environment import morphometry, terrain
from twin.environment.ephemeris import SITES
from twin.environment.morphometry import ComplexCrater, Roughness, SITE_TERRAIN
from twin.scenario import ScenarioError, parse

R_MOON = 1737.4e3


def test_pike_relations_for_amundsen_by_hand():
    # D = 103 km: d = 1.044 x 103^0.301 = 4.213 km, h = 0.236 x 103^0.399 = 1.500 km,
    # Df = 0.187 x 103^1.249 = 61.08 km, peak 0.032 x 103^0.900 = 2.073 km (Pike 1977).
    c = SITE_TERRAIN["amundsen"].landform
    assert (c.depth_km, c.rim_height_km) == (pytest.approx(4.2127, abs=1e-3), pytest.approx(1.4998, abs=1e-3))
    assert c.floor_diameter_km == pytest.approx(61.08, abs=0.01) and c.peak_height_km == pytest.approx(2.073, abs=1e-3)
    z = c.heights_m(np.array([0.0, 20e3, 51.5e3, 2 * 51.5e3]))
    floor = (1.4998 - 4.2127) * 1000
    assert z[0] == pytest.approx(floor + 2073, abs=2)  # the peak's top
    assert z[1] == pytest.approx(floor, abs=1)  # beyond the peak's base (11.1 km), inside the floor (30.5 km)
    assert z[2] == pytest.approx(1499.8, abs=1)  # the rim crest
    assert z[3] == pytest.approx(1499.8 / 8, abs=1)  # the flank, (r/R)^-3


def test_aristarchus_is_built_as_measured():
    c = SITE_TERRAIN["aristarchus"].landform
    assert (c.depth_km, c.peak_height_km, c.peak_diameter_km) == (2.7, 0.3, 3.2)  # LROC


@pytest.mark.parametrize("crater", [ComplexCrater(103.0), ComplexCrater(40.0, measured_depth_km=2.7, measured_peak_height_km=0.3, measured_peak_width_km=3.2)])
def test_the_rim_seen_from_the_central_peak_matches_the_analytic_elevation(crater):
    """Without roughness, the horizon from the peak's top is the rim crest, on the sphere:
    atan2((R + h) cos(s/R) - (R + z0), (R + h) sin(s/R)) with s the rim's radius."""
    spacing = 200.0 if crater.diameter_km > 60 else 100.0
    half = crater.extent_m()
    n = 2 * int(math.ceil(half / spacing)) + 1
    axis = (np.arange(n) - (n - 1) / 2) * spacing
    heights = crater.heights_m(np.hypot(axis[:, None], axis[None, :]))
    lat, lon = SITES["amundsen"]
    model = terrain.GridModel(heights, spacing, lat, lon)
    found = terrain.horizon(model, lat, lon, 0.0, 1.0)
    z0 = (crater.rim_height_km - crater.depth_km + crater.peak_height_km) * 1000
    s, h = crater.diameter_km * 500.0, crater.rim_height_km * 1000
    expected = math.degrees(math.atan2((R_MOON + h) * math.cos(s / R_MOON) - (R_MOON + z0), (R_MOON + h) * math.sin(s / R_MOON)))
    assert found.elevation_deg == pytest.approx(np.full(360, expected), abs=0.05)


def test_the_roughness_scales_with_its_hurst_exponent():
    rough = Roughness(hurst=0.8, nu0_m=5.0, baseline_m=57.0, corner_m=50_000.0, source="test")
    z = morphometry.fractal((512, 512), 50.0, rough, np.random.default_rng(3))
    # nu(L) = nu0 (L / L0)^H at one grid step, and the slope of log nu against log L near H.
    assert morphometry.deviation(z, 1) == pytest.approx(5.0 * (50.0 / 57.0) ** 0.8)
    fitted = math.log(morphometry.deviation(z, 8) / morphometry.deviation(z, 1)) / math.log(8)
    assert fitted == pytest.approx(0.8, abs=0.08)


def test_a_site_model_is_the_same_for_a_seed_and_differs_between_seeds():
    a, b, c = (morphometry.site_model("aristarchus", seed) for seed in (1, 1, 2))
    assert np.array_equal(a.heights_m, b.heights_m) and not np.array_equal(a.heights_m, c.heights_m)
    lat, lon = SITES["aristarchus"]
    h1, h2 = (terrain.horizon(m, lat, lon, 0.0, 2.0).elevation_deg for m in (a, c))
    # The rim decides it: about 6.3 deg everywhere, whatever the roughness's draw.
    assert 5.5 < h1.mean() < 7.0 and np.abs(h1 - h2).max() < 1.0


def test_the_marius_hills_station_stands_on_the_plain_between_edifices():
    model = morphometry.site_model("marius-hills")
    lat, lon = SITES["marius-hills"]
    found = terrain.horizon(model, lat, lon, 0.0, 1.0)
    ground = model.ground_m(lat, lon)
    assert abs(ground) < 30.0  # the mare plain, on a level rise of its roughness
    assert np.nanmax(model.heights_m) > 100.0  # domes and cones stand around it
    assert 0.0 <= found.elevation_deg.min() and found.elevation_deg.max() < 5.0


def test_scenarios_use_the_built_in_terrain_unless_told_otherwise(tmp_path):
    base = '[scenario]\nname = "t"\n[site]\n{site}\n[time]\nstart = "2030-01-01T00:00:00Z"\nend = "2030-01-02T00:00:00Z"\nstep = "60s"\n[modules.energy]\ndeployed = "2030-01-01T00:00:00Z"\n'
    assert parse(base.format(site='name = "amundsen"'), "a.toml").site.builtin_terrain
    assert not parse(base.format(site='name = "amundsen"\nterrain = "flat"'), "b.toml").site.builtin_terrain
    assert not parse(base.format(site='name = "amundsen"\nhorizon_mask = [[0.0, 1.0]]'), "c.toml").site.builtin_terrain
    for site, field in (('name = "amundsen"\nterrain = "morphometry"\nhorizon_mask = [[0.0, 1.0]]', "site"),
                        ('latitude_deg = -85.0\nlongitude_deg = 10.0\nterrain = "morphometry"', "site"),
                        ('name = "amundsen"\nterrain = "hilly"', "site.terrain")):
        with pytest.raises(ScenarioError, match=field):
            parse(base.format(site=site), "bad.toml")


def test_the_horizon_command_gives_a_built_in_sites_terrain():
    import json

    runner = CliRunner()
    built_in = runner.invoke(app, ["horizon", "--site", "aristarchus", "--azimuth-step", "10", "--format", "json"])
    flat = runner.invoke(app, ["horizon", "--site", "aristarchus", "--flat", "--azimuth-step", "10", "--format", "json"])
    assert built_in.exit_code == 0 and flat.exit_code == 0
    assert min(json.loads(built_in.stdout)["elevation_deg"]) > 5.0
    assert max(json.loads(flat.stdout)["elevation_deg"]) == 0.0
