from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ThermalState(_message.Message):
    __slots__ = ("heater_kwh", "failures_count", "failed_hours", "shed_hours")
    HEATER_KWH_FIELD_NUMBER: _ClassVar[int]
    FAILURES_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_HOURS_FIELD_NUMBER: _ClassVar[int]
    SHED_HOURS_FIELD_NUMBER: _ClassVar[int]
    heater_kwh: float
    failures_count: float
    failed_hours: float
    shed_hours: float
    def __init__(self, heater_kwh: _Optional[float] = ..., failures_count: _Optional[float] = ..., failed_hours: _Optional[float] = ..., shed_hours: _Optional[float] = ...) -> None: ...
