"""Horizons from elevation models, against analytic terrain: a ring wall, a cone, a tilted plane
(on the 1737.4 km sphere, so the Moon's curvature is part of every expected value), a mast that
sees over a rim, and a GeoTIFF in a lunar polar stereographic CRS read with rasterio."""
from __future__ import annotations

import math

import numpy as np
import pytest

from twin.environment.sky import SkyGrid
from twin.environment.terrain import MOON_RADIUS_M as R
from twin.environment.terrain import GridModel, bearing_distance, horizon, load

LAT, LON = -84.5, 82.8  # Amundsen's centre (any point works; this one is near a pole)
N, SPACING = 401, 50.0  # 20 km across
TOLERANCE_DEG = 0.2


def seen_deg(s, z, eye):
    """Elevation of a point at arc distance s and height z from an eye at height eye (sphere)."""
    theta = np.asarray(s) / R
    return np.degrees(np.arctan2((R + np.asarray(z)) * np.cos(theta) - (R + eye), (R + np.asarray(z)) * np.sin(theta)))


def limb_deg(height):
    return -math.degrees(math.acos(R / (R + height)))


def grid():
    rows, cols = np.mgrid[0:N, 0:N].astype(float)
    c = (N - 1) / 2
    north, east = (c - rows) * SPACING, (cols - c) * SPACING
    return north, east


def test_a_ring_wall_is_seen_at_its_crest_in_every_direction():
    north, east = grid()
    r = np.hypot(north, east)
    height, radius, width = 800.0, 6000.0, 300.0
    model = GridModel(height * np.exp(-0.5 * ((r - radius) / width) ** 2), SPACING, LAT, LON)
    got = horizon(model, LAT, LON, height_m=2.0)
    s = np.linspace(1.0, 9000.0, 90_001)
    expected = seen_deg(s, height * np.exp(-0.5 * ((s - radius) / width) ** 2), 2.0).max()
    assert got.azimuth_deg.size == 720 and got.azimuth_deg[1] == 0.5
    assert np.abs(got.elevation_deg - expected).max() < TOLERANCE_DEG
    # Curvature matters at this size: a flat Moon would put the wall s / 2R (0.1 deg) higher.
    flat = np.degrees(np.arctan2(height * np.exp(-0.5 * ((s - radius) / width) ** 2) - 2.0, s)).max()
    assert flat - expected == pytest.approx(math.degrees(radius / (2 * R)), abs=0.02)


def test_a_cone_is_seen_at_its_tip_in_its_azimuth_and_not_elsewhere():
    north, east = grid()
    d, bearing = 6000.0, math.radians(45.0)
    pn, pe = d * math.cos(bearing), d * math.sin(bearing)
    peak, base = 400.0, 1000.0
    cone = np.maximum(0.0, peak * (1.0 - np.hypot(north - pn, east - pe) / base))
    got = horizon(GridModel(cone, SPACING, LAT, LON), LAT, LON, height_m=0.0)
    at = dict(zip(got.azimuth_deg.tolist(), got.elevation_deg.tolist()))
    assert abs(at[45.0] - seen_deg(d, peak, 0.0)) < TOLERANCE_DEG
    half_width = math.degrees(math.asin(base / d))
    away = [az for az in at if min(abs(az - 45.0), 360.0 - abs(az - 45.0)) > half_width + 1.0]
    assert all(abs(at[az] - limb_deg(0.0)) < 1e-9 for az in away)


def test_a_tilted_plane_rises_uphill_to_where_the_moon_curves_away():
    """z = g * (distance north): uphill the horizon peaks near s = sqrt(2 R h), not at the edge;
    downhill and across the slope the ground falls away and the limb of the sphere is the horizon."""
    north, _ = grid()
    g, h = 0.05, 2.0
    got = horizon(GridModel(g * north, SPACING, LAT, LON), LAT, LON, height_m=h)
    at = dict(zip(got.azimuth_deg.tolist(), got.elevation_deg.tolist()))
    s = np.linspace(1.0, (N - 1) / 2 * SPACING, 200_001)
    for az in (0.0, 30.0, 60.0, 150.0, 180.0, 270.0):
        expected = max(seen_deg(s, g * s * math.cos(math.radians(az)), h).max(), limb_deg(h))
        assert abs(at[az] - expected) < TOLERANCE_DEG, az
    uphill = seen_deg(s, g * s, h)
    assert 0.3 * math.sqrt(2 * R * h) < s[np.argmax(uphill)] < 3 * math.sqrt(2 * R * h)
    assert at[180.0] == pytest.approx(limb_deg(h), abs=1e-9)


