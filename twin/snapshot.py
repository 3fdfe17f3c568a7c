"""Versioned bytes for a model's state: a safe, exact JSON encoding of frozen dataclasses.

States hold integers (ledgers), floats, strings, tuples and numpy arrays. Floats go through
``repr`` (exact round trip), integers are unbounded, arrays keep dtype and bytes. Decoding builds
only the dataclasses a kind lists in ``state_types`` (never arbitrary code, unlike pickle), so a
Restore request from the network cannot run anything.
"""
from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any, Iterable

import numpy as np


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__dataclass__": type(value).__name__, "fields": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("state dicts must have string keys")
        return {"__dict__": {k: _encode(v) for k, v in value.items()}}
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return {"__ndarray__": data.dtype.str, "shape": list(data.shape), "data": base64.b64encode(data.tobytes()).decode()}
    if isinstance(value, np.generic):
        return _encode(value.item())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot snapshot a {type(value).__name__} in a model state")


def _decode(value: Any, types: dict[str, type]) -> Any:
    if isinstance(value, list):
        return [_decode(v, types) for v in value]
    if not isinstance(value, dict):
        return value
    if "__dataclass__" in value:
        cls = types.get(value["__dataclass__"])
        if cls is None:
            raise ValueError(f"snapshot: {value['__dataclass__']!r} is not a state type of this kind")
        return cls(**{k: _decode(v, types) for k, v in value["fields"].items()})
    if "__tuple__" in value:
        return tuple(_decode(v, types) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, types) for k, v in value["__dict__"].items()}
    if "__ndarray__" in value:
        raw = base64.b64decode(value["data"])
        return np.frombuffer(raw, dtype=np.dtype(value["__ndarray__"])).reshape(value["shape"]).copy()
    raise ValueError("snapshot: unknown object in the payload")


def dumps(state: Any) -> bytes:
    return json.dumps(_encode(state), separators=(",", ":"), allow_nan=True).encode()


def loads(payload: bytes, types: Iterable[type]) -> Any:
    try:
        data = json.loads(payload.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"snapshot: the payload is not a state encoding ({exc})") from None
    try:
        return _decode(data, {t.__name__: t for t in types})
    except (TypeError, KeyError) as exc:
        raise ValueError(f"snapshot: the payload does not fit this kind's state ({exc})") from None
