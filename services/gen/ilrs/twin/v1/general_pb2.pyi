from services.gen.ilrs.twin.v1 import coupling_pb2 as _coupling_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GeneralState(_message.Message):
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
