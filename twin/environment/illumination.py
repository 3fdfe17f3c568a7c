"""Illumination maps: for every cell of an elevation model (or every k-th), the fraction of a span
the Sun is seen from a height above the ground, and the longest darkness — for choosing a site
inside a tile (a ridge that is lit 90 % of the year against a crater floor lit a third of it).

Vectorised over the cells. The horizon of every cell is built once per azimuth bin by marching
the whole grid outward at once (nearest-cell shifts at geometrically growing distances, on the
sphere: the elevation of terrain at arc distance s is atan2((R + z') cos(s/R) - (R + eye),
(R + z') sin(s/R))). The Sun's direction is sampled at the tile's centre from the ephemeris; in
each cell its elevation is corrected for the tilt of the local vertical across the tile (a cell
d metres towards the Sun sees it d / R radians higher), which at the poles is as large as the
Sun's whole daily swing. Azimuths are those of the centre's meridian, which for a tile of tens of
kilometres is what the grid's own directions are.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .ephemeris import AU_KM, SUN_RADIUS_KM
from .sky import SkyGrid
from .terrain import MOON_RADIUS_M, ElevationModel

__all__ = ["IlluminationMap", "illumination"]


@dataclass
class IlluminationMap:
    rows: np.ndarray  # (n, m) indices into the elevation model
    cols: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    ground_m: np.ndarray
    lit_frac: np.ndarray  # mean fraction of the solar disk seen
    sunlit_frac: np.ndarray  # fraction of the instants with any of the disk seen
    longest_dark_h: np.ndarray
    height_m: float
    step_s: float
    instants: int


def _offsets_m(model: ElevationModel, lat: float, lon: float):
    """Metres east and north per index step (rows, cols) at the centre, from the model's axes."""
    north, east = model.axes(lat, lon)  # index offsets per metre
    per_metre = np.column_stack([east, north])  # [[drow/de, drow/dn], [dcol/de, dcol/dn]]
    return np.linalg.inv(per_metre), north, east  # (e, n) per (drow, dcol)


