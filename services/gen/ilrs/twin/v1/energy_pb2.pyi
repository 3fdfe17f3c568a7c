from services.gen.ilrs.twin.v1 import coupling_pb2 as _coupling_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EnergyState(_message.Message):
    __slots__ = ("storage_kwh", "storage_soc_frac", "min_storage_soc_frac", "switches", "generated_kwh", "delivered_kwh", "unserved_kwh", "curtailed_kwh", "losses_kwh", "lit_frac", "longest_dark_hours")
    STORAGE_KWH_FIELD_NUMBER: _ClassVar[int]
    STORAGE_SOC_FRAC_FIELD_NUMBER: _ClassVar[int]
    MIN_STORAGE_SOC_FRAC_FIELD_NUMBER: _ClassVar[int]
    SWITCHES_FIELD_NUMBER: _ClassVar[int]
    GENERATED_KWH_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_KWH_FIELD_NUMBER: _ClassVar[int]
    UNSERVED_KWH_FIELD_NUMBER: _ClassVar[int]
    CURTAILED_KWH_FIELD_NUMBER: _ClassVar[int]
    LOSSES_KWH_FIELD_NUMBER: _ClassVar[int]
    LIT_FRAC_FIELD_NUMBER: _ClassVar[int]
    LONGEST_DARK_HOURS_FIELD_NUMBER: _ClassVar[int]
    storage_kwh: float
    storage_soc_frac: float
    min_storage_soc_frac: float
    switches: _containers.RepeatedCompositeFieldContainer[_coupling_pb2.ClassSwitch]
    generated_kwh: float
    delivered_kwh: float
    unserved_kwh: float
    curtailed_kwh: float
    losses_kwh: float
    lit_frac: float
    longest_dark_hours: float
    def __init__(self, storage_kwh: _Optional[float] = ..., storage_soc_frac: _Optional[float] = ..., min_storage_soc_frac: _Optional[float] = ..., switches: _Optional[_Iterable[_Union[_coupling_pb2.ClassSwitch, _Mapping]]] = ..., generated_kwh: _Optional[float] = ..., delivered_kwh: _Optional[float] = ..., unserved_kwh: _Optional[float] = ..., curtailed_kwh: _Optional[float] = ..., losses_kwh: _Optional[float] = ..., lit_frac: _Optional[float] = ..., longest_dark_hours: _Optional[float] = ...) -> None: ...
