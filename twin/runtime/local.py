"""The local runtime: every model in this process, called directly."""
from __future__ import annotations

from twin.models.base import ModelHost
from twin.models.registry import build_model
from twin.scenario import Scenario


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

    def propose(self, window, env, inputs, assumed):
        return _Done(self.host.propose(window, env, inputs, assumed))

    def commit(self, steps):
        return _Done(self.host.commit(steps))

    def variables(self) -> dict[str, float]:
        return self.host.variables()

    def close(self) -> None:
        pass


class LocalRuntime:
    name = "local"

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.handles: list[LocalHandle] = []

    def __enter__(self) -> "LocalRuntime":
        clock = self.scenario.clock
        seed = self.scenario.scenario.seed
        self.handles = [
            LocalHandle(ModelHost(build_model(name, params, clock, seed)))
            for name, params in self.scenario.modules.present().items()
        ]
        return self

    def __exit__(self, *exc) -> None:
        self.handles = []
