"""The local runtime: every model in this process, called directly."""
from __future__ import annotations

from pathlib import Path

from twin.models.base import ModelHost
from twin.models.registry import build_model
from twin.scenario import Scenario
from twin.telemetry import telemetry_sink


class _Done:
    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value


class LocalHandle:
    """The conductor's view of a subsystem, backed by an in-process ModelHost."""

    def __init__(self, host: ModelHost):
        self.host = host
        model = host.model
        self.name = model.name
        self.kind = model.kind
        self.stage = model.stage
        self.environment = model.environment
        self.consumes = model.consumes
        self.load_class = model.load_class

    def exchange(self, commit_steps, window, env=None, inputs=None, assumed=None):
        return _Done(self.host.exchange(commit_steps, window, env, inputs, assumed))

    def finish(self, discard: bool = False) -> list[str]:
        return self.host.finish(discard)

    def variables(self) -> dict[str, float]:
        return self.host.variables()

    def close(self) -> None:
        pass


class LocalRuntime:
    name = "local"

    def __init__(self, scenario: Scenario, telemetry_dir: Path | None = None):
        self.scenario = scenario
        self.telemetry_dir = telemetry_dir
        self.handles: list[LocalHandle] = []

    def __enter__(self) -> "LocalRuntime":
        clock = self.scenario.clock
        seed = self.scenario.scenario.seed
        self.handles = [
            LocalHandle(ModelHost(build_model(name, params, clock, seed), telemetry_sink(self.telemetry_dir, clock)))
            for name, params in self.scenario.modules.present().items()
        ]
        return self

    def __exit__(self, *exc) -> None:
        self.handles = []
