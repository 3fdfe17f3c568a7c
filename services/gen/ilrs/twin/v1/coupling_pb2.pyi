import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ElementType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ELEMENT_TYPE_UNSPECIFIED: _ClassVar[ElementType]
    ELEMENT_TYPE_FLOAT64: _ClassVar[ElementType]
    ELEMENT_TYPE_INT64: _ClassVar[ElementType]
    ELEMENT_TYPE_UINT8: _ClassVar[ElementType]

class LoadClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOAD_CLASS_UNSPECIFIED: _ClassVar[LoadClass]
    LOAD_CLASS_SURVIVAL: _ClassVar[LoadClass]
    LOAD_CLASS_COMMUNICATIONS: _ClassVar[LoadClass]
    LOAD_CLASS_SCIENCE: _ClassVar[LoadClass]
    LOAD_CLASS_ISRU: _ClassVar[LoadClass]
ELEMENT_TYPE_UNSPECIFIED: ElementType
ELEMENT_TYPE_FLOAT64: ElementType
ELEMENT_TYPE_INT64: ElementType
ELEMENT_TYPE_UINT8: ElementType
LOAD_CLASS_UNSPECIFIED: LoadClass
LOAD_CLASS_SURVIVAL: LoadClass
LOAD_CLASS_COMMUNICATIONS: LoadClass
LOAD_CLASS_SCIENCE: LoadClass
LOAD_CLASS_ISRU: LoadClass

class Series(_message.Message):
    __slots__ = ("name", "element_type", "data", "run_lengths")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    RUN_LENGTHS_FIELD_NUMBER: _ClassVar[int]
    name: str
    element_type: ElementType
    data: bytes
    run_lengths: bytes
    def __init__(self, name: _Optional[str] = ..., element_type: _Optional[_Union[ElementType, str]] = ..., data: _Optional[bytes] = ..., run_lengths: _Optional[bytes] = ...) -> None: ...

class Window(_message.Message):
    __slots__ = ("start_step", "steps", "start_time", "step_s")
    START_STEP_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STEP_S_FIELD_NUMBER: _ClassVar[int]
    start_step: int
    steps: int
    start_time: _timestamp_pb2.Timestamp
    step_s: int
    def __init__(self, start_step: _Optional[int] = ..., steps: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., step_s: _Optional[int] = ...) -> None: ...

class ClassSwitch(_message.Message):
    __slots__ = ("load_class", "on")
    LOAD_CLASS_FIELD_NUMBER: _ClassVar[int]
    ON_FIELD_NUMBER: _ClassVar[int]
    load_class: LoadClass
    on: bool
    def __init__(self, load_class: _Optional[_Union[LoadClass, str]] = ..., on: _Optional[bool] = ...) -> None: ...
