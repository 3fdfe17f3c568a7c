"""Campaign speed: the quickstart station for one (and ten) simulated years.

    python bench/campaign.py          # full: 1-year and 10-year runs, both runtimes
    python bench/campaign.py --quick  # 1-month runs, for a smoke check

Figures (last line, one JSON object; "short" is one year, "long" ten years; --quick: one and
three months):
- ray_short_cold_wall_s: the short run with the Ray runtime, starting the local Ray cluster included.
- ray_over_local_wall: Ray runtime / local runtime wall time for the same run, the Ray cluster
  already up (as in a sweep or on a real cluster); both start their subsystems and write telemetry.
- ray_over_local_cold_wall: the same with the Ray run starting its own cluster.
- ray_over_local_simulate: the same ratio for the simulation phase only (windows exchanged and
  telemetry written, actor start excluded).
- peak_rss_ratio_long_over_short: peak memory of the long run over the short run (local runtime,
  each in a fresh process, telemetry streamed to disk).
- ray_long_wall_s: the long run with the Ray runtime (cluster up).
- checkpoint_overhead: the long run with the local runtime, 30-day checkpoints (the default) over
  the same run with checkpoints off (target <= 1.1); best of two each.
- roadmap_ray_wall_s: the full ILRS roadmap campaign (roadmap-amundsen, 2026-2040, six modules) with
  the Ray runtime (cluster up); roadmap_local_wall_s: the same with the local runtime.
  --quick: one month of it (July 2035). roadmap_telemetry_mb: the Parquet it writes (all instances).
  The roadmap is run twice with the local runtime: first with an empty table cache
  (roadmap_local_cold_cache_wall_s: the ephemeris grids built), then again (roadmap_local_wall_s:
  the grids read from the cache, as in every later run of a site study).
- roadmap_local_no_thermal_wall_s, roadmap_local_flat_no_thermal_wall_s: the roadmap (local, cache
  warm) without its thermal instance, and also without its built-in terrain; roadmap_terrain_cost
  and roadmap_thermal_cost are the ratios of each addition. builtin_horizons_cold_s: the built-in
  terrain of Amundsen and its horizons at four heights, computed from nothing (cache off).

Baselines, bare Ray in the same run (what the Ray runtime cannot go below on this machine):
- bare_ray_cold_s: ray.init(), as many empty actors as the quickstart has instances (same CPU
  request), one call each, ray.shutdown().
- bare_ray_actors_s: the same actors on the warm cluster (best of three).
- ray_over_local_wall_floor: (local wall + bare_ray_actors_s) / local wall, the lowest
  ray_over_local_wall that actor start alone allows.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twin.clock import parse_utc  # noqa: E402
from twin.run import run  # noqa: E402
from twin.scenario import load  # noqa: E402


def scenario(end: str):
    return load("quickstart").with_end(parse_utc(end))


def timed(spec, runtime: str, out: Path) -> dict:
    t0 = time.perf_counter()
    summary = run(spec, runtime=runtime, out=out)
    summary["call_s"] = time.perf_counter() - t0
    return summary


def peak_rss_mb(end: str, out: Path) -> float:
    """Peak RSS of a fresh process running the scenario with the local runtime."""
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "from pathlib import Path\n"
        "from twin.clock import parse_utc\nfrom twin.run import run\nfrom twin.scenario import load\n"
        "run(load('quickstart').with_end(parse_utc(%r)), runtime='local', out=Path(%r))\n"
        # VmHWM, not ru_maxrss: the latter keeps this (parent) process's peak across fork and exec.
        "print([int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')][0] / 1024)\n"
    ) % (str(ROOT), end, str(out))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def bare_actors(n: int, cpus: float) -> float:
    import ray

    @ray.remote(num_cpus=cpus)
    class Empty:
        def ping(self) -> int:
            return 1

    t0 = time.perf_counter()
    actors = [Empty.remote() for _ in range(n)]
    ray.get([a.ping.remote() for a in actors])
    elapsed = time.perf_counter() - t0
    for a in actors:
        ray.kill(a)
    return elapsed


def without_thermal(spec):
    """The station without thermal control: the energy system's own fixed survival heaters."""
    from twin.scenario import from_data

    data = spec.to_data()
    data["modules"] = {id: m for id, m in data["modules"].items() if m.get("kind", id) != "thermal"}
    data["modules"]["energy"].pop("survival", None)
    return from_data(data, f"{spec.scenario.name} without thermal")


