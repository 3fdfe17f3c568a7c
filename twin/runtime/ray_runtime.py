"""The Ray runtime: each instance is a Ray actor serving its own SubsystemService over gRPC.

Ray places, supervises and restarts the actors; the conductor talks to them only over gRPC, at
the host:port each actor publishes (the port is picked by the OS, never hard-coded). The
environment grids go to the actors once, through Ray's object store.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from services.auth import new_token


class SubsystemActor:
    """Body of the Ray actor (wrapped with ray.remote at runtime, so importing this costs nothing).

    The constructor builds the model while the driver still prepares the sky; ``start`` then
    serves it. Ray re-runs the constructor when it restarts a dead actor: the instance comes back
    at its initial state, its telemetry folder untouched, is started again and restored from a
    checkpoint by the conductor.
    """

    def __init__(self, scenario, id: str, token: str, bind: str | None, telemetry_dir: str | None):
        import services.subsystem_server  # noqa: F401  (imported here, while the driver works)
        from twin.station import Station

        self.scenario, self.id, self.token, self.bind, self.telemetry_dir = scenario, id, token, bind, telemetry_dir
        self.model = Station(scenario).models[id]
        self.info = None

    def start(self, environment) -> dict:
        if self.info is not None:  # the same process: already serving
            return self.info
        import ray

        from services.subsystem_server import serve
        from twin.model import ModelHost
        from twin.telemetry import telemetry_sink

        model = self.model
        # Each actor writes its own instance's telemetry where it runs (on a multi-node cluster,
        # the output folder must be shared storage, as for Ray's own storage_path).
        sink = telemetry_sink(self.telemetry_dir, model, self.scenario.clock, self.scenario.telemetry_every)
        self.host = ModelHost(model, sink, environment.for_instance(self.id))
        # On a cluster the endpoint must be reachable from the driver's node: publish the node's
        # address. A local cluster binds loopback only.
        address = self.bind or ray.util.get_node_ip_address()
        self.server, port = serve(self.host, self.token, bind=address)
        self.info = {
            "id": self.id,
            "kind": model.kind,
            "address": f"[{address}]:{port}" if ":" in address else f"{address}:{port}",
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id(),
        }
        return self.info


# CPUs Ray reserves for each subsystem actor unless told: a twin's instances wait on each other
# most of the time, so four share a CPU.
DEFAULT_ACTOR_CPUS = 0.25


class RayRuntime:
    name = "ray"

    def __init__(self, scenario, station, environment, telemetry_dir: Path | None = None, address: str | None = None,
                 actor_cpus: float | None = None, max_restarts: int = 3, startup_timeout_s: float = 180.0,
                 on_endpoints: Callable[[list[dict]], None] | None = None):
        # ``environment``: the StationEnvironment, or a function that builds it (called while
        # the actors start).
        self.scenario, self.station, self.environment = scenario, station, environment
        # Absolute: Ray workers run in their own working directories.
        self.telemetry_dir = None if telemetry_dir is None else str(Path(telemetry_dir).resolve())
        self.address = address
        self.actor_cpus = actor_cpus
        self.max_restarts = max_restarts
        self.startup_timeout_s = startup_timeout_s
        self.on_endpoints = on_endpoints
        self.handles = {}
        self.endpoints: dict[str, dict] = {}
        self._actors = {}
        self._env_ref = None
        self._started_ray = False
        self._token = new_token()

    def __enter__(self) -> "RayRuntime":
        import ray

        from services.subsystem_client import SubsystemClient

        if not ray.is_initialized():
            # A local cluster for this run unless told to join one (KubeRay, `ray up`).
            os.environ.setdefault("RAY_DEDUP_LOGS", "0")
            ray.init(address=self.address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            self._started_ray = True
        ids = self.station.ids
        have = ray.cluster_resources().get("CPU", 0.0)
        if self.actor_cpus is None:  # the default: a quarter CPU each, shared out where fewer are there
            self.actor_cpus = min(DEFAULT_ACTOR_CPUS, have / len(ids))
        need = self.actor_cpus * len(ids)
        if need > have:
            self.__exit__(None, None, None)
            raise RuntimeError(
                f"{len(ids)} subsystem actors at {self.actor_cpus} CPU each need {need:g} CPUs but the cluster has {have:g}; "
                "lower --actor-cpus or add nodes (Ray would wait forever otherwise)"
            )
        # Loopback when the whole cluster is this machine; otherwise each actor binds and
        # publishes its node's address so the driver can reach it from another node.
        alive = [node for node in ray.nodes() if node.get("Alive")]
        single_local = len(alive) == 1 and alive[0]["NodeManagerAddress"] == ray.util.get_node_ip_address()
        bind = "127.0.0.1" if single_local else None
        actor_class = ray.remote(num_cpus=self.actor_cpus, max_restarts=self.max_restarts, max_task_retries=-1)(SubsystemActor)
        try:
            self._actors = {id: actor_class.remote(self.scenario, id, self._token, bind, self.telemetry_dir) for id in ids}
            if callable(self.environment):
                self.environment = self.environment()
            # Kept for the run: a restarted actor is started again with it.
            self._env_ref = ray.put(self.environment)
            infos = ray.get([actor.start.remote(self._env_ref) for actor in self._actors.values()], timeout=self.startup_timeout_s)
            self.endpoints = {info["id"]: info for info in infos}
            self.handles = {info["id"]: SubsystemClient(info["address"], self._token) for info in infos}
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self._published()
        return self

    def _published(self) -> None:
        if self.on_endpoints is not None:
            self.on_endpoints(list(self.endpoints.values()))

    def recover(self, ids: list[str]) -> None:
        """Reconnect to lost instances once Ray has restarted their actors."""
        import ray

        from services.subsystem_client import SubsystemClient

        for id in ids:
            kind = self.station.models[id].kind
            try:
                info = ray.get(self._actors[id].start.remote(self._env_ref), timeout=self.startup_timeout_s)
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise RuntimeError(f"subsystem {id} ({kind}) died and could not be restarted (max_restarts={self.max_restarts}): {reason}") from None
            if info["address"] == self.endpoints[id]["address"] and info["pid"] == self.endpoints[id]["pid"]:
                continue  # the same process: the call failed for another reason; restoring is enough
            self.handles[id].close()
            self.handles[id] = SubsystemClient(info["address"], self._token)
            self.endpoints[id] = info
        self._published()

    def __exit__(self, *exc) -> None:
        import ray

        for handle in self.handles.values():
            try:
                handle.close()
            except Exception:
                pass
        for actor in self._actors.values():
            ray.kill(actor, no_restart=True)
        self.handles, self._actors, self._env_ref = {}, {}, None
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False
