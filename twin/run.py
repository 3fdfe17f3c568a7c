"""One run of a scenario: build the station and its sky, start a runtime, conduct the windows,
write the outputs; checkpoint as it goes and resume from the last checkpoint when asked."""
from __future__ import annotations

import resource
import shutil
import sys
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from twin.checkpoint import CheckpointStore
from twin.clock import iso
from twin.conductor import Conductor, scenario_sha256
from twin.environment.station import StationEnvironment
from twin.loads import LOAD_CLASSES
from twin.params import MILLIJOULES_PER_KWH
from twin.robotics.robot import ensure_tables
from twin.scenario import Scenario
from twin.station import Station
from twin.telemetry import atomic_write_json, atomic_write_text, parts

RUNTIMES = ("ray", "local")


class ResumeError(ValueError):
    """--resume cannot continue this output folder (the reason names what to do)."""


def make_runtime(scenario: Scenario, runtime: str, station: Station | None = None, environment=None, telemetry_dir: Path | None = None,
                 address: str | None = None, actor_cpus: float | None = None, on_endpoints=None, max_restarts: int = 3):
    station = station or Station(scenario)
    environment = environment or (lambda: StationEnvironment(scenario, station.models))
    if runtime == "local":
        from twin.runtime.local import LocalRuntime

        return LocalRuntime(scenario, station, environment() if callable(environment) else environment, telemetry_dir)
    if runtime == "ray":
        from twin.runtime.ray_runtime import RayRuntime

        return RayRuntime(scenario, station, environment, telemetry_dir, address=address, actor_cpus=actor_cpus,
                          on_endpoints=on_endpoints, max_restarts=max_restarts)
    raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")


def summarize(scenario: Scenario, station: Station, runtime: str, conductor: Conductor, timings: dict[str, float]) -> dict:
    clock = scenario.clock
    # In the model's own order whatever the runtime (a gRPC map keeps none).
    variables = {}
    for id, values in conductor.variables().items():
        model = station.models[id]
        order = list(model.variables(model.initial_state()))
        variables[id] = {key: values[key] for key in order if key in values} | {key: values[key] for key in values if key not in order}
    simulated_s = conductor.step * clock.step_s
    summary = {
        "scenario": scenario.scenario.name,
        "site": scenario.site.label,
        "runtime": runtime,
        "start": iso(clock.start_unix_s),
        "end": iso(clock.start_unix_s + simulated_s),
        "step_s": clock.step_s,
        "steps": conductor.step,
    }
    summary["warnings"] = scenario.warning_lines  # e.g. an instance that lands after the end
    for id in station.of_kind("energy"):
        initial_kwh = station.models[id].initial_state().storage_mj / MILLIJOULES_PER_KWH
        summary["energy"] = {**energy_totals(variables[id]), "initial_storage_kwh": initial_kwh, "final_storage_kwh": variables[id]["storage_kwh"],
                             "min_storage_soc_frac": variables[id]["min_storage_soc_frac"]}
        summary["years"] = per_year(station, id, conductor, variables[id])
    summary["modules"] = variables
    for key in ("energy", "years", "modules"):
        if key in summary:
            summary[key] = tidy(summary[key])
    summary["kinds"] = {id: model.kind for id, model in station.models.items()}
    summary["exchange"] = {
        "windows": conductor.stats.windows,
        "cut_windows": conductor.stats.cut,
        "proposals": conductor.stats.proposals,
        "max_window_steps": conductor.window_steps,
    }
    # Checkpoints this station has at its end (written ones, when the run has an output folder).
    summary["checkpoints"] = len(conductor.checkpoints)
    # startup_s: sky grids and runtime start (Ray cluster and actors); simulate_s: the windows
    # exchanged and telemetry written; wall_s: the whole call, shutdown included.
    summary.update({key: round(value, 3) for key, value in timings.items()})
    summary["simulated_s"] = simulated_s
    return summary


# Decimals that mean something for each unit (the ledgers count mJ, bytes, grams, seconds).
_DECIMALS = (("_kwh", 3), ("_kg", 3), ("_hours", 4), ("_frac", 6), ("_kwh_per_kg", 3))


