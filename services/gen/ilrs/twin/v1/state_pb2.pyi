import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from services.gen.ilrs.twin.v1 import coupling_pb2 as _coupling_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EnergyState(_message.Message):
    __slots__ = ("storage_kwh", "storage_soc_frac", "min_storage_soc_frac", "switches", "generated_kwh", "delivered_kwh", "unserved_kwh", "curtailed_kwh", "losses_kwh")
    STORAGE_KWH_FIELD_NUMBER: _ClassVar[int]
    STORAGE_SOC_FRAC_FIELD_NUMBER: _ClassVar[int]
    MIN_STORAGE_SOC_FRAC_FIELD_NUMBER: _ClassVar[int]
    SWITCHES_FIELD_NUMBER: _ClassVar[int]
    GENERATED_KWH_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_KWH_FIELD_NUMBER: _ClassVar[int]
    UNSERVED_KWH_FIELD_NUMBER: _ClassVar[int]
    CURTAILED_KWH_FIELD_NUMBER: _ClassVar[int]
    LOSSES_KWH_FIELD_NUMBER: _ClassVar[int]
    storage_kwh: float
    storage_soc_frac: float
    min_storage_soc_frac: float
    switches: _containers.RepeatedCompositeFieldContainer[_coupling_pb2.ClassSwitch]
    generated_kwh: float
    delivered_kwh: float
    unserved_kwh: float
    curtailed_kwh: float
    losses_kwh: float
    def __init__(self, storage_kwh: _Optional[float] = ..., storage_soc_frac: _Optional[float] = ..., min_storage_soc_frac: _Optional[float] = ..., switches: _Optional[_Iterable[_Union[_coupling_pb2.ClassSwitch, _Mapping]]] = ..., generated_kwh: _Optional[float] = ..., delivered_kwh: _Optional[float] = ..., unserved_kwh: _Optional[float] = ..., curtailed_kwh: _Optional[float] = ..., losses_kwh: _Optional[float] = ...) -> None: ...

class ScheduledLoadState(_message.Message):
    __slots__ = ("load_class", "energy_kwh", "powered_hours", "shed_hours", "data_produced_bytes")
    LOAD_CLASS_FIELD_NUMBER: _ClassVar[int]
    ENERGY_KWH_FIELD_NUMBER: _ClassVar[int]
    POWERED_HOURS_FIELD_NUMBER: _ClassVar[int]
    SHED_HOURS_FIELD_NUMBER: _ClassVar[int]
    DATA_PRODUCED_BYTES_FIELD_NUMBER: _ClassVar[int]
    load_class: _coupling_pb2.LoadClass
    energy_kwh: float
    powered_hours: float
    shed_hours: float
    data_produced_bytes: float
    def __init__(self, load_class: _Optional[_Union[_coupling_pb2.LoadClass, str]] = ..., energy_kwh: _Optional[float] = ..., powered_hours: _Optional[float] = ..., shed_hours: _Optional[float] = ..., data_produced_bytes: _Optional[float] = ...) -> None: ...

class CommunicationsState(_message.Message):
    __slots__ = ("received_bytes", "downlinked_bytes", "lost_bytes", "stored_bytes", "dte_hours", "relay_hours")
    RECEIVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    DOWNLINKED_BYTES_FIELD_NUMBER: _ClassVar[int]
    LOST_BYTES_FIELD_NUMBER: _ClassVar[int]
    STORED_BYTES_FIELD_NUMBER: _ClassVar[int]
    DTE_HOURS_FIELD_NUMBER: _ClassVar[int]
    RELAY_HOURS_FIELD_NUMBER: _ClassVar[int]
    received_bytes: float
    downlinked_bytes: float
    lost_bytes: float
    stored_bytes: float
    dte_hours: float
    relay_hours: float
    def __init__(self, received_bytes: _Optional[float] = ..., downlinked_bytes: _Optional[float] = ..., lost_bytes: _Optional[float] = ..., stored_bytes: _Optional[float] = ..., dte_hours: _Optional[float] = ..., relay_hours: _Optional[float] = ...) -> None: ...

class ResearchState(_message.Message):
    __slots__ = ("completed_experiments_count", "queued_experiments_count", "experiment_hours", "data_produced_bytes", "energy_kwh", "powered_hours", "shed_hours")
    COMPLETED_EXPERIMENTS_COUNT_FIELD_NUMBER: _ClassVar[int]
    QUEUED_EXPERIMENTS_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_HOURS_FIELD_NUMBER: _ClassVar[int]
    DATA_PRODUCED_BYTES_FIELD_NUMBER: _ClassVar[int]
    ENERGY_KWH_FIELD_NUMBER: _ClassVar[int]
    POWERED_HOURS_FIELD_NUMBER: _ClassVar[int]
    SHED_HOURS_FIELD_NUMBER: _ClassVar[int]
    completed_experiments_count: float
    queued_experiments_count: float
    experiment_hours: float
    data_produced_bytes: float
    energy_kwh: float
    powered_hours: float
    shed_hours: float
    def __init__(self, completed_experiments_count: _Optional[float] = ..., queued_experiments_count: _Optional[float] = ..., experiment_hours: _Optional[float] = ..., data_produced_bytes: _Optional[float] = ..., energy_kwh: _Optional[float] = ..., powered_hours: _Optional[float] = ..., shed_hours: _Optional[float] = ...) -> None: ...

