"""One run of a scenario: build the sky, start a runtime, conduct the windows, write the outputs."""
from __future__ import annotations

import resource
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

from twin.clock import iso
from twin.conductor import Conductor
from twin.environment.station import StationEnvironment
from twin.models.base import LOAD_CLASSES
from twin.scenario import Scenario
from twin.telemetry import atomic_write_json, atomic_write_text

RUNTIMES = ("ray", "local")


def make_runtime(scenario: Scenario, runtime: str, telemetry_dir: Path | None = None, address: str | None = None, actor_cpus: float = 0.25):
    if runtime == "local":
        from twin.runtime.local import LocalRuntime

        return LocalRuntime(scenario, telemetry_dir)
    if runtime == "ray":
        from twin.runtime.ray_runtime import RayRuntime

        return RayRuntime(scenario, telemetry_dir, address=address, actor_cpus=actor_cpus)
    raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")


def make_sky(scenario: Scenario) -> StationEnvironment:
    return StationEnvironment(scenario)


def summarize(scenario: Scenario, runtime: str, conductor: Conductor, timings: dict[str, float]) -> dict:
    clock = scenario.clock
    variables = conductor.variables()
    energy = variables["energy"]
    simulated_s = conductor.step * clock.step_s
    return {
        "scenario": scenario.scenario.name,
        "site": scenario.site.label,
        "runtime": runtime,
        "start": iso(clock.start_unix_s),
        "end": iso(clock.start_unix_s + simulated_s),
        "step_s": clock.step_s,
        "steps": conductor.step,
        "energy": {
            "generated_kwh": energy["generated_kwh"],
            "solar_kwh": energy["solar_kwh"],
            "fission_kwh": energy["fission_kwh"],
            "demand_kwh": energy["demand_kwh"],
            "delivered_kwh": energy["delivered_kwh"],
            "unserved_kwh": energy["unserved_kwh"],
            "curtailed_kwh": energy["curtailed_kwh"],
            "storage_losses_kwh": energy["losses_kwh"],
            "final_storage_kwh": energy["storage_kwh"],
            "min_soc_frac": energy["min_storage_soc_frac"],
            "shed_hours": {cls.key: energy[f"{cls.key}_shed_hours"] for cls in LOAD_CLASSES},
        },
        "modules": variables,
        "exchange": {
            "windows": conductor.stats.windows,
            "cut_windows": conductor.stats.cut,
            "proposals": conductor.stats.proposals,
            "max_window_steps": conductor.window_steps,
        },
        # startup_s: sky grid and runtime start (Ray cluster and actors); simulate_s: the windows
        # exchanged and telemetry written; wall_s: the whole call, shutdown included.
        **{key: round(value, 3) for key, value in timings.items()},
        "simulated_s": simulated_s,
    }


def run(
    scenario: Scenario,
    runtime: str = "ray",
    out: Path | None = None,
    address: str | None = None,
    actor_cpus: float = 0.25,
    on_progress: Callable[[int], None] | None = None,
    on_ready: Callable[[dict[str, str]], None] | None = None,
    window_steps: int | None = None,
) -> dict:
    """Run ``scenario`` to its end; write telemetry, summary and resolved scenario under ``out``.

    ``on_ready`` gets each subsystem's gRPC endpoint (Ray runtime) once all serve, before the first window.
    """
    t0 = time.perf_counter()
    clock = scenario.clock
    telemetry_dir = None if out is None else out / "telemetry"
    with ExitStack() as stack:
        sky = make_sky(scenario)
        rt = stack.enter_context(make_runtime(scenario, runtime, telemetry_dir, address, actor_cpus))
        endpoints = {h.name: h.endpoint for h in rt.handles if hasattr(h, "endpoint")}
        if endpoints and on_ready is not None:
            on_ready(endpoints)
        conductor = Conductor(clock, rt.handles, sky, window_steps or scenario.window_steps, on_progress=on_progress)
        t1 = time.perf_counter()
        try:
            conductor.advance(clock.n_steps)
        except BaseException:
            for handle in rt.handles:
                handle.finish(discard=True)
            raise
        for handle in rt.handles:
            handle.finish()
        summary = summarize(scenario, runtime, conductor, {"startup_s": t1 - t0, "simulate_s": time.perf_counter() - t1})
        if endpoints:
            summary["endpoints"] = endpoints
    summary["wall_s"] = round(time.perf_counter() - t0, 3)
    summary["speedup"] = summary["simulated_s"] / summary["wall_s"]
    summary["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if out is not None:
        atomic_write_text(out / "scenario.toml", scenario.to_toml())
        atomic_write_json(out / "summary.json", summary)
    return summary
