from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

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
