"""Where a run finds its robots' surrogate tables, and the tables shipped with the code.

A table is named by a hash of the robot's parameters, the calibration's settings, the physics
code and the physics engine's version (:func:`physics.surrogate.table_name`). :func:`load` looks
for the table of a robot's body under the default calibration, in order:

1. each folder the caller gives;
2. the table cache, ``twin.cache.folder() / "robots"`` (unless caching is off), where
   :func:`ensure` and ``ilrs-twin calibrate --out`` put what they calibrate;
3. the tables shipped in this package (``physics/tables/``), made for the default RoverBody and
   HopperBody by ``python -m physics.tables --write``.

A miss raises :class:`TableMissing`, whose message names the command that makes the table.
:func:`ensure` calibrates a missing table on the physics workers (Ray must be initialised) and
writes it into the cache; with caching off (``ILRS_TWIN_CACHE=off``) or an unwritable cache
the table is held in this process's memory only, where later loads in the same process find it
(other processes, such as Ray workers, do not: they raise TableMissing).

The shipped tables must be remade after any change of the physics (their names then no longer
match): ``python -m physics.tables --write`` regenerates them (a few minutes on two cores) and
removes the stale ones; ``python -m physics.tables --check`` exits 1 while any is stale.
"""
from __future__ import annotations

import argparse
import sys
import time
from functools import lru_cache
from pathlib import Path

from physics import surrogate
from physics.robots import HopperBody, RoverBody

SHIPPED = Path(__file__).with_name("tables")
ROBOTS = ("rover", "hopper")
_BODIES = {"rover": RoverBody, "hopper": HopperBody}

# Tables calibrated by ``ensure`` that could not be written to a cache: (robot, body) -> table.
_held: dict[tuple[str, object], object] = {}


class TableMissing(ValueError):
    """No table for this robot's body: the message says how to make one."""


def default_calibration(robot: str) -> surrogate.Calibration | surrogate.HopperCalibration:
    _robot(robot)
    return surrogate.Calibration() if robot == "rover" else surrogate.HopperCalibration()


def name(robot: str, body=None) -> str:
    """The file name of ``body``'s table under the default calibration."""
    return surrogate.table_name(_body(robot, body), default_calibration(robot))


def cache_folder() -> Path | None:
    """The cache's folder of robot tables, or None when caching is off."""
    from twin import cache

    where = cache.folder()
    return None if where is None else where / "robots"


def load(robot: str, body=None, folders=()) -> surrogate.RoverTable | surrogate.HopperTable:
    """The table of ``body`` (the robot's default body if None) under the default calibration:
    from the first of ``folders``, the cache or the shipped tables that holds it (kept in this
    process once read). TableMissing when none does."""
    body = _body(robot, body)
    return _load(robot, body, tuple(Path(f) for f in folders), cache_folder(), SHIPPED)


@lru_cache(maxsize=64)
def _load(robot: str, body, folders: tuple[Path, ...], cached: Path | None, shipped: Path):
    file = name(robot, body)
    for folder in folders:
        if (folder / file).is_file():
            return _read(folder / file, body)
    if (robot, body) in _held:
        return _held[(robot, body)]
    if cached is not None and (cached / file).is_file():
        try:
            return _read(cached / file, body)
        except (OSError, ValueError):
            pass  # a truncated or foreign cache entry is absent, not wrong: ensure() rebuilds it
    if (shipped / file).is_file():
        return _read(shipped / file, body)
    raise TableMissing(_missing(robot, body, file, folders, cached))


def _read(path: Path, body):
    table = surrogate.read(path)
    if table.body != body:
        raise ValueError(f"surrogate: {path} holds the table of another {type(body).__name__}; delete it and calibrate again")
    return table


def _missing(robot: str, body, file: str, folders: tuple[Path, ...], cached: Path | None) -> str:
    places = [str(f) for f in folders] + ([str(cached)] if cached is not None else []) + ["the shipped tables"]
    head = f"no {robot} table {file} in {', '.join(places)}"
    if body == _BODIES[robot]():
        out = cached if cached is not None else (folders[0] if folders else None)
        if out is not None:
            return (f"{head}: make it with `ilrs-twin calibrate --robot {robot} --out {out}` (or `python -m physics.tables --write` after a change of the "
                    f"physics), or let the run calibrate it first ([robotics] workers)")
        return (f"{head}: caching is off, so make it with `ilrs-twin calibrate --robot {robot} --out <folder>` and pass that folder, "
                f"or let the run calibrate it first ([robotics] workers)")
    return f"{head}: this {type(body).__name__} is not the default one, so `[robotics] workers` calibrates its table before the run (physics.tables.ensure)"


