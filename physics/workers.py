"""Physics workers: Ray actors that run robot episodes, each in a PyBullet DIRECT client of its own.

A worker creates its client inside the actor for each batch and always disconnects it (clients
are never pickled). A fleet is spread over the workers in contiguous groups of its tasks; robots
in one group share a world and can meet, robots in different groups cannot. The worker count
follows the cluster's CPUs by default. The same tasks and worker count give the same tracks bit
for bit, in any runtime: a group's result is the local :func:`physics.episode.drive` of it.
"""
from __future__ import annotations

import math
from functools import lru_cache

from physics.episode import RoverTask, Track, drive
from physics.terrain import Tile


def groups(n_tasks: int, workers: int) -> list[range]:
    """Contiguous, nearly equal groups of task indices, one per worker (none empty)."""
    workers = max(1, min(workers, n_tasks))
    size = math.ceil(n_tasks / workers)
    return [range(i, min(i + size, n_tasks)) for i in range(0, n_tasks, size)]


def worker_count(workers: int | str = "auto") -> int:
    """``auto``: one worker per CPU of the Ray cluster (it must be initialised)."""
    if workers == "auto":
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers: {workers!r} is not a worker count (a positive integer or \"auto\")")
    return workers


@lru_cache(maxsize=1)
def _actor_class():
    # Defined once per process: each definition is exported to the cluster anew.
    import ray

    # Ray restarts a worker whose process dies; the caller resubmits its batch.
    @ray.remote(num_cpus=1, max_restarts=3)
    class PhysicsWorker:
        def drive(self, tile: Tile, tasks: list[RoverTask], options: dict) -> list[Track]:
            return drive(tile, tasks, **options)

    return PhysicsWorker


def drive_fleet(tile: Tile, tasks: list[RoverTask], workers: int | str = "auto", **options) -> list[Track]:
    """Every task's track, in task order, from the fleet spread over physics workers."""
    import ray

    parts = groups(len(tasks), worker_count(workers))
    actor = _actor_class()
    pool = [actor.remote() for _ in parts]
    try:
        tile_ref = ray.put(tile)
        futures = [w.drive.remote(tile_ref, [tasks[i] for i in part], options) for w, part in zip(pool, parts)]
        return [track for result in ray.get(futures) for track in result]
    finally:
        for w in pool:
            ray.kill(w)