class IsruState(_message.Message):
    __slots__ = ("regolith_stock_kg", "regolith_delivered_kg", "regolith_refused_kg", "regolith_processed_kg", "tailings_kg", "o2_produced_kg", "o2_tank_kg", "o2_offtaken_kg", "energy_kwh", "producing_hours", "shed_hours")
    REGOLITH_STOCK_KG_FIELD_NUMBER: _ClassVar[int]
    REGOLITH_DELIVERED_KG_FIELD_NUMBER: _ClassVar[int]
    REGOLITH_REFUSED_KG_FIELD_NUMBER: _ClassVar[int]
    REGOLITH_PROCESSED_KG_FIELD_NUMBER: _ClassVar[int]
    TAILINGS_KG_FIELD_NUMBER: _ClassVar[int]
    O2_PRODUCED_KG_FIELD_NUMBER: _ClassVar[int]
    O2_TANK_KG_FIELD_NUMBER: _ClassVar[int]
    O2_OFFTAKEN_KG_FIELD_NUMBER: _ClassVar[int]
    ENERGY_KWH_FIELD_NUMBER: _ClassVar[int]
    PRODUCING_HOURS_FIELD_NUMBER: _ClassVar[int]
    SHED_HOURS_FIELD_NUMBER: _ClassVar[int]
    regolith_stock_kg: float
    regolith_delivered_kg: float
    regolith_refused_kg: float
    regolith_processed_kg: float
    tailings_kg: float
    o2_produced_kg: float
    o2_tank_kg: float
    o2_offtaken_kg: float
    energy_kwh: float
    producing_hours: float
    shed_hours: float
    def __init__(self, regolith_stock_kg: _Optional[float] = ..., regolith_delivered_kg: _Optional[float] = ..., regolith_refused_kg: _Optional[float] = ..., regolith_processed_kg: _Optional[float] = ..., tailings_kg: _Optional[float] = ..., o2_produced_kg: _Optional[float] = ..., o2_tank_kg: _Optional[float] = ..., o2_offtaken_kg: _Optional[float] = ..., energy_kwh: _Optional[float] = ..., producing_hours: _Optional[float] = ..., shed_hours: _Optional[float] = ...) -> None: ...

class AstronomyState(_message.Message):
    __slots__ = ("observing_hours", "nominal_hours", "degraded_hours", "data_produced_bytes", "energy_kwh", "shed_hours")
    OBSERVING_HOURS_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_HOURS_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_HOURS_FIELD_NUMBER: _ClassVar[int]
    DATA_PRODUCED_BYTES_FIELD_NUMBER: _ClassVar[int]
    ENERGY_KWH_FIELD_NUMBER: _ClassVar[int]
    SHED_HOURS_FIELD_NUMBER: _ClassVar[int]
    observing_hours: float
    nominal_hours: float
    degraded_hours: float
    data_produced_bytes: float
    energy_kwh: float
    shed_hours: float
    def __init__(self, observing_hours: _Optional[float] = ..., nominal_hours: _Optional[float] = ..., degraded_hours: _Optional[float] = ..., data_produced_bytes: _Optional[float] = ..., energy_kwh: _Optional[float] = ..., shed_hours: _Optional[float] = ...) -> None: ...

class SubsystemState(_message.Message):
    __slots__ = ("subsystem", "step", "time", "variables", "energy", "scheduled_load", "communications", "research", "isru", "astronomy")
    class VariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SUBSYSTEM_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_LOAD_FIELD_NUMBER: _ClassVar[int]
    COMMUNICATIONS_FIELD_NUMBER: _ClassVar[int]
    RESEARCH_FIELD_NUMBER: _ClassVar[int]
    ISRU_FIELD_NUMBER: _ClassVar[int]
    ASTRONOMY_FIELD_NUMBER: _ClassVar[int]
    subsystem: str
    step: int
    time: _timestamp_pb2.Timestamp
    variables: _containers.ScalarMap[str, float]
    energy: EnergyState
    scheduled_load: ScheduledLoadState
    communications: CommunicationsState
    research: ResearchState
    isru: IsruState
    astronomy: AstronomyState
    def __init__(self, subsystem: _Optional[str] = ..., step: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., variables: _Optional[_Mapping[str, float]] = ..., energy: _Optional[_Union[EnergyState, _Mapping]] = ..., scheduled_load: _Optional[_Union[ScheduledLoadState, _Mapping]] = ..., communications: _Optional[_Union[CommunicationsState, _Mapping]] = ..., research: _Optional[_Union[ResearchState, _Mapping]] = ..., isru: _Optional[_Union[IsruState, _Mapping]] = ..., astronomy: _Optional[_Union[AstronomyState, _Mapping]] = ...) -> None: ...
