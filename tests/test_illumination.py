"""Illumination maps against the single-site computation: flat tiles (where only the tilt of the
local vertical across the tile matters), a crater with a central peak (ridge-top illumination),
and the horizon of one cell."""
from __future__ import annotations

import numpy as np
import pytest

from twin.clock import parse_utc, unix_s
from twin.environment.illumination import illumination
from twin.environment.sky import SkyGrid
from twin.environment.terrain import GridModel, horizon

START, END = unix_s(parse_utc("2030-01-01T00:00:00Z")), unix_s(parse_utc("2030-03-01T00:00:00Z"))
STEP = 1800.0


def site_lit(lat, lon, mask=None):
    times = np.arange(START, END, STEP)
    seen = SkyGrid(lat, lon, START, END, horizon=mask).sample(times, ["sun_visible_frac"])["sun_visible_frac"]
    dark = np.concatenate([[0], (seen <= 0).astype(int), [0]])
    edges = np.flatnonzero(np.diff(dark))
    longest = (edges[1::2] - edges[::2]).max() * STEP / 3600.0 if edges.size else 0.0
    return seen.mean(), longest


def test_a_flat_polar_tile_matches_each_cells_own_sky():
    """12 km across at 89 S: the Sun's elevation differs by up to 0.2 deg between its edges, which
    the map gets from the tilt of the vertical; each cell's result equals the site computation at
    that cell's own latitude and longitude."""
    model = GridModel(np.zeros((61, 61)), 200.0, -89.0, 30.0)
    m = illumination(model, START, END, height_m=0.0, step_s=STEP, every=10)
    assert m.lit_frac.shape == (7, 7)
    for i, j in ((3, 3), (0, 0), (6, 6), (0, 6), (6, 0)):
        lit, longest = site_lit(m.lat_deg[i, j], m.lon_deg[i, j])
        assert m.lit_frac[i, j] == pytest.approx(lit, abs=0.004), (i, j)
        assert abs(m.longest_dark_h[i, j] - longest) <= 2 * STEP / 3600.0, (i, j)
    assert np.nanmax(m.lit_frac) - np.nanmin(m.lit_frac) > 0.01  # the tilt matters at the pole


def test_a_central_peak_is_lit_longer_than_the_crater_floor_and_a_mast_longer_still():
    n, spacing = 201, 100.0
    rows, cols = np.mgrid[0:n, 0:n]
    r = np.hypot(rows - 100, cols - 100) * spacing
    heights = 600.0 * np.exp(-0.5 * ((r - 8000.0) / 700.0) ** 2) + 900.0 * np.exp(-0.5 * (r / 600.0) ** 2)
    model = GridModel(heights, spacing, -88.5, 0.0)
    ground = illumination(model, START, END, height_m=0.0, step_s=STEP, every=25)
    mast = illumination(model, START, END, height_m=50.0, step_s=STEP, every=25)
    peak, floor = (4, 4), (4, 2)  # the centre, and 5 km from it on the floor
    assert ground.lit_frac[peak] > ground.lit_frac[floor] + 0.1
    assert ground.longest_dark_h[peak] < ground.longest_dark_h[floor]
    assert (mast.lit_frac >= ground.lit_frac - 1e-6).all() and (mast.lit_frac > ground.lit_frac + 0.05).any()


def test_a_cell_agrees_with_its_exact_horizon():
    n, spacing = 161, 50.0
    rows, cols = np.mgrid[0:n, 0:n]
    r = np.hypot(rows - 80, cols - 80) * spacing
    model = GridModel(250.0 * np.exp(-0.5 * ((r - 3000.0) / 300.0) ** 2), spacing, 20.0, -40.0)
    m = illumination(model, START, END, height_m=2.0, step_s=STEP, every=80)
    exact = horizon(model, 20.0, -40.0, 2.0, 0.5).mask()
    lit, longest = site_lit(20.0, -40.0, exact)
    assert m.lit_frac[1, 1] == pytest.approx(lit, abs=0.01)
    assert abs(m.longest_dark_h[1, 1] - longest) <= 2 * STEP / 3600.0


def test_bad_map_requests_name_the_field():
    model = GridModel(np.zeros((5, 5)), 10.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="^height: "):
        illumination(model, START, END, height_m=-1.0)
    with pytest.raises(ValueError, match="^every: "):
        illumination(model, START, END, every=0)
    with pytest.raises(ValueError, match="^end: "):
        illumination(model, END, START)