def _shifted(z: np.ndarray, every: int, di: int, dj: int, shape: tuple[int, int]) -> np.ndarray:
    """z at (i * every + di, j * every + dj) for the subgrid's (i, j); NaN off the model."""
    out = np.full(shape, np.nan)
    n_rows, n_cols = z.shape

    def span(d: int, n: int, m: int) -> tuple[int, int]:
        # 0 <= i * every + d <= n - 1
        return max(0, -(d // every)), min(m, (n - 1 - d) // every + 1)

    i0, i1 = span(di, n_rows, shape[0])
    j0, j1 = span(dj, n_cols, shape[1])
    if i0 < i1 and j0 < j1:
        out[i0:i1, j0:j1] = z[i0 * every + di:(i1 - 1) * every + di + 1:every, j0 * every + dj:(j1 - 1) * every + dj + 1:every]
    return out


def horizon_maps(model: ElevationModel, every: int, height_m: float, azimuths_deg: np.ndarray,
                 north: np.ndarray, east: np.ndarray, to_m: np.ndarray) -> np.ndarray:
    """Horizon elevation (deg) of every ``every``-th cell at each azimuth: (azimuths, rows, cols)."""
    R = MOON_RADIUS_M
    z = model.heights_m
    ground = z[::every, ::every]
    shape = ground.shape
    eye = ground + height_m
    pixel_m = 1.0 / max(np.hypot(*north), np.hypot(*east))
    reach_m = math.hypot(*z.shape) / min(np.hypot(*north), np.hypot(*east))
    # Half a pixel at first, then 6 % further each time: near terrain finely, far terrain coarsely.
    distances = [0.5 * pixel_m * k for k in range(1, 9)]
    while distances[-1] < reach_m:
        distances.append(distances[-1] * 1.06)
    out = np.empty((azimuths_deg.size, *shape), dtype=np.float64)
    limb = np.degrees(-np.arccos((R + ground) / (R + eye)))
    for a, az in enumerate(np.radians(azimuths_deg)):
        drow = math.cos(az) * north[0] + math.sin(az) * east[0]
        dcol = math.cos(az) * north[1] + math.sin(az) * east[1]
        best = np.full(shape, -np.inf)
        last = (0, 0)
        for s in distances:
            di, dj = int(round(s * drow)), int(round(s * dcol))
            if (di, dj) == last:
                continue  # the same cell as the step before
            last = (di, dj)
            if abs(di) >= z.shape[0] and abs(dj) >= z.shape[1]:
                break
            zz = _shifted(z, every, di, dj, shape)
            theta = math.hypot(*(to_m @ (di, dj))) / R  # the cell actually sampled
            # tan of the elevation angle; atan at the end (monotonic, so the max commutes).
            t = ((R + zz) * math.cos(theta) - (R + eye)) / ((R + zz) * math.sin(theta))
            np.fmax(best, t, out=best)
        out[a] = np.maximum(np.degrees(np.arctan(best)), limb)
    return out


def illumination(model: ElevationModel, start_unix_s: float, end_unix_s: float, height_m: float = 0.0, step_s: float = 3600.0,
                 every: int = 1, azimuth_step_deg: float = 1.0, progress=None) -> IlluminationMap:
    """Lit fraction and longest darkness for every ``every``-th cell over [start, end)."""
    if not (math.isfinite(height_m) and 0.0 <= height_m <= 1000.0):
        raise ValueError(f"height: {height_m} m is outside 0 to 1000 m above the ground")
    if not (isinstance(every, int) and 1 <= every <= 10_000):
        raise ValueError(f"every: {every} must be a whole number of cells, 1 or more")
    if not (math.isfinite(step_s) and 60.0 <= step_s <= 86400.0):
        raise ValueError(f"step: {step_s} s must lie within 60 s and 1 d")
    if not end_unix_s > start_unix_s:
        raise ValueError("end: must be after start")
    z = model.heights_m
    grid_rows, grid_cols = np.mgrid[0:z.shape[0]:every, 0:z.shape[1]:every]
    shape = grid_rows.shape
    valid = np.isfinite(z[::every, ::every]).ravel()
    centre = ((z.shape[0] - 1) / 2.0, (z.shape[1] - 1) / 2.0)
    lat_c, lon_c = (float(v[0]) for v in model.latlon(np.array([centre[0]]), np.array([centre[1]])))
    to_m, north, east = _offsets_m(model, lat_c, lon_c)
    metres = to_m @ np.vstack([grid_rows.ravel() - centre[0], grid_cols.ravel() - centre[1]])  # east, north of the centre

    azimuths = np.arange(0.0, 360.0, azimuth_step_deg)
    if progress:
        progress(f"horizons of {valid.sum():,} cells at {azimuths.size} azimuths")
    horizons = horizon_maps(model, every, height_m, azimuths, north, east, to_m).reshape(azimuths.size, -1)
    horizons[:, ~valid] = 90.0  # missing data: never lit (reported as missing below)
    horizons = horizons.astype(np.float32)

    times = np.arange(start_unix_s, end_unix_s, step_s, dtype=np.float64)
    if progress:
        progress(f"the Sun at {times.size:,} instants")
    sky = SkyGrid(lat_c, lon_c, float(times[0]), float(times[-1])).sample(times, ["sun_elevation_deg", "sun_azimuth_deg", "sun_distance_au", "sun_eclipsed_frac"])
    el, az = np.radians(sky["sun_elevation_deg"]), np.radians(sky["sun_azimuth_deg"])
    sun_e, sun_n, sun_u = np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)
    radius_deg = np.degrees(np.arcsin(SUN_RADIUS_KM / (sky["sun_distance_au"] * AU_KM)))
    # Lunar eclipses: the Earth over the Sun, the same for the whole tile.
    unhidden = (1.0 - sky["sun_eclipsed_frac"]).astype(np.float32)
    east_r = (metres[0] / MOON_RADIUS_M).astype(np.float32)
    north_r = (metres[1] / MOON_RADIUS_M).astype(np.float32)

    cells = valid.size
    lit = np.zeros(cells)
    sunlit = np.zeros(cells)
    run = np.zeros(cells, dtype=np.int64)
    longest = np.zeros(cells, dtype=np.int64)
    bins = azimuths.size
    for lo in range(0, times.size, 128):
        sl = slice(lo, min(lo + 128, times.size))
        # Sun elevation in each cell: the centre's, tilted by the cell's offset along the Sun.
        sin_el = sun_u[sl, None].astype(np.float32) + east_r[None, :] * sun_e[sl, None].astype(np.float32) + north_r[None, :] * sun_n[sl, None].astype(np.float32)
        cell_el = np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0)))
        x = np.degrees(az[sl]) / azimuth_step_deg
        i0 = np.floor(x).astype(np.intp) % bins
        f = (x - np.floor(x)).astype(np.float32)[:, None]
        mask = horizons[i0] * (1.0 - f) + horizons[(i0 + 1) % bins] * f  # (times, cells)
        seen = _disk_seen((cell_el - mask) / radius_deg[sl, None].astype(np.float32)) * unhidden[sl, None]
        lit += seen.sum(axis=0, dtype=np.float64)
        sunlit += (seen > 0).sum(axis=0)
        for dark in seen <= 0.0:  # time order: the run of darkness continues across chunks
            run += 1
            run[~dark] = 0
            np.maximum(longest, run, out=longest)
    n = times.size
    lat, lon = model.latlon(grid_rows.ravel().astype(float), grid_cols.ravel().astype(float))
    missing = np.where(valid, 1.0, np.nan)
    return IlluminationMap(
        rows=grid_rows, cols=grid_cols, lat_deg=lat.reshape(shape), lon_deg=lon.reshape(shape),
        ground_m=z[::every, ::every].copy(), lit_frac=(lit / n * missing).reshape(shape), sunlit_frac=(sunlit / n * missing).reshape(shape),
        longest_dark_h=(longest * step_s / 3600.0 * missing).reshape(shape), height_m=float(height_m), step_s=float(step_s), instants=n,
    )