def test_a_mast_above_a_rim_sees_more_sun_than_the_ground_below_it():
    north, east = grid()
    r = np.hypot(north, east)
    rim = 6.0 * np.exp(-0.5 * ((r - 150.0) / 20.0) ** 2)  # a 6 m rim 150 m away
    model = GridModel(rim, SPACING / 10, LAT, LON)  # 5 m pixels
    ground = horizon(model, LAT, LON, height_m=0.0)
    mast = horizon(model, LAT, LON, height_m=10.0)
    assert (mast.elevation_deg <= ground.elevation_deg).all()
    assert ground.elevation_deg.min() > 1.5 and mast.elevation_deg.max() < 0.0
    start = 1893456000.0  # 2030-01-01
    times = start + 600.0 * np.arange(30 * 144)
    lit = {name: SkyGrid(LAT, LON, start, times[-1], horizon=h.mask()).sample(times, ["sun_visible_frac"])["sun_visible_frac"].mean()
           for name, h in (("ground", ground), ("mast", mast))}
    assert lit["mast"] > lit["ground"] + 0.05


def test_a_geotiff_in_a_polar_stereographic_crs_gives_the_horizon_of_the_same_terrain(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.crs import CRS
    from rasterio.transform import from_origin
    from rasterio.warp import transform

    crs = CRS.from_proj4(f"+proj=stere +lat_0=-90 +lon_0=0 +k=1 +x_0=0 +y_0=0 +R={R} +units=m +no_defs")
    lat, lon = -87.0, 30.0
    (x0,), (y0,) = transform(CRS.from_proj4(f"+proj=longlat +R={R} +no_defs"), crs, [lon], [lat])
    # Heights of a cone 6 km from the observer, laid out on the projection's own grid.
    n, px = 481, 50.0
    xs = x0 + (np.arange(n) - (n - 1) / 2) * px
    ys = y0 - (np.arange(n) - (n - 1) / 2) * px
    gx, gy = np.meshgrid(xs, ys)
    lons, lats = transform(crs, CRS.from_proj4(f"+proj=longlat +R={R} +no_defs"), gx.ravel().tolist(), gy.ravel().tolist())
    bd = np.array([bearing_distance(lat, lon, la, lo) for la, lo in zip(lats, lons)])
    b, d = np.radians(bd[:, 0]).reshape(n, n), bd[:, 1].reshape(n, n)
    pn, pe = 6000.0 * math.cos(math.radians(120.0)), 6000.0 * math.sin(math.radians(120.0))
    heights = np.maximum(0.0, 400.0 * (1.0 - np.hypot(d * np.cos(b) - pn, d * np.sin(b) - pe) / 1000.0)).astype(np.float32)
    path = tmp_path / "cone.tif"
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32", crs=crs,
                       transform=from_origin(xs[0] - px / 2, ys[0] + px / 2, px, px), nodata=-9999.0) as dst:
        dst.write(heights, 1)
    got = horizon(load(path), lat, lon, height_m=0.0)
    at = dict(zip(got.azimuth_deg.tolist(), got.elevation_deg.tolist()))
    assert abs(at[120.0] - seen_deg(6000.0, 400.0, 0.0)) < TOLERANCE_DEG
    assert abs(at[300.0] - limb_deg(0.0)) < 1e-9
    # Many points at once land where one at a time does (a robot's tile is cut with pixels()).
    model = load(path)
    lats_, lons_ = np.array([lat, lat + 0.05, lat - 0.03]), np.array([lon, lon + 1.0, lon - 2.0])
    rows, cols = model.pixels(lats_, lons_)
    assert np.allclose(np.column_stack([rows, cols]), [model.pixel(a, b) for a, b in zip(lats_, lons_)], atol=1e-9)


