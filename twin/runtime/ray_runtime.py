"""The Ray runtime: each subsystem is a Ray actor serving its own SubsystemService over gRPC.

Ray places and supervises the actors; the conductor talks to them only over gRPC, at the
host:port each actor publishes (the port is picked by the OS, never hard-coded).
"""
from __future__ import annotations

import os
from pathlib import Path

from services.auth import new_token
from twin.scenario import Scenario


class SubsystemActor:
    """Body of the Ray actor (wrapped with ray.remote at runtime, so importing this costs nothing)."""

    def __init__(self, scenario: Scenario, name: str, token: str, bind: str | None, telemetry_dir: str | None):
        import ray

        from services.subsystem_server import serve
        from twin.models.base import ModelHost
        from twin.models.registry import build_model
        from twin.telemetry import telemetry_sink

        params = getattr(scenario.modules, name)
        # Each actor writes its own subsystem's telemetry file where it runs (on a multi-node
        # cluster, the output folder must be shared storage, as for Ray's own storage_path).
        sink = telemetry_sink(telemetry_dir, scenario.clock)
        self.host = ModelHost(build_model(name, params, scenario.clock, scenario.scenario.seed), sink)
        # On a cluster the endpoint must be reachable from the driver's node: publish the node's
        # address. A local cluster binds loopback only.
        address = bind or ray.util.get_node_ip_address()
        self.server, port = serve(self.host, token, bind=address)
        self.address = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"

    def endpoint(self) -> str:
        return self.address

    def stop(self) -> None:
        self.server.stop(grace=None)


class RayRuntime:
    name = "ray"

    def __init__(self, scenario: Scenario, telemetry_dir: Path | None = None, address: str | None = None, actor_cpus: float = 0.25, startup_timeout_s: float = 180.0):
        self.scenario = scenario
        # Absolute: Ray workers run in their own working directories.
        self.telemetry_dir = None if telemetry_dir is None else str(Path(telemetry_dir).resolve())
        self.address = address
        self.actor_cpus = actor_cpus
        self.startup_timeout_s = startup_timeout_s
        self.handles = []
        self._actors = []
        self._started_ray = False

    def __enter__(self) -> "RayRuntime":
        import ray

        from services.subsystem_client import SubsystemClient

        if not ray.is_initialized():
            # A local cluster for this run unless told to join one (KubeRay, `ray up`).
            os.environ.setdefault("RAY_DEDUP_LOGS", "0")
            ray.init(address=self.address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            self._started_ray = True
        names = list(self.scenario.modules.present())
        have = ray.cluster_resources().get("CPU", 0.0)
        need = self.actor_cpus * len(names)
        if need > have:
            raise RuntimeError(
                f"{len(names)} subsystem actors at {self.actor_cpus} CPU each need {need:g} CPUs but the cluster has {have:g}; "
                "lower --actor-cpus or add nodes (Ray would wait forever otherwise)"
            )
        # Loopback when the whole cluster is this machine; otherwise each actor binds and
        # publishes its node's address so the driver can reach it from another node.
        alive = [node for node in ray.nodes() if node.get("Alive")]
        single_local = len(alive) == 1 and alive[0]["NodeManagerAddress"] == ray.util.get_node_ip_address()
        bind = "127.0.0.1" if single_local else None
        token = new_token()
        actor_class = ray.remote(num_cpus=self.actor_cpus, max_restarts=0)(SubsystemActor)
        try:
            self._actors = [actor_class.remote(self.scenario, name, token, bind, self.telemetry_dir) for name in names]
            endpoints = ray.get([actor.endpoint.remote() for actor in self._actors], timeout=self.startup_timeout_s)
            self.handles = [SubsystemClient(endpoint, token) for endpoint in endpoints]
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        import ray

        for handle in self.handles:
            handle.close()
        for actor in self._actors:
            ray.kill(actor)
        self.handles, self._actors = [], []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False
