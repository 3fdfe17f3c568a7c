from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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

class IsruCommand(_message.Message):
    __slots__ = ("set_throttle",)
    SET_THROTTLE_FIELD_NUMBER: _ClassVar[int]
    set_throttle: SetThrottle
    def __init__(self, set_throttle: _Optional[_Union[SetThrottle, _Mapping]] = ...) -> None: ...

class SetThrottle(_message.Message):
    __slots__ = ("throttle",)
    THROTTLE_FIELD_NUMBER: _ClassVar[int]
    throttle: float
    def __init__(self, throttle: _Optional[float] = ...) -> None: ...
