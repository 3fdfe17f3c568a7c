"""A station is a graph of instances: connections follow from the kinds' typed ports.

Rules (applied to every output port that is not a reply):

* An output with connections in the scenario's ``[[connections]]`` goes exactly there.
* Otherwise it goes to the one other instance with an input of the same quantity (power to the
  energy system, data to communications, regolith to ISRU). Several candidates are ambiguous and
  must be connected explicitly; none is fine unless the port is required.
* A connection whose input has a ``reply`` and whose output expects one gets the reply route back
  (a feedback route: the producer assumes it, the conductor checks it).

The exchange order follows from the forward routes (a topological sort into levels: an instance
runs after everything it takes forward inputs from); a cycle without a feedback port is an error
that names it.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from twin.model import Model
from twin.ports import Port, Route
from twin.registry import get


class StationError(ValueError):
    """A station graph that cannot run; ``field`` names where in the scenario."""

    def __init__(self, field: str, reason: str):
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")

    def __reduce__(self):  # it crosses processes (the live twin's, Ray's) whole
        return type(self), (self.field, self.reason)


@dataclass(frozen=True)
class Connection:
    source: str
    source_port: str
    target: str
    target_port: str

    @classmethod
    def parse(cls, source: str, target: str) -> "Connection":
        a, _, p = source.partition(".")
        b, _, q = target.partition(".")
        if not (a and p and b and q):
            raise ValueError("write connections as from = \"<id>.<port>\", to = \"<id>.<port>\"")
        return cls(a, p, b, q)

    def __str__(self) -> str:
        return f"{self.source}.{self.source_port} -> {self.target}.{self.target_port}"


def instance_seed(seed: int, id: str) -> int:
    # One seed per instance, derived from the scenario seed and the id, so adding an instance or a
    # random process to one never shifts another's stream.
    sequence = np.random.SeedSequence([seed, zlib.crc32(id.encode())])
    return int(sequence.generate_state(1, np.uint64)[0]) % 2**63


def _port(model: Model, name: str, direction: str, where: str) -> Port:
    for port in model.ports:
        if port.name == name:
            if port.direction != direction:
                raise StationError(where, f"{model.id}.{name} is an {port.direction}put, not an {direction}put")
            return port
    names = ", ".join(p.name for p in model.ports if p.direction == direction) or "none"
    raise StationError(where, f"{model.kind} {model.id} has no {direction}put port {name!r} ({direction}puts: {names})")


class Station:
    """The instances of a scenario, built and connected; ``levels`` is the exchange order."""

    def __init__(self, scenario):
        clock, seed = scenario.clock, scenario.scenario.seed
        self.models: dict[str, Model] = {}
        counts: dict[str, int] = {}
        for id, instance in scenario.modules.items():
            cls = get(instance.kind)
            counts[instance.kind] = counts.get(instance.kind, 0) + 1
            if cls.max_instances is not None and counts[instance.kind] > cls.max_instances:
                raise StationError(f"modules.{id}", f"a station has at most {cls.max_instances} {instance.kind} instance(s)")
            try:
                self.models[id] = cls(id, instance.params, clock, instance_seed(seed, id))
            except ValueError as exc:
                raise StationError(f"modules.{id}", str(exc)) from None
        for id, model in self.models.items():
            try:
                model.place(scenario)
            except ValueError as exc:
                field, sep, reason = str(exc).partition(": ")
                raise StationError(f"modules.{id}.{field}" if sep and field.isidentifier() else f"modules.{id}", reason if sep and field.isidentifier() else str(exc)) from None
        self._wire(tuple(Connection.parse(*c) if isinstance(c, tuple) else c for c in scenario.connections))

    @classmethod
    def of(cls, models, connections: tuple[Connection, ...] = ()) -> "Station":
        """The station of instances built by hand (tests, tools), connected by the same rules."""
        station = cls.__new__(cls)
        station.models = {model.id: model for model in models}
        station._wire(connections)
        return station

    def _wire(self, connections: tuple[Connection, ...]) -> None:
        self.routes = self._routes(connections)
        for id, model in self.models.items():
            model.connect(tuple(r for r in self.routes if r.target == id), tuple(r for r in self.routes if r.source == id))
        self._check_required()
        self.levels = self._levels()

    @property
    def ids(self) -> list[str]:
        return list(self.models)

    def of_kind(self, kind: str) -> list[str]:
        return [id for id, m in self.models.items() if m.kind == kind]

    def _declared(self) -> list[tuple[Connection, str]]:
        """What instances' parameters connect (a rover's home), with the field that says so."""
        found = []
        for id, model in self.models.items():
            for port, target, target_port, param in model.declared_connections():
                where = f"modules.{id}.{param}"
                if target not in self.models:
                    raise StationError(where, f"{target!r} is not an instance of this station ({', '.join(self.models)})")
                found.append((Connection(id, port, target, target_port), where))
        return found

    def _routes(self, explicit: tuple[Connection, ...]) -> tuple[Route, ...]:
        pairs: list[tuple[str, Port, str, Port]] = []
        seen = set()
        given = [(c, f"connections[{i}]") for i, c in enumerate(explicit)]
        wired_by_scenario = {(c.source, c.source_port) for c in explicit}
        given += [(c, where) for c, where in self._declared() if (c.source, c.source_port) not in wired_by_scenario]
        explicit = tuple(c for c, _ in given)
        for c, where in given:
            for id in (c.source, c.target):
                if id not in self.models:
                    raise StationError(where, f"{id!r} is not an instance of this station ({', '.join(self.models)})")
            p = _port(self.models[c.source], c.source_port, "out", where)
            q = _port(self.models[c.target], c.target_port, "in", where)
            if p.feedback or q.feedback:
                raise StationError(where, f"{c}: replies are routed with the connection they answer; connect the request instead")
            if p.quantity != q.quantity:
                raise StationError(where, f"{c}: {p.quantity} cannot feed {q.quantity}")
            if c.source == c.target:
                raise StationError(where, f"{c}: an instance cannot feed itself")
            if c in seen:
                raise StationError(where, f"{c} is given twice")
            seen.add(c)
            pairs.append((c.source, p, c.target, q))
        wired = {(c.source, c.source_port) for c in explicit}
        for a, model in self.models.items():
            for p in model.ports:
                if p.direction != "out" or p.feedback or not p.auto or (a, p.name) in wired:
                    continue
                targets = [(b, q) for b, other in self.models.items() if b != a
                           for q in other.ports if q.direction == "in" and not q.feedback and q.quantity == p.quantity]
                if len(targets) > 1:
                    options = ", ".join(f"{b}.{q.name}" for b, q in targets)
                    raise StationError("connections", f"{a}.{p.name} ({p.quantity}) could go to {options}: say which with [[connections]] from = \"{a}.{p.name}\", to = ...")
                pairs.extend((a, p, b, q) for b, q in targets)

        routes: list[Route] = []
        for a, p, b, q in pairs:
            attrs = tuple(sorted({"kind": self.models[a].kind, **self.models[a].port_attributes(p.name)}.items()))
            routes.append(Route(a, p.name, b, q.name, f"{p.name}/{b}" if p.addressed else p.name, attributes=attrs))
            if p.reply and not q.reply:
                raise StationError("connections", f"{a}.{p.name} expects an answer on {p.reply}, but {b}.{q.name} gives none")
            if p.reply and q.reply:
                answer = _port(self.models[b], q.reply, "out", f"modules.{b}")
                expects = _port(self.models[a], p.reply, "in", f"modules.{a}")
                if not (answer.feedback and expects.feedback and answer.addressed):
                    raise StationError(f"modules.{b}", f"the reply {b}.{q.reply} -> {a}.{p.reply} must be an addressed feedback output and a feedback input")
                routes.append(Route(b, q.reply, a, p.reply, f"{q.reply}/{a}", feedback=True, assume=expects.assume))
        return tuple(routes)

    def _check_required(self) -> None:
        for id, model in self.models.items():
            for p in model.ports:
                if not p.required:
                    continue
                if p.direction == "in" and not any(r.target == id and r.target_port == p.name for r in self.routes):
                    raise StationError(f"modules.{id}", f"its input {p.name} ({p.quantity}) is not connected: add an instance that produces {p.quantity}")
                if p.direction == "out" and not any(r.source == id and r.source_port == p.name for r in self.routes):
                    raise StationError(f"modules.{id}", f"nothing takes its {p.name} ({p.quantity}): add an instance that consumes {p.quantity} (for power, an energy system)")

    def _levels(self) -> list[list[str]]:
        forward = [(r.source, r.target) for r in self.routes if not r.feedback]
        ids = list(self.models)
        preds = {id: {a for a, b in forward if b == id} for id in ids}
        level: dict[str, int] = {}
        remaining = list(ids)
        while remaining:
            ready = [id for id in remaining if preds[id] <= set(level)]
            if not ready:
                raise StationError("connections", f"the forward connections form a cycle with no feedback port: {self._cycle(remaining, preds)}")
            for id in ready:
                level[id] = 1 + max((level[a] for a in preds[id]), default=-1)
            remaining = [id for id in remaining if id not in level]
        depth = max(level.values(), default=-1) + 1
        return [[id for id in ids if level[id] == d] for d in range(depth)]

    @staticmethod
    def _cycle(remaining: list[str], preds: dict[str, set[str]]) -> str:
        # Walk predecessors inside the unresolved set until a node repeats.
        path, node = [], remaining[0]
        while node not in path:
            path.append(node)
            node = sorted(preds[node] & set(remaining))[0]
        loop = path[path.index(node):] + [node]
        return " -> ".join(reversed(loop))
