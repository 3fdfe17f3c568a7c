"""The contract every subsystem model keeps, and the host that drives one through windows.

A model is pure: ``advance(state, window, env, inputs, rng)`` returns new outputs, telemetry and
end state without touching ``state``. It must be *causal* and deterministic: outputs and
telemetry of the first k steps depend only on the first k steps of env and inputs, and an
output at step t never depends on a feedback input (an assumed answer, see :mod:`twin.ports`) of
step t itself. A window cut at step k can then be recomputed from the window's start state and
gives exactly the prefix of the longer run. The same host runs in-process (``local`` runtime)
and behind a gRPC server inside a Ray actor (``ray`` runtime).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import numpy as np

from twin import snapshot as codec
from twin.clock import Clock
from twin.commands import CLEAR_FAULT, FAULT, Command, apply_fault
from twin.loads import LoadClass
from twin.ports import Port, Route


@dataclass(frozen=True)
class Window:
    start_step: int
    steps: int
    clock: Clock

    def times(self) -> np.ndarray:
        # Every instance of a round reads the same window: its instants are made once, read-only,
        # and never pickled (a receiver computes them).
        times = self.__dict__.get("_times")
        if times is None:
            times = self.clock.times(self.start_step, self.steps)
            times.setflags(write=False)
            object.__setattr__(self, "_times", times)
        return times

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_times"}

    def prefix(self, steps: int) -> "Window":
        return Window(self.start_step, steps, self.clock)


@dataclass(frozen=True)
class Advance:
    outputs: dict[str, np.ndarray]
    telemetry: dict[str, np.ndarray]
    state: Any


COLUMN_KINDS = ("rate", "level", "cumulative", "amount", "state")


@dataclass(frozen=True)
class Column:
    """What a telemetry column holds. ``kind``: ``rate`` (a power or data rate over the step: mean
    it), ``level`` (a stock at the end of the step), ``cumulative`` (a running total), ``amount``
    (a quantity in this step: sum it) or ``state`` (a discrete state or count)."""

    unit: str
    kind: str
    description: str

    def __post_init__(self):
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"column kind {self.kind!r} is not one of {', '.join(COLUMN_KINDS)}")


@dataclass(frozen=True)
class Snapshot:
    """One instance's committed state at a window boundary, as versioned bytes."""

    id: str
    kind: str
    schema_version: int
    step: int
    payload: bytes
    rng_state: bytes


class TelemetryBehind(RuntimeError):
    """Restoring to a step the instance's published telemetry does not reach."""

    def __init__(self, id: str, step: int, durable: int):
        self.id, self.step, self.durable = id, step, durable
        super().__init__(f"{id}: telemetry is complete only up to step {durable}, not {step}")