def builtin_horizons_s() -> float:
    """Roadmap-amundsen's terrain from nothing: the synthetic model and its horizons at the three
    heights its instances use (ground, antenna, mast), the cache off."""
    from twin.environment import morphometry, terrain
    from twin.environment.ephemeris import SITES

    saved = os.environ.get("ILRS_TWIN_CACHE")
    os.environ["ILRS_TWIN_CACHE"] = "off"
    morphometry._heights.cache_clear()
    try:
        t0 = time.perf_counter()
        model = morphometry.site_model("amundsen")
        for height in (0.0, 1.0, 3.0, 10.0):
            terrain.horizon(model, *SITES["amundsen"], height)
        return time.perf_counter() - t0
    finally:
        if saved is None:
            del os.environ["ILRS_TWIN_CACHE"]
        else:
            os.environ["ILRS_TWIN_CACHE"] = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one-month runs instead of one and ten years")
    args = parser.parse_args()
    short_end, long_end = ("2030-02-01T00:00:00Z", "2030-04-01T00:00:00Z") if args.quick else ("2031-01-01T00:00:00Z", "2040-01-01T00:00:00Z")
    figures: dict = {"short": short_end, "long": long_end, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # A table cache of its own, empty at the start: the figures never depend on earlier runs.
        os.environ["ILRS_TWIN_CACHE"] = str(tmp / "cache")
        import ray

        from twin.station import Station

        n_instances = len(Station(scenario(short_end)).ids)
        t0 = time.perf_counter()
        ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        bare_actors(n_instances, 0.25)
        ray.shutdown()
        figures["bare_ray_cold_s"] = round(time.perf_counter() - t0, 2)
        cold = timed(scenario(short_end), "ray", tmp / "cold")  # starts and stops its own cluster
        figures["ray_short_cold_wall_s"] = round(cold["call_s"], 2)
        print(f"ray, cold cluster: {cold['call_s']:.2f} s (startup {cold['startup_s']:.2f} s, simulate {cold['simulate_s']:.2f} s)", file=sys.stderr)

        ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        try:
            time.sleep(2.0)  # let the cluster's own start-up settle before timing on it
            figures["bare_ray_actors_s"] = round(min(bare_actors(n_instances, 0.25) for _ in range(3)), 3)
            best: dict[str, dict] = {}
            for attempt in range(3):
                for runtime in ("local", "ray"):
                    s = timed(scenario(short_end), runtime, tmp / f"{runtime}{attempt}")
                    if runtime not in best or s["call_s"] < best[runtime]["call_s"]:
                        best[runtime] = s
            local, remote = best["local"], best["ray"]
            print(f"local: {local['call_s']:.2f} s (simulate {local['simulate_s']:.2f} s); ray, warm cluster: {remote['call_s']:.2f} s (simulate {remote['simulate_s']:.2f} s)", file=sys.stderr)
            figures["local_short_wall_s"] = round(local["call_s"], 3)
            figures["ray_short_warm_wall_s"] = round(remote["call_s"], 3)
            figures["ray_over_local_wall"] = round(remote["call_s"] / local["call_s"], 3)
            figures["ray_over_local_wall_floor"] = round((local["call_s"] + figures["bare_ray_actors_s"]) / local["call_s"], 3)
            figures["ray_over_local_cold_wall"] = round(cold["call_s"] / local["call_s"], 3)
            figures["ray_over_local_simulate"] = round(remote["simulate_s"] / local["simulate_s"], 3)
            figures["exchange_rounds_short"] = local["exchange"]["proposals"]
            figures["ray_short_speedup"] = round(remote["speedup"])
            long = timed(scenario(long_end), "ray", tmp / "long")
            figures["ray_long_wall_s"] = round(long["call_s"], 2)
            print(f"ray, {long_end[:4]}: {long['call_s']:.2f} s", file=sys.stderr)
            roadmap = load("roadmap-amundsen")
            if args.quick:
                roadmap = roadmap.with_span(parse_utc("2035-07-01T00:00:00Z"), parse_utc("2035-08-01T00:00:00Z"))
            for label, runtime in (("local_cold_cache", "local"), ("ray", "ray"), ("local", "local")):
                r = timed(roadmap, runtime, tmp / f"roadmap-{label}")
                figures[f"roadmap_{label}_wall_s"] = round(r["call_s"], 2)
                if label == "local":
                    written = sum(p.stat().st_size for p in (tmp / "roadmap-local" / "telemetry").rglob("*.parquet"))
                    figures["roadmap_telemetry_mb"] = round(written / 1e6, 1)
                print(f"roadmap-amundsen, {label}: {r['call_s']:.2f} s (startup {r['startup_s']:.2f} s, simulate {r['simulate_s']:.2f} s)", file=sys.stderr)
            # What terrain and thermal control cost: the same station without them (best of two each).
            variants = {"local_no_thermal": without_thermal(roadmap), "local_flat_no_thermal": without_thermal(roadmap.with_values("site", terrain="flat"))}
            for label, spec in variants.items():
                figures[f"roadmap_{label}_wall_s"] = round(min(timed(spec, "local", tmp / f"roadmap-{label}-{k}")["call_s"] for k in range(2)), 2)
            figures["roadmap_terrain_cost"] = round(figures["roadmap_local_no_thermal_wall_s"] / figures["roadmap_local_flat_no_thermal_wall_s"], 3)
            figures["roadmap_thermal_cost"] = round(figures["roadmap_local_wall_s"] / figures["roadmap_local_no_thermal_wall_s"], 3)
            figures["builtin_horizons_cold_s"] = round(builtin_horizons_s(), 3)
            print(f"roadmap-amundsen, local: flat and no thermal {figures['roadmap_local_flat_no_thermal_wall_s']:.2f} s, terrain {figures['roadmap_local_no_thermal_wall_s']:.2f} s, "
                  f"terrain and thermal {figures['roadmap_local_wall_s']:.2f} s; built-in horizons from nothing {figures['builtin_horizons_cold_s']:.2f} s", file=sys.stderr)
        finally:
            ray.shutdown()
        walls = {}
        for every in ("off", "30d") * 2:
            r = timed(scenario(long_end).with_values("checkpoint", every=every), "local", tmp / f"ckpt-{every}-{len(walls)}")
            walls[every] = min(walls.get(every, float("inf")), r["call_s"])
        figures["checkpoint_overhead"] = round(walls["30d"] / walls["off"], 3)
        print(f"checkpoints, local, {long_end[:4]}: off {walls['off']:.2f} s, every 30 d {walls['30d']:.2f} s", file=sys.stderr)
        one = peak_rss_mb(short_end, tmp / "rss1")
        ten = peak_rss_mb(long_end, tmp / "rss10")
        figures["peak_rss_mb_short"] = round(one, 1)
        figures["peak_rss_mb_long"] = round(ten, 1)
        figures["peak_rss_ratio_long_over_short"] = round(ten / one, 3)
        print(f"peak memory, local runtime: {one:.0f} MB (short), {ten:.0f} MB (long)", file=sys.stderr)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
