"""One full-physics episode from the command line: the task and terrain as a user writes them, and
what the episode leaves in its folder (``episode.parquet``, ``episode.json``, ``track.png``)."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from physics.episode import Track
from physics.robots import LUNAR_GRAVITY_M_S2, HopperBody
from physics.terrain import Procedural, Tile, from_elevation_model, procedural

_HOP = re.compile(r"hop\s+([0-9.]+)\s*m\s+at\s+([0-9.]+)\s*deg(?:\s+towards\s+([0-9.]+)\s*deg)?", re.IGNORECASE)
_POINT = re.compile(r"(-?[0-9.]+),(-?[0-9.]+)")

COLUMNS = {
    "t_s": ("s", "time since the episode's start"),
    "x_m": ("m", "east of the tile's centre"),
    "y_m": ("m", "north of the tile's centre"),
    "z_m": ("m", "height of the body's origin"),
    "tilt_deg": ("deg", "the body's up axis from vertical"),
    "power_w": ("W", "electrical power drawn (hotel and drive)"),
}


@dataclass(frozen=True)
class Hop:
    range_m: float
    elevation_deg: float
    azimuth_deg: float

    def energy_j(self, body: HopperBody) -> float:
        """The spring energy for this range on level ground: v^2 = g R / sin(2 theta), E = m v^2 / (2 eta)."""
        v2 = LUNAR_GRAVITY_M_S2 * self.range_m / math.sin(math.radians(2 * self.elevation_deg))
        return body.mass_kg * v2 / (2.0 * body.spring_efficiency)


@dataclass(frozen=True)
class Traverse:
    waypoints: tuple[tuple[float, float], ...]


def parse_task(text: str, robot: str) -> Hop | Traverse:
    """``hop 12 m at 45 deg [towards 90 deg]`` for a hopper; ``traverse 20,0 20,20`` (waypoints,
    metres east and north of the tile's centre) for a rover."""
    text = text.strip()
    if robot == "hopper":
        m = _HOP.fullmatch(text)
        if not m:
            raise ValueError(f'task: {text!r} is not a hop; write "hop 12 m at 45 deg" (optionally "towards 90 deg", from north through east)')
        hop = Hop(float(m[1]), float(m[2]), float(m[3] or 90.0))
        if not (0 < hop.range_m <= 1000 and 0 < hop.elevation_deg < 90 and 0 <= hop.azimuth_deg < 360):
            raise ValueError("task: a hop needs a range of 0 to 1000 m, an elevation between 0 and 90 deg and an azimuth in [0, 360)")
        return hop
    words = text.split()
    if not words or words[0].lower() != "traverse" or len(words) < 2 or not all(_POINT.fullmatch(w) for w in words[1:]):
        raise ValueError(f'task: {text!r} is not a traverse; write "traverse 20,0 20,20" (waypoints in metres east,north of the tile\'s centre)')
    return Traverse(tuple((float(_POINT.fullmatch(w)[1]), float(_POINT.fullmatch(w)[2])) for w in words[1:]))


def terrain_from(spec: str, size_m: float, spacing_m: float, centre: tuple[float, float] | None, dem_spacing_m: float | None) -> Tile:
    """``seed:N`` for a procedural tile, or an elevation model's path (GeoTIFF, or .npy with its
    spacing) cut around ``centre``."""
    if spec.startswith("seed:"):
        try:
            seed = int(spec[5:])
        except ValueError:
            raise ValueError(f"terrain: {spec!r} needs an integer seed, as in seed:7") from None
        if seed < 0:
            raise ValueError("terrain: the seed must not be negative")
        return procedural(seed, Procedural(size_m=size_m, spacing_m=spacing_m))
    from twin.environment import terrain

    if centre is None:
        raise ValueError("terrain: an elevation model needs the tile's centre (--site, or --lat and --lon)")
    return from_elevation_model(terrain.load(Path(spec), dem_spacing_m, centre), *centre, size_m, spacing_m)


def write(folder: Path, tile: Tile, track: Track, about: dict) -> list[Path]:
    """The track as Parquet (units in the field metadata), the summary as JSON and a PNG of the
    track over the terrain, each written whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from twin.files import write_whole

    columns = track.columns()
    fields = [pa.field(k, pa.float64(), metadata={"unit": COLUMNS[k][0], "description": COLUMNS[k][1]}) for k in columns]
    table = pa.Table.from_arrays([pa.array(v) for v in columns.values()], schema=pa.schema(fields, metadata={f"ilrs_twin.{k}": str(v) for k, v in about.items()}))
    summary = {**about, "outcome": track.outcome, "duration_s": round(track.duration_s, 3), "distance_m": round(track.distance_m, 3),
               "energy_wh": round(track.energy_j / 3600.0, 4)}
    if track.first_contact_m is not None:
        summary["first_contact_m"] = [round(v, 3) for v in track.first_contact_m]
    return write_whole(folder, [("episode.parquet", lambda p: pq.write_table(table, p, compression="zstd")),
                                ("episode.json", lambda p: p.write_text(json.dumps(summary, indent=1) + "\n")),
                                ("track.png", lambda p: _plot(tile, track, summary, p))])


def _plot(tile: Tile, track: Track, summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, side) = plt.subplots(1, 2, figsize=(11, 4.8), constrained_layout=True, gridspec_kw={"width_ratios": [1.2, 1]})
    h = tile.half_m
    image = ax.imshow(tile.heights_m, extent=(-h, h, -h, h), origin="upper", cmap="gray")
    fig.colorbar(image, ax=ax, shrink=0.85, label="height (m)")
    ax.plot(track.x_m, track.y_m, color="tab:orange", lw=1.5)
    ax.plot(track.x_m[:1], track.y_m[:1], "o", color="tab:green", label="start")
    ax.plot(track.x_m[-1:], track.y_m[-1:], "s", color="tab:red", label=track.outcome)
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.legend(loc="upper right")
    side.plot(track.t_s, track.power_w, color="tab:blue")
    side.set_xlabel("time (s)")
    side.set_ylabel("power (W)", color="tab:blue")
    twin = side.twinx()
    twin.plot(track.t_s, track.z_m, color="tab:orange")
    twin.set_ylabel("height (m)", color="tab:orange")
    fig.suptitle(f"{summary.get('robot')} on {summary.get('terrain')}: {summary.get('task')} -> {track.outcome}, "
                 f"{track.distance_m:.1f} m in {track.duration_s:.0f} s, {track.energy_j / 3600:.2f} Wh")
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)