class Model:
    """Base for subsystem models. A kind declares what it offers (as mosaik's META):

    ``kind``: its registered name; ``Params``: its pydantic parameters; ``ports``: what it
    produces and consumes (:class:`twin.ports.Port`); ``environment``: the environment columns it
    reads (sampled where the model runs); ``max_instances``: a limit per station, if any;
    ``state_types``: the dataclasses its state is made of (for snapshots), ``schema_version``
    their version; ``telemetry_columns``: each telemetry column's :class:`Column`; ``state_message``: ``"module:Message"`` of its protobuf state message, whose
    fields are filled from the variables of the same name.

    Commands (:mod:`twin.commands`): ``commands`` maps each verb to what it does, and
    ``command_message`` names the kind's protobuf command message (a oneof with one field per
    verb, the verb's dashes as underscores); ``fault_components`` maps each component that can
    fault to (what a fault of it does, the modes it allows: ``fail``, ``degrade``), for a kind whose
    state has a ``faults`` field (:class:`twin.commands.Faults`). ``command`` applies one.
    """

    kind: ClassVar[str]
    Params: ClassVar[type]
    summary: ClassVar[str] = ""
    ports: ClassVar[tuple[Port, ...]] = ()
    environment: tuple[str, ...] = ()
    max_instances: ClassVar[int | None] = None
    state_types: ClassVar[tuple[type, ...]] = ()
    schema_version: ClassVar[int] = 1
    state_message: ClassVar[str | None] = None
    telemetry_columns: ClassVar[dict[str, Column]] = {}
    commands: ClassVar[dict[str, str]] = {}
    command_message: ClassVar[str | None] = None
    fault_components: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {}

    def __init__(self, id: str, params: Any, clock: Clock, seed: int):
        self.id = id
        self.params = params
        self.clock = clock
        self.seed = seed
        self.routes_in: tuple[Route, ...] = ()
        self.routes_out: tuple[Route, ...] = ()

    @classmethod
    def port(cls, name: str) -> Port:
        for port in cls.ports:
            if port.name == name:
                return port
        raise KeyError(f"{cls.kind} has no port {name!r}")

    @property
    def load_class(self) -> LoadClass | None:
        """The class its power request is switched in, if it has a power port."""
        return None

    @property
    def horizon_height_m(self) -> float:
        """Height above the ground from which this instance sees the sky (its horizon is computed
        there when the site has an elevation model); by default the ground."""
        return 0.0

    def port_attributes(self, port: str) -> dict[str, str]:
        """What this instance declares about an output (travels with its routes)."""
        if port == "power" and self.load_class is not None:
            return {"load_class": self.load_class.key}
        if port == "heat" and hasattr(self.params, "deployed_unix_s"):
            return {"deployed_unix_s": str(self.params.deployed_unix_s)}  # an enclosure exists from its landing
        return {}

    def place(self, scenario) -> None:
        """Called once the station is built from a scenario: a kind that needs the site (a robot
        cutting its ground from the site's elevation model) or a scenario-wide table reads it
        here. A ValueError names the instance's field at fault. By default nothing."""

    def declared_connections(self) -> tuple[tuple[str, str, str, str], ...]:
        """Connections this instance's parameters ask for, as (its output port, target id,
        target input port, the parameter that asks): treated as ``[[connections]]`` entries (a
        rover's ``home`` names where its regolith goes). By default none."""
        return ()

    def connect(self, routes_in: tuple[Route, ...], routes_out: tuple[Route, ...]) -> None:
        self.routes_in, self.routes_out = tuple(routes_in), tuple(routes_out)

    def columns(self) -> dict[str, Column]:
        """Every telemetry column this instance writes, with its unit, kind and description."""
        return dict(self.telemetry_columns)

    def inputs_of(self, port: str) -> list[Route]:
        """Routes into ``port``, in source-id order (the order sums are taken in)."""
        return sorted((r for r in self.routes_in if r.target_port == port), key=lambda r: r.source)

    def powered(self, inputs: Mapping[str, np.ndarray], steps: int) -> np.ndarray:
        """Whether it runs at each step (bool): its load class switched on (the energy system's
        reply) and the module operable (the thermal instance's reply, if any)."""
        routes = self.inputs_of("powered")
        on = np.ones(steps, dtype=bool) if not routes else np.asarray(inputs[routes[0].in_key]).astype(bool)
        return on & self.operable(inputs, steps)

    def operable(self, inputs: Mapping[str, np.ndarray], steps: int) -> np.ndarray:
        """False at steps where the module has failed (a failed module asks for no power)."""
        ok = np.ones(steps, dtype=bool)
        for route in self.inputs_of("operable"):
            ok &= np.asarray(inputs[route.in_key]).astype(bool)
        return ok

    @staticmethod
    def power_and_heat(request: np.ndarray, on: np.ndarray) -> dict[str, np.ndarray]:
        """A powered module's outputs: its request (already 0 where it is not operable) and the
        heat it dissipates, which is what it draws."""
        return {"power": request, "heat": np.where(on, request, 0.0)}

    def check_inputs(self, inputs: Mapping[str, np.ndarray]) -> None:
        """Raise ValueError unless ``inputs`` are exactly this instance's routes in."""
        expected = {r.in_key for r in self.routes_in}
        unknown = sorted(set(inputs) - expected)
        if unknown:
            raise ValueError(f"inputs: {', '.join(map(repr, unknown))} is not an input of {self.id} (its inputs: {', '.join(sorted(expected)) or 'none'})")
        missing = sorted(expected - set(inputs))
        if missing:
            raise ValueError(f"inputs: {self.id} needs {', '.join(missing)}")

    def initial_state(self) -> Any:
        raise NotImplementedError

    def advance(self, state: Any, window: Window, env: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray], rng: np.random.Generator) -> Advance:
        """``inputs``: one series per route in, keyed ``<port>/<source id>``; feedback inputs
        hold the answers assumed for the window. ``rng``: this instance's random stream, restored
        from its committed state (draws must follow the steps, so a prefix recomputes the same)."""
        raise NotImplementedError

    def command(self, state: Any, command: Command) -> Any:
        """The state after ``command`` (pure; ``state`` is not touched). ValueError names the
        argument at fault; :class:`twin.commands.CommandRefused` says why the current state forbids
        it. A kind with verbs of its own handles them and passes the rest here."""
        if command.name in (FAULT, CLEAR_FAULT) and self.fault_components:
            return apply_fault(self, state, command)
        verbs = [*self.commands, *((FAULT, CLEAR_FAULT) if self.fault_components else ())]
        raise ValueError(f"command: {self.kind} has no command {command.name!r} (its commands: {', '.join(verbs) or 'none'})")

    def variables(self, state: Any) -> dict[str, float]:
        """Every scalar state variable by name (for summaries, GetState and engineers' tools)."""
        raise NotImplementedError

    def fill_state_message(self, message, state: Any, variables: Mapping[str, float]) -> None:
        """Fill the kind's protobuf state message; by default, scalar fields from same-named variables."""
        for field in message.DESCRIPTOR.fields:
            if field.name in variables and field.type == field.TYPE_DOUBLE and not field.is_repeated:
                setattr(message, field.name, variables[field.name])