def tidy(value, key: str = ""):
    """Counts and bytes as integers, other figures rounded to what they mean."""
    if isinstance(value, dict):
        # A table of one quantity (shed_hours by class) takes its unit from its own name.
        return {k: tidy(v, k if "_" in k else key) for k, v in value.items()}
    if isinstance(value, float):
        if key.endswith(("_count", "_bytes")) and value.is_integer():
            return int(value)
        for suffix, decimals in _DECIMALS:
            if key.endswith(suffix):
                return round(value, decimals)
    return value


def energy_totals(energy: dict[str, float]) -> dict:
    """The energy KPIs that are running totals (so a year's figure is a difference)."""
    return {
        "generated_kwh": energy["generated_kwh"],
        "solar_kwh": energy["solar_kwh"],
        "fission_kwh": energy["fission_kwh"],
        "demand_kwh": energy["demand_kwh"],
        "delivered_kwh": energy["delivered_kwh"],
        "unserved_kwh": energy["unserved_kwh"],
        "curtailed_kwh": energy["curtailed_kwh"],
        "storage_losses_kwh": energy["losses_kwh"],
        "shed_hours": {cls.key: energy[f"{cls.key}_shed_hours"] for cls in LOAD_CLASSES},
    }


def year_starts(clock) -> tuple[int, ...]:
    """Steps at which a calendar year (UTC) begins inside the run."""
    first, last = clock.datetime_at(0).year, clock.datetime_at(clock.n_steps).year
    steps = [clock.step_at(datetime(year, 1, 1, tzinfo=timezone.utc)) for year in range(first + 1, last + 1)]
    return tuple(s for s in steps if 0 < s < clock.n_steps)


def per_year(station: Station, energy_id: str, conductor: Conductor, final: dict[str, float]) -> dict:
    """Energy KPIs per calendar year, from the station snapshots at the year starts."""
    from twin import snapshot as codec

    model = station.models[energy_id]
    at = {0: model.variables(model.initial_state())}
    for snap in conductor.checkpoints:
        if snap.step in conductor.report_steps:
            at[snap.step] = model.variables(codec.loads(snap.instances[energy_id].payload, model.state_types))
    at[conductor.step] = final
    marks = sorted(at)
    if len(marks) - 1 != len([s for s in conductor.report_steps if s < conductor.step]) + 1:
        return {}  # a resumed run whose year marks are not all on disk
    out = {}
    for a, b in zip(marks, marks[1:]):
        start, end = energy_totals(at[a]), energy_totals(at[b])
        year = conductor.clock.datetime_at(a).year
        out[str(year)] = {k: ({c: end[k][c] - start[k][c] for c in end[k]} if isinstance(end[k], dict) else end[k] - start[k]) for k in end}
    return out


def check_resume(scenario: Scenario, out: Path) -> None:
    if (out / "summary.json").exists():
        raise ResumeError(f"--resume: {out} holds a finished run (summary.json); nothing to resume")
    saved = out / "scenario.toml"
    if not saved.is_file():
        raise ResumeError(f"--resume: {out} holds no run to resume (no scenario.toml); run without --resume")
    if saved.read_text() != scenario.to_toml():
        raise ResumeError(f"--resume: {out} was started with a different scenario (compare {saved}); resume with the same scenario and --until, or use another --out")


def _cleanup_failed(out: Path, created: list[Path], parents: list[Path] = ()) -> None:
    """After a failure: keep what --resume can continue from; otherwise remove what the run made
    (``parents``: the folders above ``out`` it created, removed when they are empty again)."""
    telemetry = out / "telemetry"
    resumable = telemetry.is_dir() and any(parts(folder) for folder in telemetry.iterdir())
    if resumable:
        return
    for path in created:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    for path in parents:
        try:
            path.rmdir()
        except OSError:
            break


