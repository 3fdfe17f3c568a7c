"""Which modules a scenario may contain, their parameters, and how each is built."""
from __future__ import annotations

import zlib

import numpy as np
from pydantic import BaseModel, ConfigDict

from twin.clock import Clock
from twin.models.base import LoadClass, Model
from twin.models.energy import EnergyModel, EnergyParams
from twin.models.scheduled_load import ScheduledLoadModel, ScheduledLoadParams

# Module -> load class of the scenario-driven modules (the priority order of the issue:
# survival first, then communications, then research and astronomy, then ISRU and robots).
SCHEDULED_LOAD_CLASS = {
    "communications": LoadClass.COMMUNICATIONS,
    "research": LoadClass.SCIENCE,
    "astronomy": LoadClass.SCIENCE,
    "isru": LoadClass.ISRU,
}


class Modules(BaseModel):
    """The station's modules, in the fixed order their models are exchanged and reported."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    energy: EnergyParams
    communications: ScheduledLoadParams | None = None
    research: ScheduledLoadParams | None = None
    isru: ScheduledLoadParams | None = None
    astronomy: ScheduledLoadParams | None = None

    def present(self) -> dict[str, BaseModel]:
        return {name: getattr(self, name) for name in type(self).model_fields if getattr(self, name) is not None}


def build_model(name: str, params: BaseModel, clock: Clock, seed: int) -> Model:
    # One seed per subsystem, derived from the scenario seed and the module's name, so adding a
    # module or a random process to one never shifts another's stream.
    sequence = np.random.SeedSequence([seed, zlib.crc32(name.encode())])
    sub_seed = int(sequence.generate_state(1, np.uint64)[0]) % 2**63
    if name == "energy":
        return EnergyModel(name, params, clock, sub_seed)
    return ScheduledLoadModel(name, params, clock, sub_seed, SCHEDULED_LOAD_CLASS[name])