def _take(arrays: Mapping[str, np.ndarray], steps: int) -> dict[str, np.ndarray]:
    return {key: value[:steps] for key, value in arrays.items()}


class ModelHost:
    """Holds a model's committed state and drives it window by window.

    ``propose`` advances tentatively from the committed state; ``commit(k)`` makes the first k
    steps of that proposal the new committed state (recomputing the prefix when k is short) and
    hands their telemetry to ``sink`` (a :class:`twin.telemetry.TelemetrySink`), which lives
    wherever the host runs, so telemetry never crosses the wire. The environment columns the
    model reads are sampled here, from ``environment``, so they never cross the wire either.
    """

    def __init__(self, model: Model, sink=None, environment=None):
        self.model = model
        self.sink = sink
        self.environment = environment
        self.state = model.initial_state()
        self.rng_state = np.random.default_rng(model.seed).bit_generator.state
        self.step = 0
        self._pending: tuple[Window, dict, dict, Advance, dict] | None = None

    def _rng(self) -> np.random.Generator:
        bit = np.random.PCG64()
        bit.state = self.rng_state
        return np.random.Generator(bit)

    def _env(self, window: Window) -> dict[str, np.ndarray]:
        if not self.model.environment:
            return {}
        return self.environment.sample(window.start_step, window.times(), self.model.environment)

    def _advance(self, window: Window, env, inputs) -> tuple[Advance, dict]:
        rng = self._rng()
        result = self.model.advance(self.state, window, env, inputs, rng)
        return result, rng.bit_generator.state

    def propose(self, window: Window, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if window.start_step != self.step:
            raise ValueError(f"{self.model.id}: window starts at step {window.start_step} but the model is at step {self.step}")
        env = self._env(window)
        result, rng_after = self._advance(window, env, dict(inputs))
        self._pending = (window, env, dict(inputs), result, rng_after)
        return result.outputs

    def commit(self, steps: int) -> dict[str, np.ndarray]:
        if self._pending is None:
            raise ValueError(f"{self.model.id}: commit without a proposal")
        window, env, inputs, result, rng_after = self._pending
        if not 0 <= steps <= window.steps:
            raise ValueError(f"{self.model.id}: cannot commit {steps} of {window.steps} proposed steps")
        if steps < window.steps:
            result, rng_after = self._advance(window.prefix(steps), _take(env, steps), _take(inputs, steps))
        self._pending = None
        if self.sink is not None:
            self.sink.append(self.step, result.telemetry)
        self.state = result.state
        self.rng_state = rng_after
        self.step += steps
        return result.telemetry

    def exchange(self, commit_steps: int, window: Window | None, inputs=None, snapshot: bool = False) -> tuple[dict[str, np.ndarray], Snapshot | None]:
        """Commit ``commit_steps`` of the pending proposal, optionally snapshot the committed state
        (closing the telemetry part there, for checkpoints), then propose ``window`` (if given).

        One call per window: the runtimes' unit of exchange.
        """
        if window is not None:
            self.model.check_inputs(inputs)  # before committing: a refused call changes nothing
        if commit_steps:
            self.commit(commit_steps)
        taken = None
        if snapshot:
            if self.sink is not None:
                self.sink.rotate()
            taken = self.snapshot()
        outputs = self.propose(window, inputs) if window is not None else {}
        return outputs, taken

    def command(self, command: Command) -> dict[str, float]:
        """Apply ``command`` to the committed state at its step (a window boundary: no proposal
        pending); a refusal changes nothing. Returns the variables after it."""
        if self._pending is not None:
            raise RuntimeError(f"{self.model.id}: a command arrived while a window is pending (commands go between windows)")
        if command.step != self.step:
            raise ValueError(f"step: the command is for step {command.step} but {self.model.id} is at step {self.step}")
        self.state = self.model.command(self.state, command)
        return self.variables()

    def snapshot(self) -> Snapshot:
        """The committed state (a pending proposal is not part of it)."""
        m = self.model
        return Snapshot(m.id, m.kind, m.schema_version, self.step, codec.dumps(self.state), codec.dumps(self.rng_state))

    def restore(self, snap: Snapshot) -> None:
        """Continue from ``snap``: state, step and random stream; telemetry after it is dropped."""
        m = self.model
        if (snap.id, snap.kind) != (m.id, m.kind):
            raise ValueError(f"snapshot: it is of {snap.id} ({snap.kind}), not {m.id} ({m.kind})")
        if snap.schema_version != m.schema_version:
            raise ValueError(f"snapshot: {m.kind} state schema {snap.schema_version} cannot be restored by schema {m.schema_version}")
        if not 0 <= snap.step <= m.clock.n_steps:
            raise ValueError(f"snapshot: step {snap.step} is outside the run (0 to {m.clock.n_steps})")
        state = codec.loads(snap.payload, m.state_types)
        rng_state = codec.loads(snap.rng_state, ())
        if not isinstance(rng_state, dict) or rng_state.get("bit_generator") != "PCG64":
            raise ValueError("snapshot: rng_state is not a PCG64 state")
        if self.sink is not None:
            self.sink.rewind(snap.step)  # raises TelemetryBehind before anything changes
        self.state, self.rng_state, self.step, self._pending = state, rng_state, snap.step, None

    def finish(self, discard: bool = False) -> list[str]:
        """Publish (or, after a failure, delete the unpublished part of) the telemetry."""
        if self.sink is None:
            return []
        if discard:
            self.sink.discard()
            return []
        return [str(path) for path in self.sink.close()]

    def variables(self) -> dict[str, float]:
        return self.model.variables(self.state)
