"""Typed ports: what each kind produces and consumes, and how the station graph connects them.

A port carries one series per micro step of a window. ``quantity`` says what flows: ``power``,
``data``, ``mass:<material>`` or ``signal:<name>``; default connections join every output to
every input of the same quantity on other instances (see :mod:`twin.station`).

Replies are feedback. An input port with ``reply="X"`` answers each instance connected to it on
its own output port ``X`` (one series per source, addressed ``X/<source id>``); an output port
with ``reply="Y"`` takes that answer on its input port ``Y``. Because the producer of the request
runs first, it must *assume* the answer for the window (``assume``); the conductor accepts the
window up to the first step where any answer differs from what was assumed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

_QUANTITY = re.compile(r"^(power|data|(mass|signal):[a-z][a-z0-9_]*)$")


@dataclass(frozen=True)
class Port:
    name: str
    quantity: str
    unit: str
    direction: Literal["in", "out"]
    description: str = ""
    # Feedback: an answer the consumer must assume for the window (replies only).
    feedback: bool = False
    assume: float = 0.0
    # The answering port (see the module docstring).
    reply: str | None = None
    # Outputs: one series per connected consumer, named "<port>/<consumer id>".
    addressed: bool = False
    # Inputs: the station is invalid unless something connects to it; outputs: unless something takes it.
    required: bool = False
    # Outputs: connected by quantity when neither the scenario nor a parameter says where (False:
    # only where a parameter or the scenario connects it, as for a chain between peers).
    auto: bool = True

    def __post_init__(self):
        if not _QUANTITY.match(self.quantity):
            raise ValueError(f"port {self.name}: quantity {self.quantity!r} is not power, data, mass:<material> or signal:<name>")
        if self.direction not in ("in", "out"):
            raise ValueError(f"port {self.name}: direction must be 'in' or 'out'")


@dataclass(frozen=True)
class Route:
    """One series the conductor moves per window: ``source``'s output ``out_key`` becomes
    ``target``'s input ``in_key`` (``<target port>/<source id>``)."""

    source: str
    source_port: str
    target: str
    target_port: str
    out_key: str
    feedback: bool = False
    assume: float = 0.0
    # What the source declares about this output (e.g. the load class a power request is switched in).
    attributes: tuple[tuple[str, str], ...] = field(default=())

    @property
    def in_key(self) -> str:
        return f"{self.target_port}/{self.source}"

    def attribute(self, name: str) -> str | None:
        return dict(self.attributes).get(name)


# Ports most kinds share: drawing power from the energy system and sending data home.
POWER = Port("power", "power", "W", "out", "power the instance would draw this step if its load class is on (decided before the step's switch)", reply="powered", required=True)
POWERED = Port("powered", "signal:powered", "1", "in", "1 while the instance's load class is switched on, 0 while it is shed", feedback=True, assume=1.0)
DATA = Port("data", "data", "bytes per step", "out", "data produced this step, for the communications store")
# A powered module is a thermal enclosure: the power it draws becomes heat, for a thermal
# instance (if the station has one), which answers whether the module is operable (a module that
# froze below its survival temperature is offline until it is repaired).
HEAT = Port("heat", "signal:heat", "W", "out", "power drawn this step, dissipated as heat in the module", reply="operable")
OPERABLE = Port("operable", "signal:operable", "1", "in", "1 while the module is operable, 0 while it has failed from the cold", feedback=True, assume=1.0)
