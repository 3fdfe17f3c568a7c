"""Physics workers: Ray actors that run robot episodes, each in a PyBullet DIRECT client of its own.

A worker creates its client inside the actor for each batch and always disconnects it (clients
are never pickled), so a worker holds no state between batches and a restarted one loses nothing. A fleet is spread over the workers in contiguous groups of its tasks; robots
in one group share a world and can meet, robots in different groups cannot. The worker count
follows the cluster's CPUs by default. The same tasks and worker count give the same tracks bit
for bit, in any runtime: a group's result is the local :func:`physics.episode.drive` of it.
"""
from __future__ import annotations

import logging
import math
from functools import lru_cache

from physics.episode import RoverTask, Track, drive
from physics.terrain import Tile

log = logging.getLogger(__name__)


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

    @ray.remote(num_cpus=1)
    class PhysicsWorker:
        def ready(self) -> bool:
            import pybullet  # noqa: F401  (imported once, before the first batch is timed)

            return True

        def drive(self, tile: Tile, tasks: list[RoverTask], options: dict) -> list[Track]:
            return drive(tile, tasks, **options)

    return PhysicsWorker


class PhysicsPool:
    """Physics workers kept for as long as the ``with`` block: each batch is spread over them in
    contiguous groups. A worker whose process dies is restarted by Ray (up to ``max_restarts``
    times each) and its group, which holds no state between batches, is resubmitted from its
    start, with one line in the log; past that the batch raises RuntimeError. Closing kills the
    workers."""

    def __init__(self, workers: int | str = "auto", max_restarts: int = 3):
        self.size = worker_count(workers)
        self.max_restarts = max_restarts
        self.restarts = [0] * self.size
        actor = _actor_class().options(max_restarts=max_restarts)
        self._actors = [actor.remote() for _ in range(self.size)]

    def __enter__(self) -> "PhysicsPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        import ray

        for actor in self._actors:
            ray.kill(actor, no_restart=True)
        self._actors = []

    def warm(self) -> None:
        """Wait until every worker has started (so that a timed batch does not count it)."""
        import ray

        ray.get([a.ready.remote() for a in self._actors])

    def drive(self, tile: Tile, tasks: list[RoverTask], **options) -> list[Track]:
        """Every task's track, in task order (see :func:`physics.episode.drive` for ``options``)."""
        import ray
        from ray.exceptions import RayActorError

        if not self._actors:
            raise RuntimeError("the physics pool is closed")
        parts = groups(len(tasks), self.size)
        tile_ref = ray.put(tile)

        def submit(w: int):
            return self._actors[w].drive.remote(tile_ref, [tasks[i] for i in parts[w]], options)

        pending = {w: submit(w) for w in range(len(parts))}
        results: dict[int, list[Track]] = {}
        while pending:
            w, ref = next(iter(pending.items()))
            try:
                results[w] = ray.get(ref)
                del pending[w]
            except RayActorError as error:
                self.restarts[w] += 1
                if self.restarts[w] > self.max_restarts:
                    raise RuntimeError(f"physics worker {w} died {self.restarts[w]} times (max_restarts {self.max_restarts}); "
                                       f"last: {type(error).__name__}") from None
                log.warning("physics worker %d died (%s); its %d robots start their episode again (restart %d of %d)",
                            w, type(error).__name__, len(parts[w]), self.restarts[w], self.max_restarts)
                pending[w] = submit(w)
        return [track for w in range(len(parts)) for track in results[w]]


def drive_fleet(tile: Tile, tasks: list[RoverTask], workers: int | str = "auto", **options) -> list[Track]:
    """Every task's track, in task order, from the fleet spread over physics workers started for it."""
    with PhysicsPool(workers) as pool:
        return pool.drive(tile, tasks, **options)