def run(
    scenario: Scenario,
    runtime: str = "ray",
    out: Path | None = None,
    address: str | None = None,
    actor_cpus: float | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_ready: Callable[[list[dict]], None] | None = None,
    window_steps: int | None = None,
    resume: bool = False,
    max_restarts: int = 3,
    drive: Callable[[Conductor, object], None] | None = None,
) -> dict:
    """Run ``scenario`` to its end; write telemetry, checkpoints, summary and resolved scenario under ``out``.

    ``on_ready`` gets every instance's endpoint (Ray runtime: id, kind, address, pid, node_id)
    once all serve, and again after an actor is restarted; they also go to ``OUT/endpoints.json``.
    ``resume``: continue ``out`` from its last complete checkpoint. ``drive(conductor, runtime)``
    advances the conductor to the clock's end (by default in one call; the live twin paces it,
    pauses it and serves its state between calls).
    """
    t0 = time.perf_counter()
    clock = scenario.clock
    out = None if out is None else Path(out)
    telemetry_dir = None if out is None else out / "telemetry"
    store = None if out is None else CheckpointStore(out / "checkpoints", clock)
    created: list[Path] = []
    parents: list[Path] = []
    if out is not None:
        if resume:
            check_resume(scenario, out)
        else:
            # A fresh run owns these (an old run's are replaced below), so a failure removes them all.
            created = [out / "telemetry", out / "checkpoints", out / "scenario.toml", out / "endpoints.json"]
            if not out.exists():
                created.append(out)
                parents = [p for p in out.parents if not p.exists()]  # deepest first
            out.mkdir(parents=True, exist_ok=True)
            # A fresh run (into an empty folder, or over an old one with --overwrite) starts clean.
            for old in (out / "telemetry", out / "checkpoints"):
                shutil.rmtree(old, ignore_errors=True)
            for old in (out / "summary.json", out / "endpoints.json", out / "events.jsonl"):
                old.unlink(missing_ok=True)
            atomic_write_text(out / "scenario.toml", scenario.to_toml())

    def published(endpoints: list[dict]) -> None:
        if out is not None:
            atomic_write_json(out / "endpoints.json", endpoints)
        if on_ready is not None:
            on_ready(endpoints)

    station = Station(scenario)
    sha = scenario_sha256(scenario)
    with ExitStack() as stack:
        # The Ray runtime builds the sky while its actors start.
        try:
            rt = stack.enter_context(make_runtime(scenario, runtime, station, None, telemetry_dir, address, actor_cpus, published, max_restarts))
        except BaseException:  # the runtime did not start (no cluster, too few CPUs, Ctrl-C): leave nothing
            if out is not None:
                _cleanup_failed(out, created, parents)
            raise
        try:
            # A table missing (a changed robot body or physics) is calibrated here, once, in the runtime's Ray.
            ensure_tables(station.models, scenario.robotics.workers,
                          progress=lambda what: print(f"calibrating the robots' surrogate tables: {what} ...", file=sys.stderr, flush=True))
        except BaseException:
            if out is not None:
                _cleanup_failed(out, created, parents)
            raise
        conductor = Conductor(
            clock, station, rt.handles, window_steps or scenario.window_steps,
            checkpoint_steps=scenario.checkpoint_steps, on_progress=on_progress,
            on_checkpoint=None if store is None else store.write,
            recover=getattr(rt, "recover", None), scenario_sha256=sha, report_steps=year_starts(clock),
        )
        t1 = time.perf_counter()
        try:
            if resume and store is not None:
                saved = [s for s in store.load_all() if s.scenario_sha256 == sha]
                if saved:
                    conductor.checkpoints = saved
                    conductor.trim()
                    conductor.restore_latest()
                    if on_progress is not None:
                        on_progress(conductor.step)
            if drive is None:
                conductor.advance(clock.n_steps)
            else:
                drive(conductor, rt)
            conductor.finish()
        except BaseException:
            for handle in rt.handles.values():
                try:
                    handle.finish(discard=True)
                except Exception:  # a dead actor: its partial files are swept below
                    pass
            if telemetry_dir is not None and telemetry_dir.is_dir():
                for partial in telemetry_dir.glob("*/.part-*.partial"):
                    partial.unlink(missing_ok=True)
            if out is not None:
                _cleanup_failed(out, created, parents)
            raise
        summary = summarize(scenario, station, runtime, conductor, {"startup_s": t1 - t0, "simulate_s": time.perf_counter() - t1})
        endpoints = getattr(rt, "endpoints", None)
        if endpoints:
            summary["endpoints"] = list(endpoints.values())
    summary["wall_s"] = round(time.perf_counter() - t0, 3)
    summary["speedup"] = summary["simulated_s"] / summary["wall_s"]
    summary["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if out is not None:
        atomic_write_json(out / "summary.json", summary)
    return summary
