from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

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
