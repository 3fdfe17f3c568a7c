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
    __slots__ = ("load_class", "energy_kwh", "powered_hours", "shed_hours")
    LOAD_CLASS_FIELD_NUMBER: _ClassVar[int]
    ENERGY_KWH_FIELD_NUMBER: _ClassVar[int]
    POWERED_HOURS_FIELD_NUMBER: _ClassVar[int]
    SHED_HOURS_FIELD_NUMBER: _ClassVar[int]
    load_class: _coupling_pb2.LoadClass
    energy_kwh: float
    powered_hours: float
    shed_hours: float
    def __init__(self, load_class: _Optional[_Union[_coupling_pb2.LoadClass, str]] = ..., energy_kwh: _Optional[float] = ..., powered_hours: _Optional[float] = ..., shed_hours: _Optional[float] = ...) -> None: ...

class SubsystemState(_message.Message):
    __slots__ = ("subsystem", "step", "time", "variables", "energy", "scheduled_load")
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
    subsystem: str
    step: int
    time: _timestamp_pb2.Timestamp
    variables: _containers.ScalarMap[str, float]
    energy: EnergyState
    scheduled_load: ScheduledLoadState
    def __init__(self, subsystem: _Optional[str] = ..., step: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., variables: _Optional[_Mapping[str, float]] = ..., energy: _Optional[_Union[EnergyState, _Mapping]] = ..., scheduled_load: _Optional[_Union[ScheduledLoadState, _Mapping]] = ...) -> None: ...
