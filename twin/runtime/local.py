"""The local runtime: every instance in this process, called directly."""
from __future__ import annotations

from pathlib import Path

from twin.model import ModelHost, Snapshot
from twin.telemetry import telemetry_sink


class _Done:
    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value


class LocalHandle:
    """The conductor's view of an instance, backed by an in-process ModelHost."""

    def __init__(self, host: ModelHost):
        self.host = host
        self.name = host.model.id
        self.kind = host.model.kind

    def exchange(self, commit_steps, window, inputs=None, snapshot: bool = False):
        return _Done(self.host.exchange(commit_steps, window, inputs, snapshot))

    def snapshot(self) -> Snapshot:
        return self.host.snapshot()

    def restore(self, snapshot: Snapshot) -> int:
        self.host.restore(snapshot)
        return self.host.step

    def command(self, command) -> dict[str, float]:
        return self.host.command(command)

    def finish(self, discard: bool = False) -> list[str]:
        return self.host.finish(discard)

    def variables(self) -> dict[str, float]:
        return self.host.variables()


class LocalRuntime:
    name = "local"

    def __init__(self, scenario, station, environment, telemetry_dir: Path | None = None):
        self.scenario, self.station, self.environment = scenario, station, environment
        self.telemetry_dir = telemetry_dir
        self.handles: dict[str, LocalHandle] = {}

    def __enter__(self) -> "LocalRuntime":
        clock = self.scenario.clock
        self.handles = {
            id: LocalHandle(ModelHost(model, telemetry_sink(self.telemetry_dir, model, clock, self.scenario.telemetry_every), self.environment.for_instance(id)))
            for id, model in self.station.models.items()
        }
        return self

    def __exit__(self, *exc) -> None:
        self.handles = {}