def ensure(robot: str, body=None, workers: int | str = "auto", progress=None, folders=()) -> surrogate.RoverTable | surrogate.HopperTable:
    """The table, loaded, or else calibrated with the default calibration on the physics workers
    (Ray must be initialised) and written into the cache's robot folder; with caching off or an
    unwritable cache it is held in this process's memory only."""
    body = _body(robot, body)
    try:
        return load(robot, body, folders)
    except TableMissing:
        pass
    import ray

    if not ray.is_initialized():
        raise RuntimeError("ensure: Ray is not initialised; call ray.init() (or connect to a cluster) before calibrating a table")
    calibration = default_calibration(robot)
    if robot == "rover":
        table = surrogate.calibrate(body, calibration, workers=workers, progress=progress)
    else:
        table = surrogate.calibrate_hopper(body, calibration, workers=workers, progress=progress)
    where = cache_folder()
    written = False
    if where is not None:
        try:
            surrogate.write(table, where, calibration)
            written = True
        except OSError:
            pass  # a read-only or full disk: held in memory below
    if not written:
        _held[(robot, body)] = table
    _load.cache_clear()
    return table


def summary(table) -> str:
    """One line of a table's figures."""
    if isinstance(table, surrogate.HopperTable):
        formula = surrogate.ballistic_range_m(table.body, table.energies_j, table.elevation_deg)
        hops = ", ".join(f"{e:g} J {r:.2f} m ({r / f:.3f})" for e, r, f in zip(table.energies_j, table.range_m, formula))
        return (f"range {hops} (against the ballistic formula); rest {table.rest_of().min():.1f}-{table.rest_of().max():.1f} m, "
                f"{table.duration_s.min():.1f}-{table.duration_s.max():.1f} s, failures {table.failure_frac.min():.2f}-{table.failure_frac.max():.2f}")
    return (f"speed {table.speed_m_s.min():.3f}-{table.speed_m_s.max():.3f} m/s, drive {table.drive_j_per_m.min():.1f}-{table.drive_j_per_m.max():.1f} J/m, "
            f"failures up to {table.failure_frac.max():.2f}, turns {table.turn_s_per_rad:.1f} s/rad and {table.turn_j_per_rad:.1f} J/rad")


def _robot(robot: str) -> None:
    if robot not in ROBOTS:
        raise ValueError(f"robot: {robot!r} has no surrogate table (one of {', '.join(ROBOTS)})")


def _body(robot: str, body):
    _robot(robot)
    if body is None:
        return _BODIES[robot]()
    if not isinstance(body, _BODIES[robot]):
        raise TypeError(f"body: a {robot}'s table needs a {_BODIES[robot].__name__}, not a {type(body).__name__}")
    return body


def stale(folder: Path | None = None) -> list[str]:
    """What is wrong with the shipped tables (or those in ``folder``): each robot's current table
    missing, or a file of a robot whose name is not the current one."""
    folder = SHIPPED if folder is None else folder
    problems = []
    for robot in ROBOTS:
        current = name(robot)
        present = sorted(p.name for p in Path(folder).glob(f"{robot}-*.parquet"))
        if current not in present:
            problems.append(f"{robot}: {current} is missing")
        problems += [f"{robot}: {other} is stale (the current key is {current})" for other in present if other != current]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m physics.tables", description="The surrogate tables shipped in physics/tables/.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="calibrate the default robots' tables into physics/tables/ and remove stale ones")
    action.add_argument("--check", action="store_true", help="exit 1 if a shipped table's name no longer matches the current key")
    parser.add_argument("--robot", choices=ROBOTS, action="append", help="only this robot (repeatable; default: all)")
    parser.add_argument("--workers", default="auto", help="physics workers: a count, or auto for one per CPU")
    parser.add_argument("--force", action="store_true", help="recalibrate even a table whose name is current")
    args = parser.parse_args(argv)
    robots = args.robot or list(ROBOTS)
    if args.check:
        problems = [p for p in stale() if p.split(":")[0] in robots]
        for line in problems:
            print(f"stale: {line}", file=sys.stderr)
        if problems:
            print("run `python -m physics.tables --write` to regenerate the shipped tables", file=sys.stderr)
            return 1
        print(f"the shipped tables are current: {', '.join(name(r) for r in robots)}")
        return 0
    workers = args.workers if args.workers == "auto" else int(args.workers)
    import ray

    SHIPPED.mkdir(exist_ok=True)
    ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        for robot in robots:
            current = name(robot)
            if (SHIPPED / current).is_file() and not args.force:
                print(f"{robot}: {SHIPPED / current} is current")
            else:
                started = time.monotonic()
                calibration = default_calibration(robot)
                body = _BODIES[robot]()
                progress = lambda what, robot=robot: print(f"calibrating {robot}: {what} ...", file=sys.stderr, flush=True)  # noqa: E731
                if robot == "rover":
                    table = surrogate.calibrate(body, calibration, workers=workers, progress=progress)
                else:
                    table = surrogate.calibrate_hopper(body, calibration, workers=workers, progress=progress)
                written = surrogate.write(table, SHIPPED, calibration)
                print(f"{robot}: wrote {written} in {time.monotonic() - started:.0f} s: {summary(table)}")
            for old in sorted(SHIPPED.glob(f"{robot}-*.parquet")):
                if old.name != current:
                    old.unlink()
                    print(f"{robot}: removed stale {old}")
    finally:
        ray.shutdown()
    _load.cache_clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