def _disk_seen(x: np.ndarray) -> np.ndarray:
    """:func:`twin.environment.sky.disk_fraction_above` of x = height / radius, computing the
    circular segment only where the horizon crosses the disk (|x| < 1, a small part of a map)."""
    out = (x >= 1.0).astype(x.dtype)
    partial = np.abs(x) < 1.0
    if partial.any():
        p = x[partial]
        out[partial] = 1.0 - (np.arccos(p) - p * np.sqrt(1.0 - p * p)) / math.pi
    return out


COLUMNS = {
    "row": ("1", "row index in the elevation model"),
    "col": ("1", "column index in the elevation model"),
    "latitude_deg": ("deg", "selenographic latitude of the cell"),
    "longitude_deg": ("deg", "selenographic longitude of the cell"),
    "ground_m": ("m", "terrain height above the 1737.4 km sphere"),
    "lit_frac": ("fraction", "mean fraction of the solar disk seen over the span"),
    "sunlit_frac": ("fraction", "fraction of the instants with any of the solar disk seen"),
    "longest_dark_h": ("h", "longest run of instants with none of the solar disk seen"),
}


def write(result: IlluminationMap, folder, about: dict) -> list:
    """``illumination.parquet`` (one row per cell, units in the field metadata) and
    ``illumination.png`` (both maps with colour bars), each written whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from twin.files import write_whole

    data = {
        "row": result.rows.ravel().astype(np.int32), "col": result.cols.ravel().astype(np.int32),
        "latitude_deg": result.lat_deg.ravel(), "longitude_deg": result.lon_deg.ravel(), "ground_m": result.ground_m.ravel(),
        "lit_frac": result.lit_frac.ravel(), "sunlit_frac": result.sunlit_frac.ravel(), "longest_dark_h": result.longest_dark_h.ravel(),
    }
    fields = [pa.field(k, pa.from_numpy_dtype(v.dtype), metadata={"unit": COLUMNS[k][0], "description": COLUMNS[k][1]}) for k, v in data.items()]
    table = pa.Table.from_arrays([pa.array(v) for v in data.values()], schema=pa.schema(fields, metadata={f"ilrs_twin.{k}": str(v) for k, v in about.items()}))
    return write_whole(folder, [("illumination.parquet", lambda p: pq.write_table(table, p, compression="zstd")),
                                ("illumination.png", lambda p: _plot(result, about, p))])


def _plot(result: IlluminationMap, about: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), constrained_layout=True)
    panels = ((result.lit_frac * 100.0, "lit (% of the time, mean disk fraction)", "inferno", (0, 100)),
              (result.longest_dark_h, "longest darkness (h)", "viridis_r", (0, None)))
    for ax, (values, label, cmap, (lo, hi)) in zip(axes, panels):
        image = ax.imshow(values, cmap=cmap, vmin=lo, vmax=hi if hi is not None else np.nanmax(values) or 1.0, origin="upper", interpolation="nearest")
        ax.set_title(label)
        ax.set_xlabel("column")
        ax.set_ylabel("row (north up for a .npy)")
        fig.colorbar(image, ax=ax, shrink=0.85)
    fig.suptitle(f"{about.get('dem', '')}: {about.get('start', '')} to {about.get('end', '')}, {result.height_m:g} m above the ground, every {result.step_s / 3600:g} h")
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
