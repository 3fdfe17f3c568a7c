"""Load classes of the power-management unit, read from the proto enum ``ilrs.twin.v1.LoadClass``.

The enum in ``proto/ilrs/twin/v1/coupling.proto`` is the one source: a class added there appears
here (and in every kind's parameters that name a class) without another edit.
"""
from __future__ import annotations

import enum

from services.gen.ilrs.twin.v1 import coupling_pb2

_PREFIX = "LOAD_CLASS_"

LoadClass = enum.IntEnum(
    "LoadClass",
    {value.name.removeprefix(_PREFIX): value.number for value in coupling_pb2.LoadClass.DESCRIPTOR.values if value.number},
)
LoadClass.__doc__ = "Priority classes of the power-management unit, highest priority first (ilrs.twin.v1.LoadClass)."
LoadClass.key = property(lambda self: self.name.lower())  # type: ignore[attr-defined]

LOAD_CLASSES: tuple[LoadClass, ...] = tuple(LoadClass)
N_CLASSES = len(LOAD_CLASSES)
CLASS_KEYS: tuple[str, ...] = tuple(cls.key for cls in LOAD_CLASSES)


def load_class(key: str) -> LoadClass:
    """'science' -> LoadClass.SCIENCE; a ValueError names the known classes."""
    try:
        return LoadClass[key.upper()]
    except KeyError:
        raise ValueError(f"{key!r} is not a load class ({', '.join(CLASS_KEYS)})") from None
