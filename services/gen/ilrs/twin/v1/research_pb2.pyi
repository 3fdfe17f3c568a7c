from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

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
