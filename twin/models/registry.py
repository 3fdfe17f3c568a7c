"""Which modules a scenario may contain, their parameters, and how each is built."""
from __future__ import annotations

import zlib

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from twin.clock import Clock
from twin.models.astronomy import AstronomyModel, AstronomyParams
from twin.models.base import Model
from twin.models.communications import CommunicationsModel, CommunicationsParams
from twin.models.energy import EnergyModel, EnergyParams
from twin.models.isru import IsruModel, IsruParams
from twin.models.research import ResearchModel, ResearchParams
from twin.models.scheduled_load import ScheduledLoadModel, ScheduledLoadParams

MODEL_CLASSES: dict[str, type[Model]] = {
    "energy": EnergyModel,
    "communications": CommunicationsModel,
    "research": ResearchModel,
    "isru": IsruModel,
    "general": ScheduledLoadModel,
    "astronomy": AstronomyModel,
}


class Modules(BaseModel):
    """The station's modules (the ILRS roadmap's ILRS-1 to ILRS-5), in the order they are reported."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    energy: EnergyParams  # ILRS-1, energy half
    communications: CommunicationsParams | None = None  # ILRS-1, communication half
    research: ResearchParams | None = None  # ILRS-2
    isru: IsruParams | None = None  # ILRS-3
    general: ScheduledLoadParams | None = None  # ILRS-4, general technologies
    astronomy: AstronomyParams | None = None  # ILRS-5

    @model_validator(mode="after")
    def _priorities_name_sources(self) -> "Modules":
        if self.communications is not None:
            # Robots join the store through the same coupling when the robotics issue lands.
            known = set(type(self).model_fields) - {"energy", "communications"} | {"robotics"}
            unknown = [name for name in self.communications.priority if name not in known]
            if unknown:
                raise ValueError(f"communications.priority: {', '.join(unknown)} is not a data source; sources: {', '.join(sorted(known))}")
        return self

    def present(self) -> dict[str, BaseModel]:
        return {name: getattr(self, name) for name in type(self).model_fields if getattr(self, name) is not None}


def build_model(name: str, params: BaseModel, clock: Clock, seed: int) -> Model:
    # One seed per subsystem, derived from the scenario seed and the module's name, so adding a
    # module or a random process to one never shifts another's stream.
    sequence = np.random.SeedSequence([seed, zlib.crc32(name.encode())])
    sub_seed = int(sequence.generate_state(1, np.uint64)[0]) % 2**63
    return MODEL_CLASSES[name](name, params, clock, sub_seed)
