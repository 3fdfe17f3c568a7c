"""The physics pool: persistent Ray actors whose batches equal the local episode bit for bit, and
a worker killed mid-batch restarted by Ray with its group run again."""
from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from physics.episode import RoverTask, drive
from physics.terrain import Procedural, procedural

TILE = procedural(5, Procedural(size_m=30.0, spacing_m=0.25))
TASKS = [RoverTask((-6.0, y), ((6.0, y),)) for y in (-6.0, -2.0, 2.0, 6.0)]


def same(a, b) -> bool:
    return a.outcome == b.outcome and a.energy_j == b.energy_j and all(np.array_equal(v, b.columns()[k]) for k, v in a.columns().items())


def test_a_pool_batch_is_each_group_driven_locally_and_the_pool_is_reused(ray_cluster):
    from physics.workers import PhysicsPool

    local = drive(TILE, TASKS[:2], max_s=30.0) + drive(TILE, TASKS[2:], max_s=30.0)
    with PhysicsPool(2) as pool:
        pool.warm()
        first = pool.drive(TILE, TASKS, max_s=30.0)
        again = pool.drive(TILE, TASKS, max_s=30.0)  # the same actors, no state carried between batches
        assert pool.restarts == [0, 0]
    assert all(same(a, b) for a, b in zip(first, local)) and all(same(a, b) for a, b in zip(again, local))
    with pytest.raises(RuntimeError, match="closed"):
        pool.drive(TILE, TASKS)


def test_a_worker_killed_mid_batch_is_restarted_and_its_robots_driven_again(ray_cluster, caplog):
    import ray

    from physics.workers import PhysicsPool

    local = drive(TILE, TASKS[:2], max_s=30.0) + drive(TILE, TASKS[2:], max_s=30.0)
    with PhysicsPool(2, max_restarts=1) as pool:
        pool.warm()
        # The process dies as a crash would (Ray may restart it: no_restart=False).
        # Early in the batch (its two rovers drive for about a second): a later kill can miss it.
        killer = threading.Timer(0.3, lambda: ray.kill(pool._actors[0], no_restart=False))
        killer.start()
        with caplog.at_level(logging.WARNING, logger="physics.workers"):
            tracks = pool.drive(TILE, TASKS, max_s=30.0)
        killer.join()
        assert pool.restarts == [1, 0]
        lines = [r.getMessage() for r in caplog.records if r.name == "physics.workers"]
        # ActorDiedError or ActorUnavailableError, as Ray sees the process go.
        assert len(lines) == 1 and lines[0].startswith("physics worker 0 died (Actor") and lines[0].endswith(
            "Error); its 2 robots start their episode again (restart 1 of 1)")
        assert all(same(a, b) for a, b in zip(tracks, local))
        # Past max_restarts the batch fails, with the count in the message.
        # Early in the batch (its two rovers drive for about a second): a later kill can miss it.
        killer = threading.Timer(0.3, lambda: ray.kill(pool._actors[0], no_restart=False))
        killer.start()
        with pytest.raises(RuntimeError, match="physics worker 0 died 2 times"):
            pool.drive(TILE, TASKS, max_s=30.0)
        killer.join()