def test_bad_elevation_models_and_observers_are_refused_with_the_field_named(tmp_path):
    model = GridModel(np.zeros((11, 11)), 10.0, LAT, LON)
    with pytest.raises(ValueError, match="^height: "):
        horizon(model, LAT, LON, height_m=-1.0)
    with pytest.raises(ValueError, match="outside the elevation model"):
        horizon(model, LAT + 1.0, LON)
    with pytest.raises(ValueError, match="^dem: .*km"):
        GridModel(np.full((4, 4), 1737.4e3), 10.0, LAT, LON)
    with pytest.raises(ValueError, match="^dem_spacing_m: "):
        GridModel(np.zeros((4, 4)), float("nan"), LAT, LON)
    np.save(tmp_path / "tile.npy", np.zeros((4, 4)))
    with pytest.raises(ValueError, match="^dem_spacing_m: "):
        load(tmp_path / "tile.npy")
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    with pytest.raises(ValueError, match="^dem: .*cannot be read"):
        load(tmp_path / "junk.tif")


# -- a user's elevation model in a scenario ------------------------------------------------------
STATION = """
[scenario]
name = "walled"
seed = 3

[site]
name = "amundsen"
{site}

[time]
start = "2030-01-01T00:00:00Z"
end = "2030-01-29T00:00:00Z"
step = "600s"

[modules.energy]
deployed = "2030-01-01T00:00:00Z"

[modules.energy.solar]
area_m2 = 20.0
{solar}

[modules.energy.storage]
capacity_kwh = 40.0
initial_soc_frac = 0.6

[modules.communications]
deployed = "2030-01-01T00:00:00Z"
"""


def walled_site(tmp_path):
    """A .npy terrain centred on the site: a crater wall 500 m high 9 km away (3.0 deg) and a 12 m
    rim 200 m away that hides it from the ground (3.35-3.57 deg) but not from a 10 m mast."""
    n, spacing = 481, 50.0
    rows, cols = np.mgrid[0:n, 0:n]
    r = np.hypot(rows - 240, cols - 240) * spacing
    heights = 500.0 * np.exp(-0.5 * ((r - 9000.0) / 600.0) ** 2) + 12.0 * np.exp(-0.5 * ((r - 200.0) / 60.0) ** 2)
    np.save(tmp_path / "wall.npy", heights)
    return 'dem = "wall.npy"\ndem_spacing_m = 50.0'


def run_station(tmp_path, name, site="", solar=""):
    from twin.run import run
    from twin.scenario import load

    path = tmp_path / f"{name}.toml"
    path.write_text(STATION.format(site=site, solar=solar))
    return run(load(path), runtime="local", out=tmp_path / name)


def test_an_elevation_model_in_the_scenario_darkens_the_arrays_and_a_mast_height_matters(tmp_path):
    site = walled_site(tmp_path)
    flat = run_station(tmp_path, "flat", 'terrain = "flat"')
    walled = run_station(tmp_path, "walled", site)
    low = run_station(tmp_path, "low", site, "mast_height_m = 0.0")
    generated = {k: s["modules"]["energy"]["generated_kwh"] for k, s in (("flat", flat), ("walled", walled), ("low", low))}
    # Amundsen's Sun stays below 7 deg: a 3 deg wall takes a large part of it, the rim more.
    assert generated["walled"] < 0.7 * generated["flat"]
    assert generated["low"] < 0.95 * generated["walled"]


def test_a_bad_elevation_model_in_the_scenario_names_the_field(tmp_path):
    from twin.scenario import ScenarioError, load

    for site, field in (('dem = "nowhere.tif"', "site.dem"), ('dem = "x.npy"', "site.dem_spacing_m"),
                        ('dem = "wall.npy"\ndem_spacing_m = 100.0\nhorizon_mask = [[0.0, 1.0]]', "site")):
        np.save(tmp_path / "x.npy", np.zeros((4, 4)))
        walled_site(tmp_path)
        path = tmp_path / "bad.toml"
        path.write_text(STATION.format(site=site, solar=""))
        with pytest.raises(ScenarioError) as refused:
            load(path)
        assert field in str(refused.value), str(refused.value)


def test_the_antennas_horizon_cuts_the_direct_link(tmp_path):
    """Amundsen sees the Earth at most a few degrees up: the same walls that darken the arrays hide
    it from the antennas for part of the time the flat site has a direct link."""
    site = walled_site(tmp_path)
    flat = run_station(tmp_path, "flat-link")["modules"]["communications"]
    walled = run_station(tmp_path, "walled-link", site)["modules"]["communications"]
    assert 0 < walled["dte_hours"] < flat["dte_hours"]
